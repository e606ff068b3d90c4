import { AgePayloadError } from '../age/errors';
import { WindowReader, windowRing } from '../storage/window-reader';
import { ReadBackError, type BackupWorkers } from './backup-workers';

/**
 * The read-back of a local backup file: read once, checked twice. The main
 * thread reads the file in WINDOW-sized pieces into a ring of shared,
 * aligned memory (lib/storage/window-reader.ts: direct I/O where the file
 * system allows it, so the check sees what the device holds); worker 1
 * hashes each piece (the file's SHA-256, its checksum) and worker 0
 * authenticates the age chunks in it, both from the same bytes, in file
 * order. A window is read again only when both are done with it. One
 * read-back at a time per BackupWorkers (the ring is shared with its workers).
 */
export const WINDOW = 4 << 20;
const RING = 6;

export type ReadBackResult = { sha256: string; plainBytes: number; chunks: number };

const changed = () => new ReadBackError('The file changed while it was read back.');

/** Reads `file` back: resolves with its SHA-256 and the payload's size once every chunk from `offset` authenticated under `key`. */
export async function readBackFile(workers: BackupWorkers, file: string, o: { offset: number; key: Buffer; signal?: AbortSignal }): Promise<ReadBackResult> {
  const ring = windowRing(WINDOW, RING);
  const reader = await WindowReader.open(file, ring);
  let attached = false;
  try {
    workers.attachReadBack(ring.memory, WINDOW);
    attached = true;
    const hash = workers.fileHash(1);
    const verify = workers.chunkCheck(0, { size: reader.size, offset: o.offset, key: o.key });
    try {
      await reader.readAll({
        window: (slot, at, length) => Promise.all([hash.window(slot, at, length), verify.window(slot, at, length)]).then(() => undefined),
        changed,
        signal: o.signal,
      });
    } catch (err) {
      hash.end().catch(() => undefined);
      verify.end().catch(() => undefined);
      throw err;
    }
    const [sha256, { plainBytes, chunks }] = await Promise.all([hash.end(), verify.end()]);
    return { sha256, plainBytes, chunks };
  } catch (err) {
    // A failed check of the stored file is the read-back's own error, in the age reader's words.
    if (err instanceof AgePayloadError) throw new ReadBackError(err.message);
    throw err;
  } finally {
    if (attached) workers.detachReadBack();
    await reader.close();
  }
}
