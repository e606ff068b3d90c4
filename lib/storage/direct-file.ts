import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { StorageWriter } from './types';

/**
 * Writing a new local file with direct I/O (O_DIRECT): the bytes go from an
 * aligned buffer of ours to the device, not through the page cache.
 *
 * Why: a backup writes gigabytes once and never reads them again (except
 * the read-back, which should see the device, not memory). Through the page
 * cache every written page must first be allocated; on a VM whose free
 * memory is handed back to the host (free page reporting, ballooning) that
 * costs 1-3 s of kernel CPU per GiB, and the backup evicts the appliance's
 * working set on the way. Direct writes cost ~0.04 s of CPU per GiB here.
 *
 * The rules of O_DIRECT: buffer address, file offset and length aligned to
 * the device's logical block (BLOCK, 4 KiB covers every common device).
 * Callers write at any offset and length, so:
 *   - the aligned middle of a write is copied into an aligned staging buffer
 *     (WebAssembly memory: its base is page-aligned; Node buffers are not)
 *     and written directly, STAGE bytes at a time;
 *   - the unaligned edges of a write are kept as partial blocks until
 *     neighbouring writes complete them (the backup writes its body in order
 *     and its header last, so a handful are open at once), then written;
 *   - finishWrites() writes the blocks still partial (the last one,
 *     zero-padded) and truncates the file to the exact end, so that readers
 *     see every byte; commit() does the same if needed, then fsyncs.
 * Each byte is written at most once (StorageWriter's contract); an overlap
 * within a partial block is refused. Writes run one at a time, in call order.
 *
 * Where the file system refuses O_DIRECT (at open, or the probe write), the
 * file is written through the page cache instead, with the same results
 * (tests/storage/direct-file.test.ts writes every pattern both ways).
 */
export const BLOCK = 4096;
const STAGE = 4 << 20;

/** A block not yet whole: its bytes so far (zeros elsewhere); `flushed` once finishWrites() wrote it as it is. */
type Partial = { data: Buffer; ranges: [number, number][]; flushed?: boolean };

/**
 * Page-aligned memory for direct I/O, or null where WebAssembly is not
 * available: the base of a WebAssembly memory is page-aligned (Node's own
 * buffers are not). `shared` gives a SharedArrayBuffer that worker threads
 * can read (the read-back's ring).
 */
export function alignedMemory(bytes: number, shared = false): ArrayBufferLike | null {
  if (typeof WebAssembly === 'undefined') return null;
  try {
    const pages = Math.ceil(bytes / 65536);
    return new WebAssembly.Memory(shared ? { initial: pages, maximum: pages, shared: true } : { initial: pages }).buffer;
  } catch {
    return null;
  }
}

/** Turns a failure into the target's words. */
type WriteErrors = { write: (err: unknown) => Error; flush: (err: unknown) => Error };

/** O_DIRECT, or 0 where the platform has none. */
export const O_DIRECT: number = (fs.constants as Record<string, number>).O_DIRECT ?? 0;

/**
 * Creates `file` (it must not exist, mode 0600) and returns a writer for it,
 * using direct I/O when the file system allows it. `errors` turns a failure
 * into the target's words. `options.direct: false` skips direct I/O and
 * writes through the page cache (for tests and file systems known not to
 * take direct I/O); by default direct I/O is tried.
 */
export async function createFileWriter(
  file: string,
  errors: WriteErrors,
  options: { direct?: boolean } = {},
): Promise<StorageWriter & { direct: boolean }> {
  const memory = O_DIRECT && options.direct !== false ? alignedMemory(STAGE) : null;
  const stage = memory ? Buffer.from(memory, 0, STAGE) : null;
  // Created first without the flag: Linux creates a file before it checks
  // O_DIRECT, so an O_CREAT|O_DIRECT open refused with EINVAL would leave it behind.
  const buffered = await fsp.open(file, 'wx', 0o600);
  if (!stage) return bufferedWriter(buffered, file, errors);
  let direct: fsp.FileHandle | null = null;
  try {
    direct = await fsp.open(file, fs.constants.O_WRONLY | O_DIRECT).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EINVAL') throw err;
      return null;
    });
    if (direct) {
      // The probe: one aligned block. A file system that accepts the flag but
      // not the write (or needs larger alignment) answers EINVAL here, having
      // written nothing. A probe block that was written is overwritten or cut
      // off by the direct writer's final truncate.
      stage.fill(0, 0, BLOCK);
      const ok = await direct.write(stage, 0, BLOCK, 0).then(
        () => true,
        (err: NodeJS.ErrnoException) => {
          if (err.code !== 'EINVAL') throw err;
          return false;
        },
      );
      if (ok) {
        await buffered.close();
        return directWriter(direct, stage, file, errors);
      }
      await direct.close();
    }
    return bufferedWriter(buffered, file, errors);
  } catch (err) {
    // No handle left open and no file left behind.
    await direct?.close().catch(() => undefined);
    await buffered.close().catch(() => undefined);
    await fsp.rm(file, { force: true }).catch(() => undefined);
    throw err;
  }
}

function closer(handle: fsp.FileHandle) {
  let closed = false;
  return async () => {
    if (!closed) {
      closed = true;
      await handle.close();
    }
  };
}

function bufferedWriter(handle: fsp.FileHandle, file: string, errors: WriteErrors) {
  const close = closer(handle);
  return {
    direct: false,
    async writeAt(offset: number, data: Buffer) {
      try {
        await handle.write(data, 0, data.length, offset);
      } catch (err) {
        throw errors.write(err);
      }
    },
    async commit() {
      try {
        await handle.sync();
        await close();
      } catch (err) {
        throw errors.flush(err);
      }
    },
    async abort() {
      await close().catch(() => undefined);
      await fsp.rm(file, { force: true }).catch(() => undefined);
    },
  };
}

function directWriter(handle: fsp.FileHandle, stage: Buffer, file: string, errors: WriteErrors) {
  const close = closer(handle);
  const partial = new Map<number, Partial>();
  let end = 0;
  let queue: Promise<unknown> = Promise.resolve();
  // Sticky: after a failed write nothing else is written.
  let failure: Error | null = null;

  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(() => {
      if (failure) throw failure;
      return fn();
    });
    queue = run.catch(() => undefined);
    return run;
  };

  /** Writes whole blocks from `src` (length a multiple of BLOCK) at an aligned offset. */
  async function writeBlocks(src: Buffer, at: number): Promise<void> {
    for (let off = 0; off < src.length; off += STAGE) {
      const n = Math.min(STAGE, src.length - off);
      src.copy(stage, 0, off, off + n);
      let done = 0;
      while (done < n) {
        const { bytesWritten } = await handle.write(stage, done, n - done, at + off + done);
        if (bytesWritten <= 0 || bytesWritten % BLOCK !== 0) throw Object.assign(new Error('short direct write'), { code: 'EIO' });
        done += bytesWritten;
      }
    }
  }

  /** Adds [from, to) of block `index` (relative offsets) from `src`; writes the block once whole. */
  async function addPartial(index: number, from: number, to: number, src: Buffer): Promise<void> {
    let p = partial.get(index);
    if (!p) {
      p = { data: Buffer.alloc(BLOCK), ranges: [] };
      partial.set(index, p);
    }
    if (p.ranges.some(([a, b]) => from < b && a < to)) throw new RangeError(`bytes of block ${index} written twice`);
    src.copy(p.data, from);
    p.ranges.push([from, to]);
    p.flushed = false;
    if (p.ranges.reduce((n, [a, b]) => n + (b - a), 0) === BLOCK) {
      partial.delete(index);
      await writeBlocks(p.data, index * BLOCK);
    }
  }

  /**
   * Writes the blocks still partial as they are (the last one, and any left
   * with gaps: gaps read as zeros, as holes do), then cuts the file at its
   * end. They stay partial: a later write to the same block completes the
   * held bytes, not a block of zeros over what was written here.
   */
  async function flushPartials(): Promise<void> {
    for (const [index, p] of [...partial].sort((a, b) => a[0] - b[0])) {
      if (p.flushed) continue;
      await writeBlocks(p.data, index * BLOCK);
      p.flushed = true;
    }
    await handle.truncate(end);
  }

  return {
    direct: true,
    writeAt(offset: number, data: Buffer): Promise<void> {
      return serial(async () => {
        try {
          const last = offset + data.length;
          let at = offset;
          // Head: up to the first block boundary.
          if (at % BLOCK !== 0 && at < last) {
            const stop = Math.min(last, Math.ceil(at / BLOCK) * BLOCK);
            await addPartial(Math.floor(at / BLOCK), at % BLOCK, at % BLOCK + (stop - at), data.subarray(0, stop - at));
            at = stop;
          }
          // Middle: whole blocks.
          const middleEnd = Math.floor(last / BLOCK) * BLOCK;
          if (middleEnd > at) {
            for (const index of partial.keys()) {
              if (index * BLOCK >= at && index * BLOCK < middleEnd) throw new RangeError(`bytes of block ${index} written twice`);
            }
            await writeBlocks(data.subarray(at - offset, middleEnd - offset), at);
            at = middleEnd;
          }
          // Tail: a partial last block.
          if (at < last) await addPartial(at / BLOCK, 0, last - at, data.subarray(at - offset));
          if (data.length) end = Math.max(end, last);
        } catch (err) {
          failure ??= errors.write(err);
          throw failure;
        }
      });
    },
    finishWrites(): Promise<void> {
      return serial(async () => {
        try {
          await flushPartials();
        } catch (err) {
          failure ??= errors.write(err);
          throw failure;
        }
      });
    },
    commit(): Promise<void> {
      return serial(async () => {
        try {
          await flushPartials();
          await handle.sync();
          await close();
        } catch (err) {
          failure ??= errors.flush(err);
          throw failure;
        }
      });
    },
    async abort() {
      failure ??= new Error('aborted');
      await queue;
      await close().catch(() => undefined);
      await fsp.rm(file, { force: true }).catch(() => undefined);
    },
  };
}
