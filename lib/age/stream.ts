import crypto from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { openSealed, sealChunksInto, setChunkNonce } from './chunks';
import { AgePayloadError } from './errors';
import { CHUNK_NONCE_SIZE, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, FILE_KEY_SIZE, PAYLOAD_KEY_INFO, PAYLOAD_NONCE_SIZE, TAG_SIZE } from './format';

/**
 * The age payload (layout: format.ts): a 16-byte nonce, then STREAM chunks of
 * ChaCha20-Poly1305. Both directions are Node Transforms holding at most one
 * chunk (plus what the writer hands in one write), whatever the file size.
 */

/** payload key = HKDF-SHA-256(ikm = file key, salt = nonce, info = "payload"). */
export function derivePayloadKey(fileKey: Uint8Array, nonce: Uint8Array): Buffer {
  if (fileKey.length !== FILE_KEY_SIZE) throw new TypeError('the file key is 16 bytes');
  if (nonce.length !== PAYLOAD_NONCE_SIZE) throw new TypeError('the payload nonce is 16 bytes');
  return Buffer.from(crypto.hkdfSync('sha256', fileKey, nonce, PAYLOAD_KEY_INFO, 32));
}

/** The 12-byte chunk nonce: 11-byte big-endian counter || last-chunk flag. */
class ChunkNonce {
  readonly bytes = Buffer.alloc(CHUNK_NONCE_SIZE);
  counter = 0;

  set(last: boolean): Buffer {
    return setChunkNonce(this.bytes, this.counter, last);
  }

  next(): void {
    if (this.counter >= Number.MAX_SAFE_INTEGER) throw new RangeError('age STREAM chunk counter overflow');
    this.counter++;
  }
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError('age streams take bytes');
}

export interface EncryptStreamOptions {
  /** The 16-byte payload nonce; random by default. Fixed only for tests. */
  nonce?: Uint8Array;
  /** Bytes emitted before the payload (the header, for a whole file). */
  prefix?: Uint8Array;
}

/** Plaintext in, payload out: nonce, then 64 KiB chunks; the last one is sealed when the input ends. */
export class EncryptStream extends Transform {
  private readonly key: Buffer;
  private readonly nonce = new ChunkNonce();
  private readonly preamble: Buffer;
  private started = false;
  /** Plaintext not sealed yet: a full chunk waits here until we know whether more follows. */
  private readonly pending = Buffer.allocUnsafe(CHUNK_SIZE);
  private pendingLength = 0;

  constructor(fileKey: Uint8Array, opts: EncryptStreamOptions = {}) {
    super();
    const payloadNonce = opts.nonce ? Buffer.from(opts.nonce) : crypto.randomBytes(PAYLOAD_NONCE_SIZE);
    this.key = derivePayloadKey(fileKey, payloadNonce);
    this.preamble = opts.prefix ? Buffer.concat([opts.prefix, payloadNonce]) : payloadNonce;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.push(this.preamble);
  }

  private sealChunk(plaintext: Buffer, last: boolean): void {
    // Ciphertext and tag go out as two buffers: no copy of every chunk into a third.
    const cipher = crypto.createCipheriv('chacha20-poly1305', this.key, this.nonce.set(last), { authTagLength: TAG_SIZE });
    this.push(cipher.update(plaintext));
    cipher.final();
    this.push(cipher.getAuthTag());
    this.nonce.next();
  }

  override _transform(data: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      const input = toBuffer(data);
      this.start();
      let offset = 0;
      while (offset < input.length) {
        if (this.pendingLength === CHUNK_SIZE) {
          // More plaintext follows, so the waiting full chunk is not the last.
          this.sealChunk(this.pending, false);
          this.pendingLength = 0;
        }
        if (this.pendingLength === 0 && input.length - offset > CHUNK_SIZE) {
          // A whole chunk with more after it, straight from the input: no copy.
          this.sealChunk(input.subarray(offset, offset + CHUNK_SIZE), false);
          offset += CHUNK_SIZE;
          continue;
        }
        const n = Math.min(CHUNK_SIZE - this.pendingLength, input.length - offset);
        input.copy(this.pending, this.pendingLength, offset, offset + n);
        this.pendingLength += n;
        offset += n;
      }
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.start();
      // The last chunk: full, partial, or empty (only if the whole payload is empty).
      this.sealChunk(this.pending.subarray(0, this.pendingLength), true);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }
}

/**
 * Seals whole 64 KiB chunks at counters first, first + 1, ..., none of them
 * last: the reserved start of a payload whose prefix is written last.
 */
export function sealChunks(fileKey: Uint8Array, payloadNonce: Uint8Array, first: number, plaintext: Buffer): Buffer {
  if (plaintext.length % CHUNK_SIZE !== 0) throw new RangeError('reserved chunks are whole 64 KiB chunks');
  const out = Buffer.allocUnsafe((plaintext.length / CHUNK_SIZE) * ENCRYPTED_CHUNK_SIZE);
  sealChunksInto(derivePayloadKey(fileKey, payloadNonce), plaintext, out, 0, first, -1);
  return out;
}

export function createEncryptStream(fileKey: Uint8Array, opts: EncryptStreamOptions = {}): EncryptStream {
  return new EncryptStream(fileKey, opts);
}

export interface DecryptStreamOptions {
  /**
   * The payload nonce, when the caller has already read it; the input is then
   * the chunks alone. Without it the stream reads the nonce first.
   */
  nonce?: Uint8Array;
}

/**
 * Payload in, plaintext out. A chunk is released only once it authenticates,
 * and only once the next byte (or the end of input) says whether it must be
 * the last one. The first failure is final: the stream errors with an
 * AgePayloadError and releases nothing more. Plaintext released before the
 * failure is authentic and in order (as the age test kit expects).
 */
export class DecryptStream extends Transform {
  private readonly fileKey: Buffer;
  private key: Buffer | null = null;
  private readonly nonce = new ChunkNonce();
  /** Input not decrypted yet; at most one chunk plus the last write. */
  private queue: Buffer[] = [];
  private queued = 0;
  /** For a chunk that spans writes. */
  private readonly scratch = Buffer.allocUnsafe(ENCRYPTED_CHUNK_SIZE);
  private failure: Error | null = null;
  private finished = false;

  constructor(fileKey: Uint8Array, opts: DecryptStreamOptions = {}) {
    super();
    this.fileKey = Buffer.from(fileKey);
    if (opts.nonce) this.key = derivePayloadKey(this.fileKey, opts.nonce);
  }

  /** The first n queued bytes (n <= queued), without a copy when they are in one buffer. */
  private takeBytes(n: number): Buffer {
    const head = this.queue[0]!;
    let out: Buffer;
    if (head.length >= n) {
      out = head.subarray(0, n);
      if (head.length === n) this.queue.shift();
      else this.queue[0] = head.subarray(n);
    } else {
      out = this.scratch.subarray(0, n);
      let filled = 0;
      while (filled < n) {
        const buf = this.queue[0]!;
        const m = Math.min(buf.length, n - filled);
        buf.copy(out, filled, 0, m);
        filled += m;
        if (m === buf.length) this.queue.shift();
        else this.queue[0] = buf.subarray(m);
      }
    }
    this.queued -= n;
    return out;
  }

  private fail(err: Error): never {
    this.failure = err;
    throw err;
  }

  /** A chunk with more input after it: it must be a full non-final chunk. */
  private openInner(chunk: Buffer, key: Buffer): void {
    const plaintext = openSealed(key, this.nonce.set(false), chunk);
    if (plaintext !== null) {
      this.push(plaintext);
      this.nonce.next();
      return;
    }
    const final = openSealed(key, this.nonce.set(true), chunk);
    if (final !== null) {
      // A valid final chunk (an authentic end of the file), but data follows it.
      this.push(final);
      this.fail(new AgePayloadError('trailing-data', this.nonce.counter));
    }
    this.fail(new AgePayloadError('auth-failed', this.nonce.counter));
  }

  /** What is left at the end of input: it must be the final chunk. */
  private openLast(key: Buffer): void {
    const counter = this.nonce.counter;
    if (this.queued === 0) this.fail(new AgePayloadError('truncated', counter));
    const chunk = this.takeBytes(this.queued);
    if (chunk.length < TAG_SIZE) this.fail(new AgePayloadError('truncated', counter));
    const plaintext = openSealed(key, this.nonce.set(true), chunk);
    if (plaintext !== null) {
      if (plaintext.length === 0 && counter > 0) this.fail(new AgePayloadError('empty-final-chunk', counter));
      this.push(plaintext);
      this.finished = true;
      return;
    }
    if (chunk.length === ENCRYPTED_CHUNK_SIZE) {
      const inner = openSealed(key, this.nonce.set(false), chunk);
      if (inner !== null) {
        // An authentic non-final chunk, and then the input ends: cut at a chunk boundary.
        this.push(inner);
        this.fail(new AgePayloadError('truncated', counter + 1));
      }
    }
    this.fail(new AgePayloadError('auth-failed', counter));
  }

  override _transform(data: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.failure) return callback(this.failure);
    try {
      const input = toBuffer(data);
      if (input.length === 0) return callback();
      this.queue.push(input);
      this.queued += input.length;
      if (this.key === null) {
        if (this.queued < PAYLOAD_NONCE_SIZE) return callback();
        this.key = derivePayloadKey(this.fileKey, this.takeBytes(PAYLOAD_NONCE_SIZE));
      }
      while (this.queued > ENCRYPTED_CHUNK_SIZE) this.openInner(this.takeBytes(ENCRYPTED_CHUNK_SIZE), this.key);
      callback();
    } catch (err) {
      this.failure ??= err as Error;
      callback(this.failure);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.failure) return callback(this.failure);
    try {
      if (this.finished) return callback();
      if (this.key === null) this.fail(new AgePayloadError('truncated', 0));
      this.openLast(this.key);
      callback();
    } catch (err) {
      this.failure ??= err as Error;
      callback(this.failure);
    }
  }
}

export function createDecryptStream(fileKey: Uint8Array, opts: DecryptStreamOptions = {}): DecryptStream {
  return new DecryptStream(fileKey, opts);
}
