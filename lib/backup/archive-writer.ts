import { CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE } from '../age/format';
import type { ArchiveLayout, ArchiveReader } from './archive';
import type { BackupWorkers } from './backup-workers';
import type { StorageWriter } from '../storage/types';

/**
 * Writes the encrypted archive from `from` (a chunk boundary: the bytes
 * before it are the reserved manifest chunks, sealed and written last) to
 * its end, in one pass over the members, on both cores:
 *
 *   main thread   reads the archive's bytes (ArchiveReader) into a free input
 *                 slot, then writes the sealed output slot at its offset (in order)
 *   worker 1      hashes each member's bytes in the slot (for the manifest)
 *   worker 0      seals the slot's 64 KiB chunks into the output slot
 *
 * Slots live in shared memory (SLOTS × 1 MiB in, SLOTS × (1 MiB + tags)
 * out), so no byte is copied between threads and memory does not grow with
 * the backup. A slot is reused only when both workers are done with it and
 * its sealed bytes are written. The hash and the ciphertext come from the
 * very same bytes. Errors are sticky: the first one stops the loop, every
 * write already started is awaited (so no write lands after the caller
 * removes the file), and that error is thrown.
 */
export const SLOT_CHUNKS = 16;
export const SLOTS = 8;
const SLOT_SIZE = SLOT_CHUNKS * CHUNK_SIZE;
const OUT_SLOT_SIZE = SLOT_CHUNKS * ENCRYPTED_CHUNK_SIZE;

export type ArchiveWrite = {
  layout: ArchiveLayout;
  reader: ArchiveReader;
  /** Archive offset where writing starts; a multiple of 64 KiB. */
  from: number;
  payloadKey: Buffer;
  /** File offset of chunk 0. */
  payloadOffset: number;
  writer: StorageWriter;
  workers: BackupWorkers;
  signal: AbortSignal;
  /** Archive bytes done so far (including the reserved ones), after each slot. */
  progress?: (bytes: number) => void;
};

/** Resolves with each member's SHA-256 (hex), in member order. */
export async function writeEncryptedArchive(o: ArchiveWrite): Promise<string[]> {
  if (o.from % CHUNK_SIZE !== 0) throw new RangeError('writing starts at a chunk boundary');
  const input = new SharedArrayBuffer(SLOTS * SLOT_SIZE);
  const output = new SharedArrayBuffer(SLOTS * OUT_SLOT_SIZE);
  o.workers.attach(input, output, SLOT_SIZE, OUT_SLOT_SIZE);
  const hasher = o.workers.hashMembers(o.layout.memberRanges, o.from);
  const sealer = o.workers.encryptChunks(o.payloadKey, Math.ceil(o.layout.size / CHUNK_SIZE) - 1);

  const free = Array.from({ length: SLOTS }, (_, i) => i);
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | null = null;
  let waiter: (() => void) | null = null;
  const notify = () => {
    const w = waiter;
    waiter = null;
    w?.();
  };
  const fail = (error: unknown) => {
    failure ??= { error };
    notify();
  };
  let done = o.from;
  // Writes start in file order, at most `parallelWrites` at once (default
  // one: writes to one local file serialise in the kernel anyway, and each
  // one waiting would hold a libuv thread that the reads and the scrypt
  // running meanwhile need; a network target keeps several in flight).
  const parallel = Math.max(1, o.writer.parallelWrites ?? 1);
  const recent: Promise<unknown>[] = [];

  try {
    for (let at = o.from; at < o.layout.size; at += SLOT_SIZE) {
      while (!free.length && !failure) await new Promise<void>((r) => (waiter = r));
      if (failure) break;
      o.signal.throwIfAborted();
      const slot = free.pop()!;
      const length = Math.min(SLOT_SIZE, o.layout.size - at);
      await o.reader.fill(Buffer.from(input, slot * SLOT_SIZE, length), at);
      const fileOffset = o.payloadOffset + (at / CHUNK_SIZE) * ENCRYPTED_CHUNK_SIZE;
      // Both branches settle before the step does: a failed hash never leaves its slot's write running unobserved.
      const step = Promise.allSettled([
        hasher.slot(slot, at, length),
        sealer.slot(slot, at, length).then((sealed) => {
          const gate = recent.length >= parallel ? recent[recent.length - parallel]! : Promise.resolve();
          const write = gate.then(() => {
            // Queued writes do not start once something failed.
            if (failure) throw (failure as { error: unknown }).error;
            return o.writer.writeAt(fileOffset, Buffer.from(output, slot * OUT_SLOT_SIZE, sealed)).catch((err: unknown) => {
              fail(err);
              throw err;
            });
          });
          recent.push(write.catch(() => undefined));
          if (recent.length > parallel) recent.shift();
          return write;
        }),
      ]).then((results) => {
        const failed = results.find((r) => r.status === 'rejected');
        if (failed) return fail((failed as PromiseRejectedResult).reason);
        done += length;
        try {
          o.progress?.(done);
        } catch (err) {
          return fail(err);
        }
        free.push(slot);
        notify();
      });
      inFlight.add(step);
      void step.finally(() => inFlight.delete(step));
    }
  } catch (err) {
    fail(err);
  }
  await Promise.allSettled([...inFlight]);
  sealer.end();
  await o.reader.close().catch(() => undefined);
  if (failure) {
    await hasher.end().catch(() => undefined);
    throw (failure as { error: unknown }).error;
  }
  return hasher.end();
}
