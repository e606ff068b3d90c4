import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { O_DIRECT, alignedMemory } from '../storage/direct-file';
import { ReadBackError, type BackupWorkers } from './backup-workers';

/**
 * The read-back of a local backup file: read once, checked twice. The main
 * thread reads the file in WINDOW-sized pieces into a ring of shared,
 * aligned memory; worker 1 hashes each piece (the file's SHA-256, its
 * checksum) and worker 0 authenticates the age chunks in it, both from the
 * same bytes, in file order. A window is read again only when both are done
 * with it.
 *
 * Reads use direct I/O where the file system allows it, so the check sees
 * what the device holds, not what is still in memory, and a backup does not
 * fill the page cache (see lib/storage/direct-file.ts). Direct reads need an
 * aligned buffer, offset and length: the ring is WebAssembly memory (its
 * base is page-aligned), windows start at multiples of WINDOW, and only the
 * last read may come back short (end of file). One read-back at a time per
 * BackupWorkers (the ring is shared with its workers).
 */
export const WINDOW = 4 << 20;
const RING = 6;
const READS_IN_FLIGHT = 2;

export type ReadBackResult = { sha256: string; plainBytes: number; chunks: number };

/** Reads `file` back: resolves with its SHA-256 and the payload's size once every chunk from `offset` authenticated under `key`. */
export async function readBackFile(workers: BackupWorkers, file: string, o: { offset: number; key: Buffer; signal?: AbortSignal }): Promise<ReadBackResult> {
  const memory = alignedMemory(RING * WINDOW, true) as SharedArrayBuffer | null;
  const ring = memory ?? new SharedArrayBuffer(RING * WINDOW);
  let handle: fsp.FileHandle | null = null;
  let direct = false;
  let switching: Promise<void> | null = null;
  let attached = false;
  if (memory && O_DIRECT) {
    handle = await fsp.open(file, fs.constants.O_RDONLY | O_DIRECT).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EINVAL') throw err;
      return null;
    });
    direct = handle !== null;
  }
  handle ??= await fsp.open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    workers.attachReadBack(ring, WINDOW);
    attached = true;
    const hash = workers.readBackSession(1, { kind: 'hash', size });
    const verify = workers.readBackSession(0, { kind: 'verify', size, offset: o.offset, key: o.key });

    /** Fills window `slot` from file offset `at`; answers the bytes read (short only at end of file). */
    const readWindow = async (slot: number, at: number): Promise<number> => {
      const want = Math.min(WINDOW, size - at);
      // A direct read asks for whole blocks; the file's end cuts it short.
      const ask = () => (direct ? Math.ceil(want / 4096) * 4096 : want);
      let got = 0;
      while (got < want) {
        let n: number;
        const usedDirect = direct;
        try {
          ({ bytesRead: n } = await handle!.read(Buffer.from(ring, slot * WINDOW, WINDOW), got, ask() - got, at + got));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EINVAL' || !usedDirect) throw err;
          // The file system took the flag but not the read: on through the
          // page cache, switched once for every read in flight.
          switching ??= (async () => {
            const plain = await fsp.open(file, 'r');
            const old = handle!;
            handle = plain;
            direct = false;
            await old.close().catch(() => undefined);
          })();
          await switching;
          continue;
        }
        if (n === 0) throw new ReadBackError('The file changed while it was read back.');
        got += n;
      }
      return want;
    };

    const free = Array.from({ length: RING }, (_, i) => i);
    let waiter: (() => void) | null = null;
    const wake = () => {
      const w = waiter;
      waiter = null;
      w?.();
    };
    let failure: { error: unknown } | null = null;
    const fail = (error: unknown) => {
      failure ??= { error };
      wake();
    };
    // Windows go to the workers in file order, whatever order their reads finish in.
    let ordered: Promise<unknown> = Promise.resolve();
    const busy = new Set<Promise<unknown>>();
    let reading = 0;
    const onAbort = () => fail(o.signal!.reason);
    if (o.signal?.aborted) onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    for (let at = 0; at < size && !failure; at += WINDOW) {
      while ((!free.length || reading >= READS_IN_FLIGHT) && !failure) await new Promise<void>((r) => (waiter = r));
      if (failure) break;
      const slot = free.pop()!;
      reading++;
      const read = readWindow(slot, at).finally(() => {
        reading--;
        wake();
      });
      // Handled through the ordered chain below; this keeps a failure that lands early from counting as unhandled.
      read.catch(() => undefined);
      const windowAt = at;
      const inOrder = ordered.then(() => read);
      ordered = inOrder.catch(() => undefined);
      const step = inOrder.then((length) =>
        Promise.all([hash.window(slot, windowAt, length), verify.window(slot, windowAt, length)]).then(() => {
          free.push(slot);
          wake();
        }),
      );
      const tracked = step.catch(fail);
      busy.add(tracked);
      void tracked.finally(() => busy.delete(tracked));
    }
    await Promise.allSettled([...busy]);
    o.signal?.removeEventListener('abort', onAbort);
    if (failure) {
      hash.end().catch(() => undefined);
      verify.end().catch(() => undefined);
      throw (failure as { error: unknown }).error;
    }
    const [sha256, verified] = await Promise.all([hash.end(), verify.end()]);
    const { plainBytes, chunks } = JSON.parse(verified) as { plainBytes: number; chunks: number };
    return { sha256, plainBytes, chunks };
  } finally {
    if (attached) workers.detachReadBack();
    await handle?.close().catch(() => undefined);
  }
}
