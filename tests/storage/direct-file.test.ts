import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOCK, createFileWriter } from '@/lib/storage/direct-file';
import { LocalFolderTarget } from '@/lib/storage/local-folder';
import { canMount, mountRamfs } from '../helpers/ramfs';

/**
 * The local file writer (lib/storage/direct-file.ts): O_DIRECT from aligned
 * memory, unaligned edges held as partial blocks until neighbours complete
 * them, and the buffered fallback. Every pattern is written both ways and
 * compared with the bytes assembled in memory.
 */
let dir: string;
let seq = 0;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-direct-file-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const MiB = 1 << 20;
const newPath = (name: string) => path.join(dir, `${name}-${seq++}.bin`);

const errors = {
  write: (err: unknown) => Object.assign(new Error(`write failed: ${(err as Error).message}`), { cause: err }),
  flush: (err: unknown) => Object.assign(new Error(`flush failed: ${(err as Error).message}`), { cause: err }),
};

/** mulberry32: a small seeded PRNG (tests must repeat exactly). */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  /** An integer in [lo, hi]. */
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const shuffle = <T>(xs: T[]): T[] => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = int(0, i);
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  };
  return { next, int, shuffle };
}

/** Deterministic bytes: an AES-CTR keystream under a key derived from the seed. */
function bytes(n: number, seed: number): Buffer {
  const key = crypto.createHash('sha256').update(`seed ${seed}`).digest().subarray(0, 16);
  const c = crypto.createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()]);
}

/** Groups of writes: a group's writes are issued together (Promise.all), groups one after another. */
type Pattern = { name: string; seed: number; groups: [offset: number, length: number][][] };

/** Random lengths from 1 B up to ~1.1 MiB: half small (within a few blocks), half log-uniform up to 1.1 MiB. */
function randomLength(r: ReturnType<typeof prng>): number {
  if (r.next() < 0.5) return r.int(1, 3 * BLOCK);
  return Math.max(1, Math.floor(Math.exp(r.next() * Math.log(1.1 * MiB))));
}

function sequentialWrites(r: ReturnType<typeof prng>, from: number, total: number): [number, number][] {
  const writes: [number, number][] = [];
  for (let at = from; at < from + total; ) {
    const n = Math.min(randomLength(r), from + total - at);
    writes.push([at, n]);
    at += n;
  }
  return writes;
}

/** Cuts [from, to) into pieces that never cross a block boundary. */
function inBlockPieces(r: ReturnType<typeof prng>, from: number, to: number, most: number): [number, number][] {
  const pieces: [number, number][] = [];
  for (let at = from; at < to; ) {
    const blockEnd = (Math.floor(at / BLOCK) + 1) * BLOCK;
    const n = Math.min(r.int(1, most), to - at, blockEnd - at);
    pieces.push([at, n]);
    at += n;
  }
  return pieces;
}

function patterns(): Pattern[] {
  const out: Pattern[] = [];
  for (const seed of [1, 2, 3]) {
    const r = prng(seed);
    const start = r.int(0, 2) * BLOCK + r.int(1, BLOCK - 1);
    out.push({ name: `sequential random lengths from unaligned offset ${start} (seed ${seed})`, seed, groups: sequentialWrites(r, start, 3 * MiB + r.int(1, 9999)).map((w) => [w]) });
  }
  // The backup's order: the body from P on, then the prefix [0, P) in one write.
  for (const [seed, prefix] of [
    [10, 4000],
    [11, 4095],
    [12, 4096],
    [13, 4097],
    [14, 4200],
    [15, 70001],
  ] as const) {
    const r = prng(seed);
    const body = sequentialWrites(r, prefix, MiB + r.int(1, 70000));
    out.push({ name: `body first from ${prefix}, then the ${prefix}-byte prefix at 0`, seed, groups: [...body.map((w) => [w]), [[0, prefix]]] });
  }
  {
    const r = prng(20);
    out.push({ name: 'writes each inside one block, in random order', seed: 20, groups: r.shuffle(inBlockPieces(r, 0, 3 * BLOCK + 1000, 700)).map((w) => [w]) });
  }
  {
    const big = (4 << 20) + 3 * BLOCK + 555;
    out.push({ name: 'a write larger than the 4 MiB staging buffer at an unaligned offset', seed: 21, groups: [[[777, big]], [[777 + big, 100]], [[0, 777]]] });
    out.push({ name: 'a write larger than the 4 MiB staging buffer, exactly 4 MiB + 1 block, at an aligned offset', seed: 22, groups: [[[BLOCK, (4 << 20) + BLOCK]], [[0, BLOCK]]] });
  }
  for (const seed of [30, 31]) {
    const r = prng(seed);
    // Random cut points over ~700 KiB, issued in shuffled order without awaiting in between, twice.
    const group = (from: number, to: number) => {
      const cuts = new Set<number>([from, to]);
      while (cuts.size < 14) cuts.add(r.int(from + 1, to - 1));
      const sorted = [...cuts].sort((a, b) => a - b);
      return r.shuffle(sorted.slice(1).map((end, i): [number, number] => [sorted[i]!, end - sorted[i]!]));
    };
    const mid = 300_001 + r.int(0, 5000);
    const end = 700_000 + r.int(0, 5000);
    out.push({ name: `writeAt calls issued together (Promise.all), seed ${seed}`, seed, groups: [group(mid, end), group(0, mid)] });
  }
  // Several small pieces in flight at once, all within two blocks.
  {
    const r = prng(32);
    out.push({ name: 'small writeAt calls inside blocks issued together', seed: 32, groups: [r.shuffle(inBlockPieces(r, 0, 2 * BLOCK + 10, 300))] });
  }
  out.push({ name: 'an empty file', seed: 40, groups: [] });
  {
    const r = prng(41);
    out.push({ name: 'a size that is a multiple of 4096, unaligned pieces', seed: 41, groups: sequentialWrites(r, 0, 8 * BLOCK).map((w) => [w]) });
    out.push({ name: 'a size one byte past a multiple of 4096', seed: 42, groups: sequentialWrites(r, 0, 8 * BLOCK + 1).map((w) => [w]) });
    out.push({ name: 'a size one byte short of a multiple of 4096', seed: 43, groups: sequentialWrites(r, 0, 8 * BLOCK - 1).map((w) => [w]) });
    out.push({ name: 'a single byte', seed: 44, groups: [[[0, 1]]] });
    out.push({ name: 'one aligned block', seed: 45, groups: [[[0, BLOCK]]] });
  }
  return out;
}

/** What the file must hold: the written ranges of the pattern's bytes, zeros elsewhere, up to the last written byte. */
function expected(p: Pattern): { content: Buffer; want: Buffer } {
  const size = Math.max(0, ...p.groups.flat().map(([o, n]) => o + n));
  const content = bytes(size, p.seed);
  const want = Buffer.alloc(size);
  for (const [o, n] of p.groups.flat()) content.copy(want, o, o, o + n);
  return { content, want };
}

/**
 * Writes the pattern; each write's buffer is a copy that is scribbled over as
 * soon as its promise settled (the caller may reuse it then).
 */
async function writePattern(
  file: string,
  p: Pattern,
  content: Buffer,
  direct: boolean,
  finish?: (w: Awaited<ReturnType<typeof createFileWriter>>) => Promise<void>,
  expectDirect = direct,
) {
  const writer = await createFileWriter(file, errors, { direct });
  expect(writer.direct).toBe(expectDirect);
  for (const group of p.groups) {
    await Promise.all(
      group.map(([o, n]) => {
        const data = Buffer.from(content.subarray(o, o + n));
        return writer.writeAt(o, data).finally(() => data.fill(0xee));
      }),
    );
  }
  await finish?.(writer);
  await writer.commit();
  return writer;
}

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
/** Bytes of `file` in the page cache (util-linux fincore). */
const resident = (file: string) => Number(execFileSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', file], { encoding: 'utf8' }).trim());

describe('createFileWriter', () => {
  it('writes with O_DIRECT on this file system (no silent fallback)', async () => {
    const file = newPath('probe');
    const w = await createFileWriter(file, errors);
    expect(w.direct).toBe(true);
    await w.commit();
    expect(fs.statSync(file).size).toBe(0);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  for (const p of patterns()) {
    it(`${p.name}: direct and buffered files equal the bytes assembled in memory`, async () => {
      const { content, want } = expected(p);
      const got: Buffer[] = [];
      for (const direct of [true, false]) {
        const file = newPath(direct ? 'direct' : 'buffered');
        await writePattern(file, p, content, direct);
        expect(fs.statSync(file).size).toBe(want.length);
        const b = fs.readFileSync(file);
        // Compare hashes first: a failing Buffer diff of megabytes is unreadable.
        expect(sha(b), `${direct ? 'direct' : 'buffered'} file`).toBe(sha(want));
        expect(b.equals(want)).toBe(true);
        got.push(b);
        fs.rmSync(file);
      }
      expect(got[0]!.equals(got[1]!)).toBe(true);
    });
  }

  it('does not fill the page cache when writing directly, unlike the buffered path', async () => {
    const size = 16 * MiB + 1234;
    const p: Pattern = { name: 'cache', seed: 50, groups: sequentialWrites(prng(50), 0, size).map((w) => [w]) };
    const { content, want } = expected(p);
    const direct = newPath('cache-direct');
    await writePattern(direct, p, content, true);
    const directResident = resident(direct);
    const buffered = newPath('cache-buffered');
    await writePattern(buffered, p, content, false);
    const bufferedResident = resident(buffered);
    expect(directResident).toBeLessThanOrEqual(64 * 1024);
    expect(bufferedResident).toBeGreaterThan(8 * MiB);
    // And the direct file is still right (read only now: reading fills the cache).
    expect(sha(fs.readFileSync(direct))).toBe(sha(want));
    fs.rmSync(direct);
    fs.rmSync(buffered);
  });

  it('is what a local folder target writes new files with (nothing left in the page cache)', async () => {
    const target = new LocalFolderTarget(dir);
    const content = bytes(16 * MiB + 99, 70);
    const w = await target.create('through-target.bin');
    for (let at = 0; at < content.length; at += 1_048_832) await w.writeAt(at, content.subarray(at, at + 1_048_832));
    await w.finishWrites?.();
    await w.commit();
    const file = path.join(dir, 'through-target.bin');
    expect(resident(file)).toBeLessThanOrEqual(64 * 1024);
    expect(sha(fs.readFileSync(file))).toBe(sha(content));
    fs.rmSync(file);
  });

  it('makes the bytes visible to an ordinary reader on finishWrites(), before commit()', async () => {
    const r = prng(60);
    // Body first from an unaligned offset (partial blocks at both ends and at the header's edge), then the header.
    const p: Pattern = { name: 'finish', seed: 60, groups: [...sequentialWrites(r, 5000, 300_000 + 77).map((w): [number, number][] => [w]), [[0, 5000]]] };
    const { content, want } = expected(p);
    for (const direct of [true, false]) {
      const file = newPath('finish');
      let before: Buffer | null = null;
      await writePattern(file, p, content, direct, async (w) => {
        await w.finishWrites?.();
        before = fs.readFileSync(file);
      });
      expect(before!.length).toBe(want.length);
      expect(before!.equals(want)).toBe(true);
      expect(fs.readFileSync(file).equals(want)).toBe(true);
    }
  });

  it('keeps the bytes finishWrites() wrote when later writes complete the same blocks', async () => {
    const content = bytes(3 * BLOCK + 500, 61);
    for (const direct of [true, false]) {
      const file = newPath('finish-more');
      const w = await createFileWriter(file, errors, { direct });
      expect(w.direct).toBe(direct);
      await w.writeAt(100, content.subarray(100, BLOCK + 904));
      await w.finishWrites?.();
      expect(fs.readFileSync(file).subarray(100).equals(content.subarray(100, BLOCK + 904))).toBe(true);
      await w.writeAt(BLOCK + 904, content.subarray(BLOCK + 904));
      await w.writeAt(0, content.subarray(0, 100));
      await w.commit();
      const b = fs.readFileSync(file);
      expect(b.length).toBe(content.length);
      expect(sha(b), direct ? 'direct' : 'buffered').toBe(sha(content));
    }
  });

  it('refuses bytes of a partial block written twice, and writes nothing more after a failed write', async () => {
    const file = newPath('overlap');
    const w = await createFileWriter(file, errors);
    expect(w.direct).toBe(true);
    const content = bytes(4 * BLOCK, 70);
    await w.writeAt(0, content.subarray(0, 100));
    const sizeBefore = fs.statSync(file).size;
    await expect(w.writeAt(50, content.subarray(50, 150))).rejects.toThrow(/write failed: .*written twice/);
    // Sticky: an aligned whole block (which would go straight to the device) and commit are refused too.
    await expect(w.writeAt(2 * BLOCK, content.subarray(2 * BLOCK, 3 * BLOCK))).rejects.toThrow(/written twice/);
    await expect(w.commit()).rejects.toThrow(/written twice/);
    const st = fs.statSync(file);
    expect(st.size).toBe(sizeBefore);
    expect(fs.readFileSync(file).subarray(2 * BLOCK).length).toBe(0);
    await w.abort();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('refuses an overlap across a write that also has whole blocks, and the queued writes after it', async () => {
    const file = newPath('overlap-queued');
    const w = await createFileWriter(file, errors);
    expect(w.direct).toBe(true);
    const content = bytes(6 * BLOCK, 71);
    await w.writeAt(BLOCK + 10, content.subarray(BLOCK + 10, BLOCK + 20));
    // Issued together: the second overlaps [BLOCK+10, BLOCK+20) in its head; the third comes after it in the queue.
    const results = await Promise.allSettled([
      w.writeAt(0, content.subarray(0, BLOCK)),
      w.writeAt(BLOCK + 15, content.subarray(BLOCK + 15, 4 * BLOCK)),
      w.writeAt(4 * BLOCK, content.subarray(4 * BLOCK, 5 * BLOCK)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect(fs.statSync(file).size).toBeLessThanOrEqual(BLOCK);
    await expect(w.finishWrites!()).rejects.toThrow(/written twice/);
    await w.abort();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('abort() removes the file, with writes still queued, after commit-less writing, and on the buffered path', async () => {
    for (const direct of [true, false]) {
      const file = newPath('abort');
      const w = await createFileWriter(file, errors, { direct });
      const content = bytes(MiB + 3, 72);
      await w.writeAt(0, content.subarray(0, 5000));
      const pending = [w.writeAt(5000, content.subarray(5000, 600_000)), w.writeAt(600_000, content.subarray(600_000))];
      pending.forEach((p) => p.catch(() => undefined));
      await w.abort();
      await Promise.allSettled(pending);
      expect(fs.existsSync(file)).toBe(false);
      // Twice is harmless.
      await w.abort();
    }
  });

  it('creating a file that exists fails with EEXIST and leaves it unchanged', async () => {
    for (const direct of [true, false]) {
      const file = newPath('exists');
      const before = bytes(10_000, 80);
      fs.writeFileSync(file, before);
      const e = await createFileWriter(file, errors, { direct }).then(
        () => null,
        (err: NodeJS.ErrnoException) => err,
      );
      expect(e?.code).toBe('EEXIST');
      expect(fs.readFileSync(file).equals(before)).toBe(true);
    }
  });
});

/**
 * A file system that refuses O_DIRECT: ramfs (Linux creates the file before
 * it checks the flag, so an O_CREAT|O_DIRECT open would leave it behind and
 * a fallback that creates it again would fail with EEXIST). Needs root to mount.
 */
describe.skipIf(!canMount)('createFileWriter on a file system without direct I/O (ramfs)', () => {
  let ramfs: string;
  let unmount: () => void;
  beforeAll(() => ({ dir: ramfs, unmount } = mountRamfs()));
  afterAll(() => unmount());

  it('falls back to the page cache and writes every pattern exactly', async () => {
    for (const p of patterns().slice(0, 6)) {
      const { content, want } = expected(p);
      const file = path.join(ramfs, `${p.seed}-${seq++}.bin`);
      await writePattern(file, p, content, true, undefined, false);
      expect(fs.readFileSync(file).equals(want), p.name).toBe(true);
      fs.rmSync(file);
    }
  });

  it('still refuses a name that exists, and leaves nothing behind when it does', async () => {
    const file = path.join(ramfs, 'taken.bin');
    fs.writeFileSync(file, 'keep');
    await expect(createFileWriter(file, errors)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(fs.readFileSync(file, 'utf8')).toBe('keep');
    expect(fs.readdirSync(ramfs)).toEqual(['taken.bin']);
    fs.rmSync(file);
  });
});
