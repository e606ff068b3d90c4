import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgeError } from '@/lib/age';
import { applianceRoot } from '@/lib/backup/appliance';
import { setDms } from '@/lib/backup/dms';
import { startBackup, waitForBackup } from '@/lib/backup/engine';
import { getBackupRun } from '@/lib/backup/runs';
import { BackupVerifyError } from '@/lib/backup/verify-archive';
import { verifyBackupFile } from '@/lib/backup/verify-file';
import { saveStorageConfig } from '@/lib/storage/config';
import { LocalFolderTarget } from '@/lib/storage/local-folder';
import type { StorageTarget } from '@/lib/storage/types';

/**
 * A real backup file, damaged in every way the issue names: each must be
 * refused with a clear error by the same verification any appliance runs
 * with nothing but the DMS. The untouched file also opens with Debian's age.
 */
const DMS = 'tamper test domain master secret';
const actor = { id: 1, name: 'admin', ip: null };
const CHUNK = 65536 + 16;
let dir: string;
let original: Buffer;
let payloadStart: number;
const config: Record<string, Buffer> = {};

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-tamper-'));
  const sys = path.join(applianceRoot(), 'system');
  fs.mkdirSync(sys, { recursive: true });
  // About 5 chunks of configuration.
  config['system/a.bin'] = crypto.randomBytes(200_000);
  config['system/b.conf'] = Buffer.from('setting = 1\n');
  for (const [k, v] of Object.entries(config)) fs.writeFileSync(path.join(applianceRoot(), k), v);
  await setDms(actor, DMS);
  await saveStorageConfig(actor, { type: 'local', path: dir });
  const run = await startBackup('manual', actor);
  await waitForBackup(run.id);
  const done = getBackupRun(run.id)!;
  expect(done.status).toBe('succeeded');
  fs.renameSync(path.join(dir, done.fileName!), path.join(dir, 'good.tar.age'));
  original = fs.readFileSync(path.join(dir, 'good.tar.age'));
  // Header ends after the "--- <mac>\n" line; then a 16-byte nonce, then chunks.
  payloadStart = original.indexOf('\n---') + 1;
  payloadStart = original.indexOf('\n', payloadStart) + 1 + 16;
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The local folder, or the same without localPath: verifyBackupFile then streams, as for an NFS share. */
function target(stream: boolean): StorageTarget {
  const t = new LocalFolderTarget(dir);
  if (!stream) return t;
  const wrapped: StorageTarget = Object.create(t);
  Object.defineProperty(wrapped, 'localPath', { value: undefined });
  return wrapped;
}

/** `recordedChecksum`: as a restore passes for its own backup (the file is then not hashed): damage must be refused all the same. */
async function verifyBytes(bytes: Buffer, dms = DMS, stream = false, recordedChecksum?: string) {
  fs.writeFileSync(path.join(dir, 'probe.tar.age'), bytes);
  return verifyBackupFile(target(stream), 'probe.tar.age', dms, { recordedChecksum });
}

const RECORDED = crypto.createHash('sha256').update('a checksum the history recorded').digest('hex');

function flip(at: number): Buffer {
  const b = Buffer.from(original);
  b[at]! ^= 0x01;
  return b;
}

const chunkCount = () => Math.ceil((original.length - payloadStart) / CHUNK);
const chunkAt = (i: number) => payloadStart + i * CHUNK;

describe('a damaged backup is refused', () => {
  it('the untouched file verifies, and Debian age with the DMS yields exactly the files that went in', async () => {
    expect(chunkCount()).toBeGreaterThanOrEqual(4);
    const v = await verifyBytes(original);
    expect(v.signatureVerified).toBe(true);
    expect(v.checksum).toBe(crypto.createHash('sha256').update(original).digest('hex'));
    // With a recorded checksum the file is not hashed: that one is answered, the rest is the same.
    for (const stream of [false, true]) expect(await verifyBytes(original, DMS, stream, RECORDED)).toEqual({ ...v, checksum: RECORDED });
    const out = path.join(dir, 'out.tar');
    execFileSync('script', ['-qec', `age -d -o ${out} ${path.join(dir, 'good.tar.age')}`, '/dev/null'], { input: `${DMS}\n` });
    const x = path.join(dir, 'x');
    fs.mkdirSync(x);
    execFileSync('tar', ['-xf', out, '-C', x]);
    for (const [k, v] of Object.entries(config)) expect(fs.readFileSync(path.join(x, k)).equals(v)).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(x, 'manifest.json'), 'utf8')).members.map((m: { path: string }) => m.path)).toEqual([
      'system/a.bin',
      'system/b.conf',
      'database/webconf.db',
    ]);
  });

  it('refuses a wrong DMS', async () => {
    await expect(verifyBytes(original, 'not the right secret')).rejects.toThrow(/passphrase|Domain Master Secret/i);
  });

  const cases: [string, () => Buffer, RegExp][] = [
    ['a flipped bit in the header', () => flip(30), /header|passphrase|damaged/i],
    ['a flipped bit in the header MAC', () => flip(original.indexOf('\n---') + 6), /MAC|header/i],
    ['a flipped bit in the payload nonce', () => flip(payloadStart - 5), /chunk|authenticat/i],
    ['a flipped bit in the first chunk', () => flip(chunkAt(0) + 100), /chunk 0|authenticat/i],
    ['a flipped bit in a middle chunk', () => flip(chunkAt(2) + 7), /chunk 2|authenticat/i],
    ['a flipped bit in the last chunk', () => flip(original.length - 3), /authenticat/i],
    ['a truncated file (mid chunk)', () => original.subarray(0, chunkAt(1) + 1000), /truncat|authenticat/i],
    ['a truncated file (at a chunk boundary)', () => original.subarray(0, chunkAt(chunkCount() - 1)), /truncat|authenticat/i],
    [
      'two chunks swapped',
      () => Buffer.concat([original.subarray(0, chunkAt(1)), original.subarray(chunkAt(2), chunkAt(3)), original.subarray(chunkAt(1), chunkAt(2)), original.subarray(chunkAt(3))]),
      /chunk 1|authenticat/i,
    ],
    ['an appended chunk', () => Buffer.concat([original, original.subarray(chunkAt(1), chunkAt(2))]), /trailing|authenticat|after/i],
  ];
  for (const [name, make, words] of cases) {
    it(`refuses ${name}, read from shared memory and as a stream alike`, async () => {
      const errors: (Error | null)[] = [];
      for (const stream of [false, true]) {
        const err = await verifyBytes(make(), DMS, stream).then(
          () => null,
          (e: Error) => e,
        );
        expect(err, 'must be refused').not.toBeNull();
        expect(err instanceof AgeError || err instanceof BackupVerifyError).toBe(true);
        expect(err!.message).toMatch(words);
        expect(err!.message).not.toMatch(/\n\s+at /);
        errors.push(err);
      }
      // The same words either way.
      expect(errors[0]!.message).toBe(errors[1]!.message);
      // Not hashing the file (a restore of its own backup) refuses the same damage in the same words.
      for (const stream of [false, true]) {
        await expect(verifyBytes(make(), DMS, stream, RECORDED)).rejects.toThrow(errors[0]!.message);
      }
    });
  }
});
