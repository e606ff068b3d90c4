import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sealChunksInto } from '@/lib/age/chunks';
import { CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE } from '@/lib/age/format';
import { hashSlot, memberRangesHash, WorkerJobs } from '@/lib/backup/worker-jobs';
import type { WorkerReply } from '@/lib/backup/worker-protocol';

/**
 * The jobs of a backup worker thread, called directly (no thread): the
 * member hashes of the write, and the read sessions of verify (decrypt into
 * the plain ring, hash members from spans). backup-workers.test.ts runs the
 * same jobs through real worker threads.
 */
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

describe('hashSlot', () => {
  it("answers each member's SHA-256 whatever the slot size, members of 0 bytes included", () => {
    const archive = crypto.randomBytes(10_000);
    const ranges: [number, number][] = [
      [100, 100],
      [512, 3000],
      [3000, 3000],
      [3584, 9000],
      [9216, 9216],
    ];
    const want = ranges.map(([s, e]) => sha(archive.subarray(s, e)));
    for (const slot of [1, 511, 512, 4096, 10_000]) {
      const h = memberRangesHash(ranges, 0);
      for (let at = 0; at < archive.length; at += slot) hashSlot(h, archive.subarray(at, at + slot), at);
      expect(h.digests).toEqual(want);
    }
  });

  it('refuses slots out of order', () => {
    const h = memberRangesHash([[0, 100]], 0);
    expect(() => hashSlot(h, Buffer.alloc(10), 10)).toThrow(/out of order/);
  });
});

describe('WorkerJobs, a verify', () => {
  const WINDOW = 4 * ENCRYPTED_CHUNK_SIZE;
  /** A slot holds its window, then the next window's head (as verify-local.ts copies it there). */
  const SLOT = WINDOW + ENCRYPTED_CHUNK_SIZE;
  const PLAIN_SLOT = WINDOW + CHUNK_SIZE;
  const key = crypto.randomBytes(32);
  const plain = crypto.randomBytes(9 * CHUNK_SIZE + 1234);
  const lastChunk = Math.ceil(plain.length / CHUNK_SIZE) - 1;
  const header = crypto.randomBytes(300);
  const file = Buffer.alloc(header.length + plain.length + (lastChunk + 1) * 16);
  header.copy(file);
  sealChunksInto(key, plain, file, header.length, 0, lastChunk);

  /** Reads `bytes` through a two-slot ring: windows decrypted on both WorkerJobs in turn, members and the file's hash on the second. */
  function verify(bytes: Buffer, members: [number, number][]) {
    const ring = new SharedArrayBuffer(2 * SLOT);
    const plainRing = new SharedArrayBuffer(2 * PLAIN_SLOT);
    const jobs = [new WorkerJobs(), new WorkerJobs()];
    const b = jobs[1]!;
    let id = 1;
    const ok = (r: WorkerReply | null) => {
      expect(r && 'error' in r ? r.error : undefined).toBeUndefined();
      return (r as { value: unknown }).value;
    };
    for (const w of jobs) {
      expect(w.handle({ op: 'rbAttach', ring, slotSize: SLOT, plain: plainRing, plainSlotSize: PLAIN_SLOT })).toBeNull();
      w.handle({ op: 'rbBegin', session: 1, kind: 'chunks', size: bytes.length, offset: header.length, key });
    }
    b.handle({ op: 'rbBegin', session: 2, kind: 'hash' });
    b.handle({ op: 'rbBegin', session: 3, kind: 'members' });
    const digests: string[] = [];
    const out: Buffer[] = [];
    let plainAt = 0;
    let chunks = 0;
    for (let at = 0, k = 0; at < bytes.length; at += WINDOW, k++) {
      const slot = k % 2;
      const length = Math.min(WINDOW, bytes.length - at);
      const available = Math.min(SLOT, bytes.length - at);
      bytes.copy(Buffer.from(ring, slot * SLOT, SLOT), 0, at, at + available);
      const reply = jobs[k % 2]!.handle({ op: 'rbChunks', id: id++, session: 1, slot, at, length, available })!;
      if ('error' in reply && reply.error !== undefined) return { reply };
      const opened = ok(reply) as { plainBytes: number; chunks: number };
      chunks += opened.chunks;
      ok(b.handle({ op: 'rbWindow', id: id++, session: 2, slot, at, length }));
      const n = opened.plainBytes;
      out.push(Buffer.from(Buffer.from(plainRing, slot * PLAIN_SLOT, n)));
      // Spans of the members in this slot's plaintext [plainAt, plainAt + n).
      const spans = members
        .filter(([s, e]) => e > plainAt && s < plainAt + n)
        .map(([s, e]) => [Math.max(s, plainAt) - plainAt, Math.min(e, plainAt + n) - plainAt, e <= plainAt + n] as [number, number, boolean]);
      digests.push(...(ok(b.handle({ op: 'rbMembers', id: id++, session: 3, slot, spans })) as string[]));
      plainAt += n;
    }
    return { plain: Buffer.concat(out), chunks, sha256: ok(b.handle({ op: 'rbEnd', id: id++, session: 2 })), digests };
  }

  it('decrypts every chunk into the plain ring, windows on either worker, and hashes the file and the members', () => {
    const members: [number, number][] = [
      [0, 70_000],
      [70_000, 300_000],
      [300_000, plain.length],
    ];
    const r = verify(file, members);
    expect(r.plain!.equals(plain)).toBe(true);
    expect(r.chunks).toBe(lastChunk + 1);
    expect(r.sha256).toBe(sha(file));
    expect(r.digests).toEqual(members.map(([s, e]) => sha(plain.subarray(s, e))));
  });

  it('answers a damaged chunk as an age payload failure naming it', () => {
    const bad = Buffer.from(file);
    bad[header.length + 5 * ENCRYPTED_CHUNK_SIZE + 10]! ^= 1;
    const { reply } = verify(bad, []);
    expect(reply).toMatchObject({ payload: { reason: 'auth-failed', chunk: 5 }, error: expect.stringMatching(/chunk 5 failed authentication/) });
  });

  it('answers a job for a session that does not exist with an error, not a crash', () => {
    expect(new WorkerJobs().handle({ op: 'rbEnd', id: 7, session: 99 })).toEqual({ id: 7, error: 'no such session', code: undefined });
  });
});
