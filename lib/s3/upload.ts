import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { failureMessage, quoted, S3Error, toS3Error, type FailureContext } from './errors';

/**
 * Putting one object: a single PutObject when the body fits in one part, else
 * a multipart upload (CreateMultipartUpload, UploadPart × n,
 * CompleteMultipartUpload), with at most `concurrency` parts in flight and
 * `concurrency` + 1 parts in memory.
 *
 * The invariant: when put fails, for any reason (the source stream errors, a
 * part is refused, the connection breaks, the caller aborts, Complete fails),
 * no part remains: the parts in flight are awaited first, then the upload is
 * aborted, so ListMultipartUploads no longer shows it. Only when the abort
 * itself cannot reach the gateway does the upload stay; the S3Error then says
 * so and names it (incompleteUpload) for S3Store.abortIncompleteUploads().
 * The object appears under its key only when Complete succeeds (S3 publishes
 * a multipart object atomically), so a failed put never leaves a partial
 * object under its final name, nor replaces an older one.
 *
 * Written here rather than with @aws-sdk/lib-storage's Upload: after one part
 * fails, Upload's other workers keep reading and uploading the rest of the
 * source before it aborts; a failed abort replaces the original error; and
 * its abort signal rejects before the AbortMultipartUpload is sent.
 */

/** S3's minimum part size (all parts but the last). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's maximum part size. */
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
export const MAX_PARTS = 10_000;

export type PutBody = Buffer | Uint8Array | string | NodeJS.ReadableStream | AsyncIterable<Uint8Array | string>;

export type PutOptions = {
  contentType?: string;
  /** Cancels the upload; it is aborted on the gateway and put rejects with reason 'aborted'. */
  signal?: AbortSignal;
  /** Bytes stored so far, after each part (and once at the end of a single put). */
  onProgress?: (bytes: number) => void;
};

export type PutResult = { key: string; size: number; etag: string; parts: number };

export type UploadTarget = {
  client: S3Client;
  bucket: string;
  fullKey: string;
  partSize: number;
  concurrency: number;
  ctx: FailureContext;
};

/** The source failed while being read: the upload is abandoned with reason 'source_failed'. */
class SourceReadError extends Error {
  constructor(readonly source: unknown) {
    super('source read failed');
  }
}

function asBuffer(c: Uint8Array | string): Buffer {
  return typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}

/**
 * The body cut into parts of exactly partSize bytes, the last one shorter
 * (one empty part for an empty body, none after a last full one).
 */
async function* partsOf(body: PutBody, partSize: number): AsyncGenerator<Buffer> {
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const b = asBuffer(body);
    if (b.length === 0) yield b;
    for (let i = 0; i < b.length; i += partSize) yield b.subarray(i, i + partSize);
    return;
  }
  let chunks: Buffer[] = [];
  let have = 0;
  let yielded = false;
  for await (const c of body as AsyncIterable<Uint8Array | string>) {
    let buf = asBuffer(c);
    while (buf.length > 0) {
      const take = Math.min(partSize - have, buf.length);
      chunks.push(buf.subarray(0, take));
      have += take;
      buf = buf.subarray(take);
      if (have === partSize) {
        // concat copies: the part owns its bytes whatever the source does with its chunks later.
        const part = Buffer.concat(chunks, have);
        chunks = [];
        have = 0;
        yielded = true;
        yield part;
      }
    }
  }
  if (have > 0 || !yielded) yield Buffer.concat(chunks, have);
}

function sourceFailed(ctx: FailureContext, err: unknown): S3Error {
  const why = err instanceof Error ? err.message : String(err);
  return new S3Error('source_failed', failureMessage(ctx, `reading the data to upload failed (${quoted(why, ctx.secrets)}); nothing was stored`), {
    key: ctx.key,
    cause: err,
  });
}

export async function putObject(t: UploadTarget, body: PutBody, opts: PutOptions = {}): Promise<PutResult> {
  const { client, bucket, fullKey: Key, partSize, ctx } = t;
  const { signal } = opts;
  const ContentType = opts.contentType ?? 'application/octet-stream';
  const parts = partsOf(body, partSize);
  const next = async () => {
    try {
      return await parts.next();
    } catch (err) {
      throw new SourceReadError(err);
    }
  };
  const fail = (err: unknown): S3Error => {
    if (err instanceof SourceReadError) return sourceFailed(ctx, err.source);
    if (signal?.aborted) return toS3Error(Object.assign(new Error('aborted'), { name: 'AbortError' }), ctx);
    return toS3Error(err, ctx);
  };

  let first: IteratorResult<Buffer>;
  let second: IteratorResult<Buffer>;
  try {
    signal?.throwIfAborted();
    first = await next();
    second = first.done ? first : await next();
  } catch (err) {
    await parts.return(undefined).catch(() => undefined);
    throw fail(err);
  }

  if (first.done || second.done) {
    const data = first.done ? Buffer.alloc(0) : first.value;
    try {
      const r = await client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: data, ContentLength: data.length, ContentType }), { abortSignal: signal });
      opts.onProgress?.(data.length);
      return { key: ctx.key!, size: data.length, etag: r.ETag ?? '', parts: 1 };
    } catch (err) {
      throw fail(err);
    }
  }

  let uploadId: string;
  try {
    const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key, ContentType }), { abortSignal: signal });
    if (!created.UploadId) throw new Error('CreateMultipartUpload answered without an UploadId');
    uploadId = created.UploadId;
  } catch (err) {
    await parts.return(undefined).catch(() => undefined);
    throw fail(err);
  }

  const inFlight = new Set<Promise<void>>();
  const done: CompletedPart[] = [];
  let failure: { err: unknown } | null = null;
  let sent = 0;
  let size = 0;
  const uploadPart = (PartNumber: number, data: Buffer) => {
    const p: Promise<void> = client
      .send(new UploadPartCommand({ Bucket: bucket, Key, UploadId: uploadId, PartNumber, Body: data, ContentLength: data.length }), { abortSignal: signal })
      .then((r) => {
        if (!r.ETag) throw new Error(`UploadPart ${PartNumber} answered without an ETag`);
        done.push({ PartNumber, ETag: r.ETag });
        sent += data.length;
        opts.onProgress?.(sent);
      })
      .catch((err: unknown) => {
        failure ??= { err };
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  try {
    let current: Buffer = first.value;
    let lookahead: IteratorResult<Buffer> = second;
    for (let n = 1; ; n++) {
      if (n > MAX_PARTS) throw new S3Error('gateway_error', failureMessage(ctx, `the object needs more than ${MAX_PARTS} parts of ${partSize} bytes`), { key: ctx.key });
      size += current.length;
      uploadPart(n, current);
      if (lookahead.done) break;
      current = lookahead.value;
      // Read on only when a part may be sent: memory stays at concurrency + 1 parts.
      while (inFlight.size >= t.concurrency && !failure) await Promise.race(inFlight);
      if (failure) break;
      signal?.throwIfAborted();
      lookahead = await next();
    }
    await Promise.all(inFlight);
    if (failure) throw (failure as { err: unknown }).err;
    signal?.throwIfAborted();
    done.sort((a, b) => a.PartNumber! - b.PartNumber!);
    // Without the caller's signal: a cancel that lands while the gateway assembles the object would make put fail with
    // the object stored under its name all the same (the abort then finds no upload). Past this point the put succeeds.
    const r = await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: done } }));
    // Ceph RGW (16.2) answers Complete without an ETag; HEAD gives it, and shows the gateway put the object together whole.
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key }), { abortSignal: signal }).catch(() => null);
    if (head && head.ContentLength !== undefined && head.ContentLength !== size) {
      // Not kept under its final name.
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key })).catch(() => undefined);
      throw new S3Error('gateway_error', failureMessage(ctx, `the gateway assembled ${head.ContentLength} bytes from ${size} bytes of parts`), { key: ctx.key });
    }
    return { key: ctx.key!, size, etag: r.ETag || head?.ETag || '', parts: done.length };
  } catch (err) {
    const cause = fail(err);
    // Nothing may be in flight when the upload is aborted, or a late part could outlive it.
    await Promise.allSettled([...inFlight]);
    await parts.return(undefined).catch(() => undefined);
    try {
      // Without the caller's signal: a cancelled upload is still removed.
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId: uploadId }));
    } catch (abortErr) {
      const name = (abortErr as Error)?.name;
      if (name !== 'NoSuchUpload') {
        throw new S3Error(
          cause.reason,
          `${cause.message.replace(/\.$/, '')}; the parts already uploaded could not be removed and stay in the bucket until incomplete uploads are cleaned up.`,
          { key: ctx.key, s3Code: cause.s3Code, httpStatus: cause.httpStatus, requestId: cause.requestId, cause: cause.cause, incompleteUpload: { key: ctx.key!, uploadId } },
        );
      }
    }
    throw cause;
  }
}
