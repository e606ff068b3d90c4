import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeferredEncryption, createEncryptStream, wrapFileKey } from '@/lib/age';
import { BackupWorkers } from '@/lib/backup/backup-workers';
import { readBackFile } from '@/lib/backup/read-back';

/** The workers the backup's read-back relies on: the file read once, hashed and its chunks authenticated; streamed hashing. */
let dir: string;
let pool: BackupWorkers;
let file: string;
let enc: DeferredEncryption;
const plain = crypto.randomBytes(5 * 65536 + 1234);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-pool-'));
  pool = new BackupWorkers(2);
  const fileKey = crypto.randomBytes(16);
  enc = new DeferredEncryption(fileKey, 1, 10);
  // Body: the chunks after the reserved one, sealed in one pass with the same key and nonce.
  const parts: Buffer[] = [];
  for await (const c of Readable.from([plain]).pipe(createEncryptStream(fileKey, { nonce: enc.nonce }))) parts.push(c as Buffer);
  const prefix = enc.prefix(await wrapFileKey('pool test', fileKey, { logN: 10 }), plain.subarray(0, 65536));
  file = path.join(dir, 'x.age');
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.concat(parts).subarray(16 + 65552)]));
});
afterAll(async () => {
  await pool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function variant(name: string, mutate: (b: Buffer) => Buffer): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, mutate(fs.readFileSync(file)));
  return p;
}

describe('BackupWorkers', () => {
  it('hashes a file as it is read back, and a stream as it passes, like node:crypto does', async () => {
    const want = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    expect((await readBackFile(pool, file, { offset: enc.payloadOffset, key: enc.payloadKey() })).sha256).toBe(want);
    const tap = pool.tap();
    const out: Buffer[] = [];
    await pipeline(fs.createReadStream(file, { highWaterMark: 1000 }), tap.stream, async (src: AsyncIterable<Buffer>) => {
      for await (const c of src) out.push(c);
    });
    expect(await tap.digest).toBe(want);
    expect(Buffer.concat(out).equals(fs.readFileSync(file))).toBe(true);
  });

  it('authenticates every chunk of an intact file and counts its plaintext', async () => {
    const r = await readBackFile(pool, file, { offset: enc.payloadOffset, key: enc.payloadKey() });
    expect(r).toEqual({ sha256: crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex'), plainBytes: plain.length, chunks: 6 });
  });

  const at = (i: number) => enc.payloadOffset + i * 65552;
  const cases: [string, (b: Buffer) => Buffer, RegExp][] = [
    ['a flipped bit in chunk 3', (b) => ((b[at(3) + 9]! ^= 1), b), /chunk 3 failed authentication/],
    ['a flipped bit in the last chunk', (b) => ((b[b.length - 1]! ^= 1), b), /chunk 5 failed authentication/],
    ['a file cut at a chunk boundary', (b) => b.subarray(0, at(4)), /truncated: it ends after chunk 3/],
    ['a file cut inside a chunk', (b) => b.subarray(0, at(4) - 7), /chunk 3 failed authentication/],
    ['an appended chunk', (b) => Buffer.concat([b, b.subarray(at(1), at(2))]), /failed authentication/],
    ['two chunks swapped', (b) => Buffer.concat([b.subarray(0, at(1)), b.subarray(at(2), at(3)), b.subarray(at(1), at(2)), b.subarray(at(3))]), /chunk 1 failed/],
  ];
  for (const [name, mutate, words] of cases) {
    it(`refuses ${name}`, async () => {
      await expect(readBackFile(pool, variant(name.replace(/\W+/g, '-'), mutate), { offset: enc.payloadOffset, key: enc.payloadKey() })).rejects.toThrow(words);
    });
  }

  it('fails every call at once after a worker died, instead of waiting forever', async () => {
    const doomed = new BackupWorkers(2);
    const tap = doomed.tap();
    await (doomed as unknown as { workers: { terminate(): Promise<number> }[] }).workers[0]!.terminate();
    await expect(readBackFile(doomed, file, { offset: enc.payloadOffset, key: enc.payloadKey() })).rejects.toThrow(/worker stopped/);
    await expect(tap.digest).rejects.toThrow(/worker stopped/);
    await doomed.close();
  });

  it('refuses a wrong key', async () => {
    await expect(readBackFile(pool, file, { offset: enc.payloadOffset, key: crypto.randomBytes(32) })).rejects.toThrow(/chunk 0 failed/);
  });
});

describe('BackupWorkers in a tsx command line', () => {
  const root = process.cwd();
  /** Runs a script with tsx (as `tsx bin/webconf.ts` runs) from `cwd`: its output, or its error. */
  function tsx(cwd: string) {
    const script = path.join(dir, 'cli.ts');
    fs.writeFileSync(
      script,
      `import { BackupWorkers } from ${JSON.stringify(path.join(root, 'lib/backup/backup-workers.ts'))};
const pool = new BackupWorkers(2);
const tap = pool.tap();
tap.stream.resume();
tap.stream.end(Buffer.from('hashed in a worker thread'));
tap.digest.then(async (hex) => { console.log(hex); await pool.close(); }, (err) => { console.error(err.message); process.exit(1); });
`,
    );
    return spawnSync(path.join(root, 'node_modules/.bin/tsx'), [script], { cwd, encoding: 'utf8', timeout: 60_000 });
  }

  it('starts its TypeScript workers from the project root', () => {
    const r = tsx(root);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(crypto.createHash('sha256').update('hashed in a worker thread').digest('hex'));
  });

  it('says what is wrong when started from another folder', () => {
    const r = tsx(dir);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Cannot start a worker thread: .*ts-worker-boot\.cjs is missing \(the console starts from its own folder\)/);
  });
});
