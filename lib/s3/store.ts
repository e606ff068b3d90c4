import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type GetObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { makeS3Client } from './client';
import { failureMessage, S3Error, toS3Error, type FailureContext } from './errors';
import { fullKey, fullPrefix, ObjectKeyError, relativeKey } from './object-key';
import { s3ConfigSchema, type S3Config, type S3ConfigInput } from './schemas';
import { DEFAULT_PART_SIZE, MAX_PART_SIZE, MIN_PART_SIZE, putObject, type PutBody, type PutOptions, type PutResult } from './upload';

/** An object in the store; `key` is relative to the configured folder. */
export type S3Object = { key: string; size: number; lastModified: Date; etag: string };

export type S3ObjectStream = S3Object & { contentType?: string; body: Readable };

export type IncompleteUploadInfo = { key: string; uploadId: string; initiated?: Date };

export type S3StoreOptions = {
  /** Multipart part size in bytes, at least 5 MiB (S3's minimum); default 8 MiB. Bodies up to this size are one PutObject. */
  partSize?: number;
  /** Parts uploaded at once; default 2. */
  concurrency?: number;
};

/** Where check() writes its probe object, under the folder. */
const PROBE_PREFIX = '.webconf-check-';

/**
 * An S3-compatible object store: one bucket, one folder in it. Every key the
 * store takes or returns is relative to that folder and cannot leave it (see
 * object-key.ts). Every failure is an S3Error (see errors.ts), never the SDK's
 * own error. Knows nothing of what is stored.
 */
export class S3Store {
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly folder: string;
  readonly #config: S3Config;
  readonly #client: S3Client;
  readonly #partSize: number;
  readonly #concurrency: number;

  constructor(config: S3ConfigInput, opts: S3StoreOptions = {}) {
    const parsed = s3ConfigSchema.safeParse(config);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new S3Error('invalid_config', `The S3 settings are not valid: ${issue.path.join('.') || 'settings'}: ${issue.message}`);
    }
    this.#config = parsed.data;
    this.endpoint = parsed.data.endpoint;
    this.region = parsed.data.region;
    this.bucket = parsed.data.bucket;
    this.folder = parsed.data.folder;
    const partSize = opts.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
      throw new S3Error('invalid_config', `The S3 part size must be a whole number of bytes from ${MIN_PART_SIZE} (5 MiB) to ${MAX_PART_SIZE} (5 GiB).`);
    }
    const concurrency = opts.concurrency ?? 2;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16) throw new S3Error('invalid_config', 'The S3 upload concurrency must be from 1 to 16.');
    this.#partSize = partSize;
    this.#concurrency = concurrency;
    this.#client = makeS3Client(parsed.data);
  }

  /** Releases the connections. The store cannot be used afterwards. */
  close(): void {
    this.#client.destroy();
  }

  #ctx(operation: string, key?: string, full?: string): FailureContext {
    return {
      endpoint: this.endpoint,
      bucket: this.bucket,
      operation,
      key,
      fullKey: full,
      connectTimeoutMs: this.#config.connectTimeoutMs,
      idleTimeoutMs: this.#config.idleTimeoutMs,
      secrets: [this.#config.secretAccessKey, this.#config.accessKeyId],
    };
  }

  #full(operation: string, key: string): string {
    try {
      return fullKey(this.folder, key);
    } catch (err) {
      if (err instanceof ObjectKeyError) {
        throw new S3Error('invalid_key', failureMessage(this.#ctx(operation), `the object name "${key}" is not allowed: ${err.problem}`), { key });
      }
      throw err;
    }
  }

  #prefix(operation: string, prefix: string): string {
    try {
      return fullPrefix(this.folder, prefix);
    } catch (err) {
      if (err instanceof ObjectKeyError) {
        throw new S3Error('invalid_key', failureMessage(this.#ctx(operation), `the prefix "${prefix}" is not allowed: ${err.problem}`));
      }
      throw err;
    }
  }

  /**
   * The bucket answers and this key may write, read and delete in the folder:
   * a small probe object is written, read back, compared and removed.
   */
  async check(): Promise<void> {
    const key = `${PROBE_PREFIX}${crypto.randomBytes(8).toString('hex')}`;
    const full = this.#full('checking', key);
    const ctx = this.#ctx('checking access by writing', key, full);
    const probe = crypto.randomBytes(64);
    try {
      await this.#client.send(new PutObjectCommand({ Bucket: this.bucket, Key: full, Body: probe, ContentLength: probe.length }));
    } catch (err) {
      throw toS3Error(err, ctx);
    }
    let failure: unknown = null;
    try {
      const back = await this.#readAll(key, full, this.#ctx('checking access by reading back', key, full));
      if (!back.equals(probe)) {
        failure = new S3Error('verification_failed', failureMessage(this.#ctx('checking', key, full), 'the object read back differs from the one written'), { key });
      }
    } catch (err) {
      failure = err;
    }
    // Removed even when reading failed; the reading failure is the answer then.
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: full }));
    } catch (err) {
      failure ??= toS3Error(err, this.#ctx('checking access by deleting', key, full));
    }
    if (failure) throw failure;
  }

  async #readAll(key: string, full: string, ctx: FailureContext): Promise<Buffer> {
    const obj = await this.#get(key, full, ctx, undefined);
    const chunks: Buffer[] = [];
    for await (const c of obj.body) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /** Stores the body under `key` (replacing an object of that name only once it is complete). */
  async put(key: string, body: PutBody, opts: PutOptions = {}): Promise<PutResult> {
    const full = this.#full('writing', key);
    return putObject(
      { client: this.#client, bucket: this.bucket, fullKey: full, partSize: this.#partSize, concurrency: this.#concurrency, ctx: this.#ctx('writing', key, full) },
      body,
      opts,
    );
  }

  /**
   * The objects whose key (relative to the folder) starts with `prefix`, one
   * page (ListObjectsV2, at most `pageSize` keys, the gateway's maximum 1000
   * when not given) at a time, in key order, through continuation tokens.
   */
  async *listPages(prefix = '', opts: { pageSize?: number; signal?: AbortSignal } = {}): AsyncGenerator<S3Object[]> {
    const Prefix = this.#prefix('listing', prefix);
    const ctx = this.#ctx(prefix ? `listing "${Prefix}"` : this.folder ? `listing the folder "${this.folder}"` : 'listing the bucket');
    let ContinuationToken: string | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix, MaxKeys: opts.pageSize, ContinuationToken }), {
          abortSignal: opts.signal,
        });
      } catch (err) {
        throw toS3Error(err, ctx);
      }
      const objects: S3Object[] = [];
      for (const o of page.Contents ?? []) {
        const key = o.Key === undefined ? null : relativeKey(this.folder, o.Key);
        if (key === null) continue;
        objects.push({ key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0), etag: o.ETag ?? '' });
      }
      yield objects;
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && !ContinuationToken) {
        throw new S3Error('gateway_error', failureMessage(ctx, 'the gateway said the listing goes on but gave no continuation token'));
      }
    } while (ContinuationToken);
  }

  /** Every object under `prefix` (all pages). */
  async list(prefix = '', opts: { pageSize?: number; signal?: AbortSignal } = {}): Promise<S3Object[]> {
    const all: S3Object[] = [];
    for await (const page of this.listPages(prefix, opts)) all.push(...page);
    return all;
  }

  /**
   * The object as a stream. A failure while it streams (the connection
   * breaks, the gateway stops sending) makes the stream fail with an S3Error;
   * a body shorter than its Content-Length fails as connection_lost.
   */
  async get(key: string, opts: { signal?: AbortSignal } = {}): Promise<S3ObjectStream> {
    const full = this.#full('reading', key);
    return this.#get(key, full, this.#ctx('reading', key, full), opts.signal);
  }

  async #get(key: string, full: string, ctx: FailureContext, signal: AbortSignal | undefined): Promise<S3ObjectStream> {
    let r: GetObjectCommandOutput;
    try {
      r = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: full }), { abortSignal: signal });
    } catch (err) {
      throw toS3Error(err, ctx);
    }
    const source = r.Body as Readable | undefined;
    const contentLength = r.ContentLength;
    const size = contentLength ?? 0;
    async function* checked() {
      let got = 0;
      try {
        if (source) {
          for await (const c of source) {
            got += (c as Buffer).length;
            yield c as Buffer;
          }
        }
      } catch (err) {
        throw toS3Error(err, ctx);
      }
      if (contentLength !== undefined && got !== size) {
        throw new S3Error('connection_lost', failureMessage(ctx, `the download ended after ${got} of ${size} bytes`), { key });
      }
    }
    return {
      key,
      size,
      lastModified: r.LastModified ?? new Date(0),
      etag: r.ETag ?? '',
      contentType: r.ContentType,
      // Destroying this stream early ends the generator, which destroys the HTTP response.
      body: Readable.from(checked(), { objectMode: false }),
    };
  }

  /** The object's size, date and ETag, or null when there is none (a missing bucket also gives null: HEAD answers 404 without a reason). */
  async head(key: string): Promise<S3Object | null> {
    const full = this.#full('looking up', key);
    try {
      const r = await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: full }));
      return { key, size: r.ContentLength ?? 0, lastModified: r.LastModified ?? new Date(0), etag: r.ETag ?? '' };
    } catch (err) {
      const e = toS3Error(err, this.#ctx('looking up', key, full));
      if (e.reason === 'not_found') return null;
      throw e;
    }
  }

  /** Removes the object; removing one that does not exist succeeds (S3 answers 204 either way). */
  async delete(key: string): Promise<void> {
    const full = this.#full('deleting', key);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: full }));
    } catch (err) {
      throw toS3Error(err, this.#ctx('deleting', key, full));
    }
  }

  /** Multipart uploads started under `prefix` in the folder and neither completed nor aborted. */
  async incompleteUploads(prefix = ''): Promise<IncompleteUploadInfo[]> {
    const Prefix = this.#prefix('listing incomplete uploads', prefix);
    const ctx = this.#ctx('listing incomplete uploads');
    const found: IncompleteUploadInfo[] = [];
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.#client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix, KeyMarker, UploadIdMarker }));
      } catch (err) {
        throw toS3Error(err, ctx);
      }
      for (const u of page.Uploads ?? []) {
        const key = u.Key === undefined ? null : relativeKey(this.folder, u.Key);
        if (key !== null && u.UploadId) found.push({ key, uploadId: u.UploadId, initiated: u.Initiated });
      }
      if (!page.IsTruncated || (!page.NextKeyMarker && !page.NextUploadIdMarker)) return found;
      KeyMarker = page.NextKeyMarker;
      UploadIdMarker = page.NextUploadIdMarker;
    }
  }

  /**
   * Aborts the incomplete uploads under `prefix` (only those started before
   * `olderThan` when given, so that uploads running now are left alone; and
   * only those whose key `match` accepts when given, so that a caller sharing
   * the folder leaves other writers' uploads alone), which removes their
   * parts. Returns how many were aborted.
   */
  async abortIncompleteUploads(opts: { prefix?: string; olderThan?: Date; match?: (key: string) => boolean } = {}): Promise<number> {
    let n = 0;
    for (const u of await this.incompleteUploads(opts.prefix ?? '')) {
      if (opts.olderThan && u.initiated && u.initiated >= opts.olderThan) continue;
      if (opts.match && !opts.match(u.key)) continue;
      const full = this.#full('aborting the incomplete upload of', u.key);
      try {
        await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: full, UploadId: u.uploadId }));
        n++;
      } catch (err) {
        const e = toS3Error(err, this.#ctx('aborting the incomplete upload of', u.key, full));
        if (e.s3Code !== 'NoSuchUpload') throw e;
      }
    }
    return n;
  }
}
