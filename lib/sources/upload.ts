import type { Readable } from 'node:stream';
import { VERSION_LINE } from '../age/format';
import { formatSize } from '../storage/format-size';
import { abortedError, SourceError } from './errors';
import { withTempFile } from './temp-file';

/**
 * A backup file uploaded through the browser, streamed to a temp file.
 *
 * How the browser sends it: the file itself as the raw request body, with
 * Content-Type application/octet-stream, and its name (percent-encoded UTF-8,
 * for display and the audit only) in the header UPLOAD_FILE_NAME_HEADER:
 *
 *   fetch(url, { method: 'POST', body: file, headers: {
 *     'content-type': 'application/octet-stream',
 *     [UPLOAD_FILE_NAME_HEADER]: encodeURIComponent(file.name) } })
 *
 * (or XMLHttpRequest, whose upload.onprogress drives the progress bar). Not
 * multipart/form-data: a route handler's request.formData() reads the whole
 * body into memory, and a backup file can be larger than the appliance's RAM;
 * multipart would need a streaming parser (busboy) only to find the one part
 * that a raw body already is. A raw body is read here as it arrives, so it is
 * never held in memory, the size limit and the age check stop it early, and
 * Content-Length (which browsers send for a File body) gives the total.
 *
 * The first bytes are checked before anything is written: an age v1 file
 * starts with the line "age-encryption.org/v1\n", so a body that is not one
 * is refused at its first byte that differs, and one shorter than that line
 * as soon as it ends. Refused or failed, the temp file is removed and the
 * body is no longer read (its reader is cancelled; the route answers).
 */
export const UPLOAD_FILE_NAME_HEADER = 'x-webconf-file-name';

const AGE_MAGIC = Buffer.from(`${VERSION_LINE}\n`, 'latin1');

export type UploadBody = ReadableStream<Uint8Array> | Readable | AsyncIterable<Uint8Array>;

export type ReceiveUploadOptions = {
  /** Folder the temp file is created in (must exist). */
  dir: string;
  /** Refuse (too_large) a body longer than this. */
  maxBytes: number;
  signal?: AbortSignal;
  /** Called after each write: bytes so far, and the total when the caller knows it (Content-Length). */
  onProgress?: (bytes: number, total?: number) => void;
  /** The announced length (Content-Length), if any: a larger one is refused before reading. */
  total?: number;
};

export type ReceivedFile = {
  /** The temp file (mode 0600, fsync'ed); the caller's to rename or remove. */
  path: string;
  size: number;
  /** SHA-256 of the file, hex. */
  sha256: string;
};

export async function receiveUpload(body: UploadBody, opts: ReceiveUploadOptions): Promise<ReceivedFile> {
  const { signal } = opts;
  if (signal?.aborted) throw abortedError();
  const iterator = iterate(body);
  let aborted = false;
  // A pending read of a stalled client is not interrupted by iterator.return() (it queues behind
  // the read), so each read races the signal.
  let onAbort = () => {
    aborted = true;
  };
  const abortedRead = new Promise<never>((_, reject) => {
    onAbort = () => {
      aborted = true;
      reject(abortedError());
    };
  });
  abortedRead.catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const done = await withTempFile(opts.dir, { maxBytes: opts.maxBytes, prefix: 'upload', describe: 'The uploaded file' }, async (file) => {
      if (opts.total !== undefined) file.checkAnnouncedSize(opts.total);
      let head = Buffer.alloc(0);
      let checked = false;
      for (;;) {
        const next = signal ? await Promise.race([iterator.next(), abortedRead]) : await iterator.next();
        if (aborted || signal?.aborted) throw abortedError();
        if (next.done) break;
        let chunk = toBuffer(next.value);
        if (!checked) {
          head = Buffer.concat([head, chunk]);
          const n = Math.min(head.length, AGE_MAGIC.length);
          if (!head.subarray(0, n).equals(AGE_MAGIC.subarray(0, n))) throw notAge();
          if (head.length < AGE_MAGIC.length) continue;
          checked = true;
          chunk = head;
          head = Buffer.alloc(0);
        }
        await file.write(chunk);
        opts.onProgress?.(file.bytes, opts.total);
      }
      if (!checked) throw head.length === 0 ? emptyUpload() : notAge();
      // A body that ended before its announced length (a client gone, a proxy that cut it) is not the file.
      if (opts.total !== undefined && file.bytes !== opts.total) throw incomplete(file.bytes, opts.total);
    });
    return { path: done.path, size: done.size, sha256: done.sha256 };
  } catch (err) {
    // Stop reading the rest of a refused body (not awaited: after an abort it waits for the pending read).
    void Promise.resolve(iterator.return?.(undefined)).catch(() => undefined);
    if (aborted || signal?.aborted) throw abortedError();
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function iterate(body: UploadBody): AsyncIterator<unknown> {
  // A web ReadableStream (a route handler's request.body) and a Node Readable are both async iterables in Node 20.
  const iterable = body as AsyncIterable<unknown>;
  if (typeof iterable[Symbol.asyncIterator] !== 'function') throw new TypeError('receiveUpload needs a stream of bytes');
  return iterable[Symbol.asyncIterator]();
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError('an upload body yields bytes');
}

function notAge(): SourceError {
  return new SourceError('not_age', 'The uploaded file is not a Webconf backup: it is not an age-encrypted file (it must start with "age-encryption.org/v1"). Nothing was kept.');
}

function incomplete(got: number, total: number): SourceError {
  return new SourceError('connection_lost', `The upload ended after ${formatSize(got)} of ${formatSize(total)}: the file did not arrive whole. Nothing was kept; upload it again.`);
}

function emptyUpload(): SourceError {
  return new SourceError('not_age', 'The upload was empty: choose a backup file (.age) to restore. Nothing was kept.');
}
