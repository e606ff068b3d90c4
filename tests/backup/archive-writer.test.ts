import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeferredEncryption, decryptWithPassphrase, wrapFileKey } from '@/lib/age';
import { ArchiveReader, planArchive, reservedManifestSize, type SourceMember } from '@/lib/backup/archive';
import { writeEncryptedArchive } from '@/lib/backup/archive-writer';
import { BackupWorkers } from '@/lib/backup/backup-workers';
import type { StorageWriter } from '@/lib/storage/types';

/**
 * The parallel write: the file it makes (with the deferred prefix written
 * last) is an age file whose plaintext is exactly the planned archive, the
 * member hashes are those of the members, and faults stop it with their own
 * error and no write after it.
 */
let dir: string;
let workers: BackupWorkers;
const PASS = 'archive writer test';
const mtime = new Date(1_700_000_000_000);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-writer-'));
  workers = new BackupWorkers(2);
});
afterAll(async () => {
  await workers.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function member(rel: string, data: Buffer): SourceMember {
  const file = path.join(dir, crypto.randomUUID());
  fs.writeFileSync(file, data);
  const st = fs.statSync(file);
  return { path: rel, kind: 'system', size: data.length, source: file, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino };
}

/**
 * A writer into a file by positional writes, recording every call and the
 * most calls ever in flight at once; `failAt` makes that call fail;
 * `parallelWrites` is what it tells the archive writer; each write takes
 * `delayMs`.
 */
function fileWriter(file: string, opts: { failAt?: number; parallelWrites?: number; delayMs?: number } = {}) {
  const fd = fs.openSync(file, 'w', 0o600);
  const calls: { offset: number; length: number }[] = [];
  let settled = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const writer: StorageWriter = {
    parallelWrites: opts.parallelWrites,
    async writeAt(offset, data) {
      calls.push({ offset, length: data.length });
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        await new Promise((r) => setTimeout(r, opts.delayMs ?? 1));
        if (calls.length - 1 === opts.failAt) throw new Error('No space left on the test target');
        fs.writeSync(fd, data, 0, data.length, offset);
        settled++;
      } finally {
        inFlight--;
      }
    },
    commit: async () => fs.closeSync(fd),
    abort: async () => fs.closeSync(fd),
  };
  return { writer, calls, settled: () => settled, maxInFlight: () => maxInFlight };
}

async function plan(members: SourceMember[]) {
  const manifestSize = reservedManifestSize(300, 65536);
  const layout = await planArchive(manifestSize, mtime, members);
  const reserved = 512 + manifestSize;
  const fileKey = crypto.randomBytes(16);
  const enc = new DeferredEncryption(fileKey, reserved / 65536, 10);
  /** The archive writer's job for these members into `writer`. */
  const job = (writer: StorageWriter, extra: { signal?: AbortSignal; progress?: (bytes: number) => void } = {}) =>
    writeEncryptedArchive({
      layout,
      reader: new ArchiveReader(layout, members),
      from: reserved,
      payloadKey: enc.payloadKey(),
      payloadOffset: enc.payloadOffset,
      writer,
      workers,
      signal: extra.signal ?? new AbortController().signal,
      progress: extra.progress,
    });
  return { layout, reserved, enc, fileKey, job };
}

async function archiveBytes(layout: Awaited<ReturnType<typeof planArchive>>, members: SourceMember[]): Promise<Buffer> {
  const out = Buffer.alloc(layout.size);
  const reader = new ArchiveReader(layout, members);
  await reader.fill(out, 0);
  await reader.close();
  return out;
}

describe('writeEncryptedArchive', () => {
  // Sizes around slot (1 MiB) and chunk (64 KiB) boundaries, and one archive ending exactly on a chunk boundary.
  const cases: [string, number[]][] = [
    ['small members in one slot', [0, 1, 4096, 511]],
    ['members across many slots', [3 * (1 << 20) + 17, 70_000, 0, 5 * (1 << 20)]],
    ['an archive ending exactly at a chunk boundary', [65536 * 19 - 1536]],
  ];
  for (const [name, sizes] of cases) {
    it(`makes an age file holding exactly the planned archive: ${name}`, async () => {
      const members = sizes.map((n, i) => member(`system/m${i}.bin`, crypto.randomBytes(n)));
      const { layout, reserved, enc, fileKey, job } = await plan(members);
      if (name.includes('exactly')) expect(layout.size % 65536).toBe(0);
      const file = path.join(dir, `${crypto.randomUUID()}.age`);
      const { writer, calls } = fileWriter(file);
      const progress: number[] = [];
      const digests = await job(writer, { progress: (b) => progress.push(b) });
      expect(digests).toEqual(members.map((m) => crypto.createHash('sha256').update(fs.readFileSync(m.source)).digest('hex')));
      // Writes in file order, and progress up to the archive's end.
      expect(calls.map((c) => c.offset)).toEqual([...calls.map((c) => c.offset)].sort((a, b) => a - b));
      expect(progress.at(-1)).toBe(layout.size);
      const plain = await archiveBytes(layout, members);
      await writer.writeAt(0, enc.prefix(await wrapFileKey(PASS, fileKey, { logN: 10 }), plain.subarray(0, reserved)));
      await writer.commit();
      const parts: Buffer[] = [];
      for await (const c of await decryptWithPassphrase(fs.readFileSync(file), PASS)) parts.push(c as Buffer);
      expect(Buffer.concat(parts).equals(plain)).toBe(true);
    });
  }

  it('stops at the first failed write with its error, and writes nothing after it', async () => {
    const members = [member('system/big.bin', crypto.randomBytes(12 << 20))];
    const { job } = await plan(members);
    const { writer, calls, settled } = fileWriter(path.join(dir, 'failing.age'), { failAt: 3 });
    await expect(job(writer)).rejects.toThrow('No space left on the test target');
    const callsAtEnd = calls.length;
    expect(callsAtEnd).toBe(4);
    expect(settled()).toBe(3);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls.length).toBe(callsAtEnd);
    await writer.abort();
  });

  it('stops when aborted, with the reason', async () => {
    const members = [member('system/big.bin', crypto.randomBytes(12 << 20))];
    const { job } = await plan(members);
    const { writer, calls } = fileWriter(path.join(dir, 'aborted.age'));
    const controller = new AbortController();
    const run = job(writer, { signal: controller.signal, progress: (b) => b > 3 << 20 && controller.abort(new Error('The console is shutting down.')) });
    await expect(run).rejects.toThrow('The console is shutting down.');
    expect(calls.length).toBeLessThan(12);
    await writer.abort();
  });

  it('fails with words when a member changes while it is written', async () => {
    // Larger than all slots together (SLOTS × 1 MiB): the reader is still inside the member when the first slot's progress
    // changes it, however fast the reads and however slow the workers.
    const members = [member('system/changing.bin', crypto.randomBytes(24 << 20))];
    const { job } = await plan(members);
    const { writer } = fileWriter(path.join(dir, 'changing.age'));
    let touched = false;
    await expect(
      job(writer, {
        progress: () => {
          if (!touched) fs.appendFileSync(members[0]!.source, 'x');
          touched = true;
        },
      }),
    ).rejects.toThrow(/system\/changing.bin changed while the backup was being made/);
    await writer.abort();
  });

  it('keeps one write in flight by default and up to parallelWrites when the target allows, starting them in file order', async () => {
    const members = [member('system/big.bin', crypto.randomBytes(12 << 20))];
    const { job } = await plan(members);
    for (const [parallelWrites, most] of [
      [undefined, 1],
      [3, 3],
    ] as const) {
      // Slow writes (20 ms, while sealing a slot takes well under that): the sealed slots queue up behind them.
      const w = fileWriter(path.join(dir, `parallel-${parallelWrites}.age`), { parallelWrites, delayMs: 20 });
      await job(w.writer);
      expect(w.maxInFlight()).toBe(most);
      expect(w.calls.map((c) => c.offset)).toEqual([...w.calls.map((c) => c.offset)].sort((a, b) => a - b));
      await w.writer.commit();
    }
  });
});
