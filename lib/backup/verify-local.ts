import { openHeader } from '../age';
import { ChunkLayout } from '../age/chunks';
import { CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, MAX_HEADER_SIZE, PAYLOAD_NONCE_SIZE } from '../age/format';
import { WindowReader, windowRing } from '../storage/window-reader';
import { BackupWorkers } from './backup-workers';
import type { BackupKeyCache } from './key-cache';
import { ArchiveCheck, BackupVerifyError, type MemberSink, type VerifiedBackup } from './verify-archive';

/**
 * Full verification of a backup file on this machine (a local folder, a
 * mounted USB drive) on both cores, reading the file once:
 *
 *   main thread  reads the file in 4 MiB windows into a ring of shared
 *                memory (window-reader.ts, direct I/O where possible) and
 *                copies each window's first 64 KiB behind the window before
 *                it (so that the chunks starting in a window are whole in its
 *                slot); from window 0 it opens the age header with the DMS
 *                (scrypt, unless the key cache has its key); it walks the tar structure of each decrypted
 *                window (ArchiveCheck: manifest, signature, names, sizes)
 *                and copies members' bytes to the sinks
 *   worker 0     decrypts even windows' chunks into the plain ring's slot of
 *                the same index, and hashes the members' bytes there
 *   worker 1     decrypts odd windows' chunks, and hashes the file (its
 *                checksum)
 *
 * Decryption is the one part that splits (each chunk opens on its own), so
 * both cores carry about the same load: the file's SHA-256 and the members'
 * are each one sequential hash. A window and its plain slot are reused once
 * everyone is done with them and the sinks took their bytes, so memory is
 * the two rings whatever the file's size, and a slow sink slows the reads.
 */
const WINDOW = 4 << 20;
const RING = 6;
/** Spare bytes behind each window: the head of the next one, enough for a chunk that starts in the window to end in it. */
const TAIL = ENCRYPTED_CHUNK_SIZE - 1;
/** The chunks starting in a window hold at most WINDOW + one chunk of plaintext. */
const PLAIN_SLOT = WINDOW + CHUNK_SIZE;
const FILE_HASH_WORKER = 1;
const MEMBERS_WORKER = 0;

export type VerifyOptions = {
  signal?: AbortSignal;
  sink?: MemberSink;
  /** Bytes of the stored file read and checked so far, of its size; in order, after each window. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /** Keys derived from the DMS before (key-cache.ts): the file then opens without scrypt. */
  keyCache?: BackupKeyCache;
  /**
   * Two worker threads the caller started beforehand (and closes): starting them takes
   * ~130 ms here (a thread, tsx, the modules), which a restore spends reading the
   * details meanwhile. Without them the local path starts its own.
   */
  workers?: BackupWorkers;
  /**
   * The stored file's SHA-256 as the backup history recorded it, for a file the caller
   * knows to be that run's (a restore: same name, size, appliance and creation time): it
   * is answered as `checksum` and the file is not hashed again. Nothing rests on it for
   * integrity: every chunk is authenticated and every member hashed all the same, and an
   * authenticated file holds exactly the bytes its writer encrypted. The worker that would
   * hash the file then decrypts every window, the other hashes the members: their loads
   * are about the same.
   */
  recordedChecksum?: string;
};

type Chunks = { layout: ChunkLayout; session: ReturnType<BackupWorkers['chunkWindows']> };

/** Verifies the backup file at `file` with the DMS; `openFailed` puts a failure to open it in words. */
export async function verifyLocalFile(file: string, dms: string, opts: VerifyOptions & { openFailed: (err: unknown) => Error }): Promise<VerifiedBackup & { checksum: string }> {
  const ring = windowRing(WINDOW, RING, TAIL);
  const reader = await WindowReader.open(file, ring).catch((err: unknown) => {
    throw opts.openFailed(err);
  });
  const workers = opts.workers ?? new BackupWorkers(2);
  const check = new ArchiveCheck(dms, { sink: opts.sink, reused: true, signal: opts.signal, keyCache: opts.keyCache });
  const plain = new SharedArrayBuffer(RING * PLAIN_SLOT);
  const size = reader.size;
  const memory = Buffer.from(ring.memory);
  let attached = false;
  const ends: Promise<unknown>[] = [];
  try {
    workers.attachReadBack(ring.memory, ring.stride, { ring: plain, slotSize: PLAIN_SLOT });
    attached = true;
    const fileHash = opts.recordedChecksum ? null : workers.fileHash(FILE_HASH_WORKER);
    /** Which worker decrypts window `index`: both in turn, or the one that hashes no file. */
    const decryptingWorker = (index: number) => (fileHash ? index % 2 : FILE_HASH_WORKER);
    const members = workers.memberSpans(MEMBERS_WORKER);
    /** The chunks' layout and their decryption, once window 0's header opened with the DMS. */
    let chunks: Promise<Chunks> | null = null;
    const openChunks = (head: Buffer): Promise<Chunks> =>
      openHeader(head, dms, { keyCache: opts.keyCache?.files }).then(({ payloadOffset, payloadKey }) => ({
        layout: new ChunkLayout(payloadOffset, size),
        session: workers.chunkWindows({ size, offset: payloadOffset, key: payloadKey }),
      }));
    /** The window before, waiting for this one's head: then its chunks are whole in its slot. */
    let waiting: { slot: number; length: number; ready: (available: number) => void; stop: (err: unknown) => void } | null = null;
    const digests: Promise<string[]>[] = [];
    let chunksOpened = 0;
    /** The main thread's part, window after window in file order. */
    let inOrder: Promise<void> = Promise.resolve();
    if (size === 0) await openChunks(Buffer.alloc(0));
    try {
      await reader.readAll({
        changed: () => new BackupVerifyError('The backup file changed while it was verified.'),
        signal: opts.signal,
        // The next window will not come.
        onFailure: (err) => waiting?.stop(err),
        window: (slot, at, length) => {
          const hashed = fileHash?.window(slot, at, length);
          // A copy: the header is parsed after scrypt.
          chunks ??= openChunks(Buffer.from(memory.subarray(slot * ring.stride, slot * ring.stride + Math.min(length, MAX_HEADER_SIZE + PAYLOAD_NONCE_SIZE))));
          if (waiting) {
            const head = Math.min(TAIL, length);
            memory.copy(memory, waiting.slot * ring.stride + waiting.length, slot * ring.stride, slot * ring.stride + head);
            waiting.ready(waiting.length + head);
            waiting = null;
          }
          const available = new Promise<number>((ready, stop) => {
            if (at + length >= size) ready(length);
            else waiting = { slot, length, ready, stop };
          });
          const index = at / WINDOW;
          const decrypted = Promise.all([chunks, available]).then(([c, bytes]) => c.session.window(decryptingWorker(index), slot, at, length, bytes));
          decrypted.catch(() => undefined);
          const step = inOrder.then(async () => {
            const opened = await decrypted;
            chunksOpened += opened.chunks;
            const { spans, delivered } = check.feed(Buffer.from(plain, slot * PLAIN_SLOT, opened.plainBytes));
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
      ends.push(fileHash ? fileHash.end() : Promise.resolve(opts.recordedChecksum!), members.end());
      if (chunks) ends.push((chunks as Promise<Chunks>).then((c) => c.session.end()));
      for (const e of ends) e.catch(() => undefined);
    }
    const [checksum] = (await Promise.all(ends)) as [string];
    const { layout } = await chunks!;
    // Every chunk opened once: the file's size at the start was its size throughout.
    if (chunksOpened !== layout.count) throw new BackupVerifyError('The backup file changed while it was verified.');
    const verified = await check.end((await Promise.all(digests)).flat());
    return { ...verified, checksum };
  } catch (err) {
    check.abort(err);
    throw err;
  } finally {
    if (attached) workers.detachReadBack();
    await reader.close();
    if (!opts.workers) await workers.close().catch(() => undefined);
  }
}
