import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeferredEncryption, createEncryptStream, wrapFileKey } from '@/lib/age';
import { BackupWorkers, ReadBackError } from '@/lib/backup/backup-workers';
import { WINDOW, readBackFile, type ReadBackResult } from '@/lib/backup/read-back';
import { canMount, mountRamfs } from '../helpers/ramfs';

/**
 * The read-back of a local age file over several 4 MiB windows: chunks that
 * straddle window boundaries, damage and truncation found and named by
 * chunk, and a pool that stays usable after a failed read-back.
 */
const CHUNK = 65536;
const SEALED = CHUNK + 16;
const TAG = 16;

let dir: string;
let pool: BackupWorkers;
let file: string;
let enc: DeferredEncryption;
let intact: Buffer;
let want: ReadBackResult;
// ~9.5 MiB and a few odd bytes: with the header and tags the file spans 3 windows, and the last chunk is short.
const plain = crypto.randomBytes(9.5 * 1024 * 1024 + 1234);
const chunks = Math.ceil(plain.length / CHUNK);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-read-back-'));
  pool = new BackupWorkers(2);
  const fileKey = crypto.randomBytes(16);
  enc = new DeferredEncryption(fileKey, 1, 10);
  // Body: the chunks after the reserved one, sealed in one pass with the same key and nonce (as backup-workers.test.ts).
  const parts: Buffer[] = [];
  for await (const c of Readable.from([plain]).pipe(createEncryptStream(fileKey, { nonce: enc.nonce }))) parts.push(c as Buffer);
  const prefix = enc.prefix(await wrapFileKey('read-back test', fileKey, { logN: 10 }), plain.subarray(0, CHUNK));
  intact = Buffer.concat([prefix, Buffer.concat(parts).subarray(16 + SEALED)]);
  file = path.join(dir, 'intact.age');
  fs.writeFileSync(file, intact);
  want = { sha256: sha(intact), plainBytes: plain.length, chunks };
});
afterAll(async () => {
  await pool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
/** Where chunk i starts in the file. */
const at = (i: number) => enc.payloadOffset + i * SEALED;
/** The chunk holding file offset `o`. */
const chunkAt = (o: number) => Math.floor((o - enc.payloadOffset) / SEALED);
const readBack = (f: string, key = enc.payloadKey()) => readBackFile(pool, f, { offset: enc.payloadOffset, key });

/** What the verifier must say about a file cut to `size` bytes: its (now) last chunk is too short to hold a tag, or does not authenticate (also one of just a tag: not an empty final chunk). */
function truncatedWords(size: number): RegExp {
  const total = size - enc.payloadOffset;
  const count = Math.ceil(total / SEALED);
  const lastLength = total - (count - 1) * SEALED;
  if (lastLength < TAG) return new RegExp(`truncated: it ends after chunk ${count - 2}`);
  return new RegExp(`chunk ${count - 1} failed authentication`);
}

/** Writes a damaged copy, expects the read-back to refuse it with `words`, then checks the same pool still reads the intact file. */
async function refuses(name: string, damaged: Buffer, words: RegExp) {
  const f = path.join(dir, `${name}.age`);
  fs.writeFileSync(f, damaged);
  try {
    const err = await readBack(f).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err, `${name} was accepted`).toBeInstanceOf(ReadBackError);
    expect((err as Error).message).toMatch(words);
  } finally {
    fs.rmSync(f, { force: true });
  }
  // No stale session state, ring or window left behind: the next read-back is right.
  expect(await readBack(file)).toEqual(want);
}

const flip = (offset: number) => {
  const b = Buffer.from(intact);
  b[offset]! ^= 0x10;
  return b;
};

describe('readBackFile over several windows', () => {
  it('has a file that spans three windows, with chunks straddling the boundaries', () => {
    expect(intact.length).toBeGreaterThan(2 * WINDOW);
    expect(intact.length).toBeLessThan(3 * WINDOW);
    expect(plain.length % CHUNK).not.toBe(0);
    for (const boundary of [WINDOW, 2 * WINDOW]) {
      const n = chunkAt(boundary);
      expect(at(n)).toBeLessThan(boundary);
      expect(at(n + 1)).toBeGreaterThan(boundary);
    }
    expect(at(chunks)).toBeGreaterThan(intact.length);
    expect(at(chunks - 1)).toBeLessThan(intact.length);
  });

  it("answers the file's SHA-256, its plaintext size and chunk count", async () => {
    const r = await readBack(file);
    expect(r.sha256).toBe(sha(fs.readFileSync(file)));
    expect(r).toEqual({ sha256: sha(intact), plainBytes: plain.length, chunks });
  });

  it('names the chunk straddling the 4 MiB window boundary when a bit flips in it (either side of the boundary)', async () => {
    const n = chunkAt(WINDOW);
    await refuses('flip-before-4m', flip(WINDOW - 1), new RegExp(`chunk ${n} failed authentication`));
    await refuses('flip-after-4m', flip(WINDOW + 5), new RegExp(`chunk ${n} failed authentication`));
  });

  it('names the chunk straddling the 8 MiB window boundary', async () => {
    const n = chunkAt(2 * WINDOW);
    await refuses('flip-8m', flip(2 * WINDOW + 1), new RegExp(`chunk ${n} failed authentication`));
  });

  it('names the last chunk when a bit flips in it', async () => {
    await refuses('flip-last', flip(intact.length - 1), new RegExp(`chunk ${chunks - 1} failed authentication`));
    await refuses('flip-last-first-byte', flip(at(chunks - 1)), new RegExp(`chunk ${chunks - 1} failed authentication`));
  });

  it('refuses a file truncated exactly at a window boundary (4 MiB, 8 MiB)', async () => {
    for (const size of [WINDOW, 2 * WINDOW]) {
      const words = truncatedWords(size);
      expect(words.source).toContain(`chunk ${chunkAt(size)}`);
      await refuses(`cut-${size}`, intact.subarray(0, size), words);
    }
  });

  it('refuses a file one byte short of its end', async () => {
    await refuses('cut-1', intact.subarray(0, intact.length - 1), new RegExp(`chunk ${chunks - 1} failed authentication`));
  });

  it('refuses a file cut at a chunk boundary (the last whole chunk is not flagged last), as truncated', async () => {
    await refuses('cut-chunk', intact.subarray(0, at(100)), /truncated: it ends after chunk 99, before its final chunk/);
  });

  it('refuses an appended full chunk', async () => {
    // The former last (short) chunk is now read as a full chunk that runs into the appended bytes.
    await refuses('appended', Buffer.concat([intact, intact.subarray(at(1), at(2))]), new RegExp(`chunk ${chunks - 1} failed authentication`));
  });

  it('fails at chunk 0 under the wrong key, and the pool reads the intact file afterwards', async () => {
    await expect(readBack(file, crypto.randomBytes(32))).rejects.toThrow(/chunk 0 failed authentication/);
    await expect(readBack(file, crypto.randomBytes(32))).rejects.toBeInstanceOf(ReadBackError);
    expect(await readBack(file)).toEqual(want);
  });

  it('reads the intact file correctly after failures, again and again', async () => {
    for (let i = 0; i < 2; i++) {
      await expect(readBack(file, crypto.randomBytes(32))).rejects.toThrow(ReadBackError);
      await refuses(`again-${i}`, flip(WINDOW + 100), new RegExp(`chunk ${chunkAt(WINDOW + 100)} failed`));
    }
    expect(await readBack(file)).toEqual(want);
  });
});

describe.skipIf(!canMount)('readBackFile on a file system without direct I/O (ramfs)', () => {
  it('reads through the page cache and checks the same', async () => {
    const ramfs = mountRamfs();
    try {
      const copy = path.join(ramfs.dir, 'intact.age');
      fs.writeFileSync(copy, intact);
      expect(await readBackFile(pool, copy, { offset: enc.payloadOffset, key: enc.payloadKey() })).toEqual(want);
      const damaged = Buffer.from(intact);
      damaged[damaged.length - 5]! ^= 1;
      fs.writeFileSync(copy, damaged);
      await expect(readBackFile(pool, copy, { offset: enc.payloadOffset, key: enc.payloadKey() })).rejects.toThrow(`chunk ${chunks - 1} failed authentication`);
    } finally {
      ramfs.unmount();
    }
  });
});

describe('readBackFile, one at a time', () => {
  it('allows one read-back at a time per pool (the ring is shared with its workers)', async () => {
    pool.attachReadBack(new SharedArrayBuffer(WINDOW), WINDOW);
    try {
      await expect(readBackFile(pool, file, { offset: enc.payloadOffset, key: enc.payloadKey() })).rejects.toThrow(/one read-back at a time/);
    } finally {
      pool.detachReadBack();
    }
    expect(await readBackFile(pool, file, { offset: enc.payloadOffset, key: enc.payloadKey() })).toEqual(want);
  });
});

describe('readBackFile when the backup is stopped', () => {
  it('stops reading with the abort reason, and the pool reads back again afterwards', async () => {
    const controller = new AbortController();
    controller.abort(new Error('The console is shutting down.'));
    await expect(readBackFile(pool, file, { offset: enc.payloadOffset, key: enc.payloadKey(), signal: controller.signal })).rejects.toThrow('The console is shutting down.');
    expect(await readBackFile(pool, file, { offset: enc.payloadOffset, key: enc.payloadKey() })).toEqual(want);
  });
});
