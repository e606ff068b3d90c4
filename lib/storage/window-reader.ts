import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { O_DIRECT, alignedMemory } from './direct-file';

/**
 * Reads a local file once, in order, in windows of a ring of shared memory
 * that worker threads read too (the backup's read-back and verify): the
 * main thread fills window after window, at most `readsInFlight` reads at
 * once, hands each filled window to the caller in file order, and reuses a
 * window only once the caller's promise for it settled. Memory is the ring,
 * whatever the file's size.
 *
 * Reads use direct I/O where the file system allows it, so a check sees
 * what the device holds, not what is still in memory, and reading a backup
 * does not fill the page cache (see direct-file.ts). Direct reads need an
 * aligned buffer, offset and length: the ring is WebAssembly memory (its
 * base is page-aligned), windows start at multiples of the window size (a
 * multiple of 4 KiB), and only the last read may come back short (end of
 * file). A file system that takes the flag at open but refuses the read is
 * read through the page cache from then on.
 */
export type WindowRing = {
  memory: SharedArrayBuffer;
  windowSize: number;
  /** Slot i starts at i · stride; stride - windowSize bytes after each window are the caller's (a verify copies the next window's head there). */
  stride: number;
  windows: number;
  aligned: boolean;
};

/** A ring of `windows` windows of `windowSize` bytes (a multiple of 4 KiB), each followed by `tail` spare bytes, page-aligned where possible. */
export function windowRing(windowSize: number, windows: number, tail = 0): WindowRing {
  if (windowSize % 4096 !== 0) throw new RangeError('windows are whole 4 KiB blocks');
  const stride = windowSize + Math.ceil(tail / 4096) * 4096;
  const aligned = alignedMemory(windows * stride, true) as SharedArrayBuffer | null;
  return { memory: aligned ?? new SharedArrayBuffer(windows * stride), windowSize, stride, windows, aligned: aligned !== null };
}

export class WindowReader {
  private constructor(
    private readonly file: string,
    private handle: fsp.FileHandle,
    private direct: boolean,
    readonly size: number,
    private readonly ring: WindowRing,
  ) {}

  /** Opens `file` for reading into `ring`; `size` is the file's size now. */
  static async open(file: string, ring: WindowRing): Promise<WindowReader> {
    let handle: fsp.FileHandle | null = null;
    if (ring.aligned && O_DIRECT) {
      handle = await fsp.open(file, fs.constants.O_RDONLY | O_DIRECT).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EINVAL') throw err;
        return null;
      });
    }
    const direct = handle !== null;
    handle ??= await fsp.open(file, 'r');
    try {
      return new WindowReader(file, handle, direct, (await handle.stat()).size, ring);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  private switching: Promise<void> | null = null;

  /** Fills window `slot` from file offset `at`; answers the bytes read (short only at end of file). */
  private async fill(slot: number, at: number, changed: () => Error): Promise<number> {
    const { memory, windowSize, stride } = this.ring;
    const want = Math.min(windowSize, this.size - at);
    // A direct read asks for whole blocks; the file's end cuts it short.
    const ask = () => (this.direct ? Math.ceil(want / 4096) * 4096 : want);
    let got = 0;
    while (got < want) {
      let n: number;
      const usedDirect = this.direct;
      try {
        ({ bytesRead: n } = await this.handle.read(Buffer.from(memory, slot * stride, windowSize), got, ask() - got, at + got));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL' || !usedDirect) throw err;
        // The file system took the flag but not the read: on through the
        // page cache, switched once for every read in flight.
        this.switching ??= (async () => {
          const plain = await fsp.open(this.file, 'r');
          const old = this.handle;
          this.handle = plain;
          this.direct = false;
          await old.close().catch(() => undefined);
        })();
        await this.switching;
        continue;
      }
      if (n === 0) throw changed();
      got += n;
    }
    return want;
  }

  /**
   * Reads the whole file (its size at open) through the ring, calling
   * `window(slot, at, length)` in file order for each filled window (a call
   * does not wait for the previous call's promise: the caller's workers
   * queue the windows). The
   * first failure (a read, the caller's promise, the signal) stops the
   * reads, every window in hand is let settle, and it is thrown. `changed`
   * makes the error for a file that ends before its size.
   */
  async readAll(o: {
    window: (slot: number, at: number, length: number) => Promise<void>;
    changed: () => Error;
    readsInFlight?: number;
    signal?: AbortSignal;
    /** Called once, at the first failure, before the windows in hand settle (so that the caller can release what waits on windows that will not come). */
    onFailure?: (error: unknown) => void;
  }): Promise<void> {
    const { windowSize, windows } = this.ring;
    const readsInFlight = o.readsInFlight ?? 2;
    const free = Array.from({ length: windows }, (_, i) => i);
    let waiter: (() => void) | null = null;
    const wake = () => {
      const w = waiter;
      waiter = null;
      w?.();
    };
    let failure: { error: unknown } | null = null;
    const fail = (error: unknown) => {
      if (!failure) {
        failure = { error };
        o.onFailure?.(error);
      }
      wake();
    };
    // Windows go to the caller in file order, whatever order their reads finish in.
    let ordered: Promise<unknown> = Promise.resolve();
    const busy = new Set<Promise<unknown>>();
    let reading = 0;
    const onAbort = () => fail(o.signal!.reason);
    if (o.signal?.aborted) onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (let at = 0; at < this.size && !failure; at += windowSize) {
        while ((!free.length || reading >= readsInFlight) && !failure) await new Promise<void>((r) => (waiter = r));
        if (failure) break;
        const slot = free.pop()!;
        reading++;
        const read = this.fill(slot, at, o.changed).finally(() => {
          reading--;
          wake();
        });
        // Handled through the ordered chain below; this keeps a failure that lands early from counting as unhandled.
        read.catch(() => undefined);
        const windowAt = at;
        const inOrder = ordered.then(() => read);
        ordered = inOrder.catch(() => undefined);
        const step = inOrder.then((length) =>
          // A failure stops windows not handed over yet.
          failure
            ? undefined
            : o.window(slot, windowAt, length).then(() => {
                free.push(slot);
                wake();
              }),
        );
        const tracked = step.catch(fail);
        busy.add(tracked);
        void tracked.finally(() => busy.delete(tracked));
      }
      await Promise.allSettled([...busy]);
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
    }
    if (failure) throw (failure as { error: unknown }).error;
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}
