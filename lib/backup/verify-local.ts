import { openHeader } from '../age';
import { CHUNK_SIZE, MAX_HEADER_SIZE, PAYLOAD_NONCE_SIZE } from '../age/format';
import { WindowReader, windowRing } from '../storage/window-reader';
import { BackupWorkers } from './backup-workers';
import { ArchiveCheck, BackupVerifyError, type MemberSink, type VerifiedBackup } from './verify-archive';

/**
 * Full verification of a backup file on this machine (a local folder, a
 * mounted USB drive) on both cores, reading the file once:
 *
 *   main thread  reads the file in 4 MiB windows into a ring of shared
 *                memory (window-reader.ts, direct I/O where possible); from
 *                window 0 it opens the age header with the DMS (scrypt);
 *                it walks the tar structure of each decrypted window
 *                (ArchiveCheck: manifest, signature, names, sizes) and
 *                copies members' bytes to the sinks
 *   worker 0     authenticates and decrypts every chunk of the window into
 *                the plain ring's slot of the same index
 *   worker 1     hashes the window (the file's SHA-256, its checksum) and
 *                the members' bytes in the plain slot (for the manifest)
 *
 * A window and its plain slot are reused once all three are done with them
 * and the sinks took their bytes, so memory is the two rings whatever the
 * file's size, and a slow sink slows the reads.
 */
const WINDOW = 4 << 20;
const RING = 6;
/** A window's chunks complete at most WINDOW + one chunk of plaintext (a chunk carried over from the window before). */
const PLAIN_SLOT = WINDOW + CHUNK_SIZE;

export type VerifyOptions = {
  signal?: AbortSignal;
  sink?: MemberSink;
  /** Bytes of the stored file read and checked so far, of its size; in order, after each window. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
};

/** Verifies the backup file at `file` with the DMS; `openFailed` puts a failure to open it in words. */
export async function verifyLocalFile(file: string, dms: string, opts: VerifyOptions & { openFailed: (err: unknown) => Error }): Promise<VerifiedBackup & { checksum: string }> {
  const ring = windowRing(WINDOW, RING);
  const reader = await WindowReader.open(file, ring).catch((err: unknown) => {
    throw opts.openFailed(err);
  });
  const workers = new BackupWorkers(2);
  const check = new ArchiveCheck(dms, { sink: opts.sink, copy: true, signal: opts.signal });
  const plain = new SharedArrayBuffer(RING * PLAIN_SLOT);
  const size = reader.size;
  let attached = false;
  const ends: Promise<unknown>[] = [];
  try {
    workers.attachReadBack(ring.memory, WINDOW, { ring: plain, slotSize: PLAIN_SLOT });
    attached = true;
    const fileHash = workers.fileHash(1);
    const members = workers.memberSpans(1);
    /** The chunk session, once window 0's header opened with the DMS. */
    let chunks: Promise<ReturnType<BackupWorkers['chunkCheck']>> | null = null;
    const openChunks = (head: Buffer) =>
      openHeader(head, dms).then(({ payloadOffset, payloadKey }) => workers.chunkCheck(0, { size, offset: payloadOffset, key: payloadKey, decrypt: true }));
    const digests: Promise<string[]>[] = [];
    /** The main thread's part, window after window in file order. */
    let inOrder: Promise<void> = Promise.resolve();
    if (size === 0) await openChunks(Buffer.alloc(0));
    try {
      await reader.readAll({
        changed: () => new BackupVerifyError('The backup file changed while it was verified.'),
        signal: opts.signal,
        window: (slot, at, length) => {
          const hashed = fileHash.window(slot, at, length);
          // A copy: the header is parsed after scrypt, and the window is not ours to keep.
          chunks ??= openChunks(Buffer.from(Buffer.from(ring.memory, slot * WINDOW, Math.min(length, MAX_HEADER_SIZE + PAYLOAD_NONCE_SIZE))));
          const decrypted = chunks.then((c) => c.window(slot, at, length));
          decrypted.catch(() => undefined);
          const step = inOrder.then(async () => {
            const n = (await decrypted) ?? 0;
            const { spans, delivered } = check.feed(Buffer.from(plain, slot * PLAIN_SLOT, n));
            const hashedMembers = spans.length ? members.slot(slot, spans) : Promise.resolve([]);
            hashedMembers.catch(() => undefined);
            digests.push(hashedMembers);
            await delivered;
            await hashedMembers;
            opts.onProgress?.(at + length, size);
          });
          inOrder = step.catch(() => undefined);
          return Promise.all([hashed, step]).then(() => undefined);
        },
      });
    } finally {
      // Every session ends, also after a failure (their answers then do not matter).
      ends.push(fileHash.end(), members.end());
      if (chunks) ends.push((chunks as Promise<ReturnType<BackupWorkers['chunkCheck']>>).then((c) => c.end()));
      for (const e of ends) e.catch(() => undefined);
    }
    const [checksum, , totals] = (await Promise.all(ends)) as [string, undefined, { plainBytes: number } | undefined];
    if (!totals) throw new BackupVerifyError('The backup file holds no encrypted data.');
    const verified = await check.end((await Promise.all(digests)).flat());
    return { ...verified, checksum };
  } catch (err) {
    check.abort(err);
    throw err;
  } finally {
    if (attached) workers.detachReadBack();
    await reader.close();
    await workers.close().catch(() => undefined);
  }
}
