import crypto from 'node:crypto';
import { pipeline, Readable } from 'node:stream';
import { AgeHeaderError } from './errors';
import {
  CHUNK_SIZE,
  DEFAULT_LOG_N,
  FILE_KEY_SIZE,
  MAX_HEADER_SIZE,
  PAYLOAD_NONCE_SIZE,
  SCRYPT_BODY_SIZE,
  SCRYPT_SALT_SIZE,
  SCRYPT_TYPE,
  TAG_SIZE,
} from './format';
import {
  encodeBase64,
  parseCompleteHeader,
  parseHeader,
  serializeHeader,
  verifyHeaderMac,
  type Header,
  type ParsedHeader,
  type Stanza,
} from './header';
import { unwrapFileKey, wrapFileKey, type Passphrase } from './scrypt';
import { sealChunksInto } from './chunks';
import { createDecryptStream, createEncryptStream, derivePayloadKey, sealChunks, type DecryptStream, type EncryptStream } from './stream';
import { unwrapFileKeyWithIdentities, wrapFileKeyToRecipient } from './x25519';
import type { X25519Identity, X25519Recipient } from './x25519-keys';

/**
 * age v1 files, streamed (layout: format.ts), in passphrase (scrypt) mode or
 * to X25519 recipients.
 *
 *   // encrypt: plaintext → age file
 *   await pipeline(source, await encryptWithPassphrase(dms), fs.createWriteStream(out));
 *   await pipeline(source, encryptToRecipients([parseX25519Recipient('age1...')]), sink);
 *
 *   // decrypt: header, passphrase or identity and header MAC are checked before this resolves
 *   const plaintext = await decryptWithPassphrase(fs.createReadStream(file), dms);
 *   const plaintext = await decryptWithIdentities(fs.createReadStream(file), await readIdentityFile(keyFile));
 *   await pipeline(plaintext, sink);
 *
 * Each file gets its own random file key. In passphrase mode each file also
 * gets its own scrypt salt, as the format requires, so each file costs one
 * scrypt run (2^18 by default) to write and one to read (unless a
 * FileKeyCache remembers the file's key). Bundle many small files into one
 * archive rather than encrypting them one by one. To recipients a file costs
 * one X25519 per recipient, and writing needs only the public keys.
 */

export * from './errors';
export { DEFAULT_LOG_N, MAX_LOG_N } from './format';
export type { Header, Stanza } from './header';
export type { Passphrase } from './scrypt';
export { createDecryptStream, createEncryptStream, derivePayloadKey, sealChunks } from './stream';
export { ChunkReader, openChunk, sealChunksInto, type ChunkReaderTotals } from './chunks';
export { wrapFileKey } from './scrypt';
export { wrapFileKeyToRecipient, unwrapFileKeyWithIdentities } from './x25519';
export { X25519Identity, X25519Recipient, generateX25519Identity, parseX25519Identity, parseX25519Recipient } from './x25519-keys';
export { formatIdentityFile, parseIdentityFile, readIdentityFile, writeIdentityFile } from './identity-file';

/** Bytes in: a stream, any async iterable of bytes, or one buffer. */
export type AgeSource = Readable | AsyncIterable<Uint8Array> | Uint8Array;

export interface EncryptOptions {
  /** log2 of the scrypt work factor, 1..20; default 18. Lower only in tests. */
  logN?: number;
}

export interface DecryptOptions {
  /** Refuse files asking for more scrypt work than 2^maxLogN (checked before computing); default and maximum 20. */
  maxLogN?: number;
  /** File keys remembered from earlier scrypt runs (see FileKeyCache). */
  keyCache?: FileKeyCache;
}

/**
 * A place that remembers the file key a passphrase unwrapped from a header's
 * stanzas, so that opening the same file again with the same passphrase
 * needs no scrypt. The format has no such thing: the file key is fresh per
 * file, and only its writer or someone who ran scrypt knows it. A remembered
 * key is used only when the header MAC verifies under it (the MAC covers the
 * stanzas, so an unchanged header under the same key still unwraps with the
 * passphrase it was learned with); otherwise scrypt runs as without a cache.
 * The cache must tell passphrases apart: a key learned with one passphrase
 * must never be answered for another. Failures inside it count as a miss.
 */
export interface FileKeyCache {
  get(passphrase: Passphrase, stanzas: readonly Stanza[]): Uint8Array | null;
  set(passphrase: Passphrase, stanzas: readonly Stanza[], fileKey: Uint8Array): void;
}

/** The file key of this header for this passphrase, its header MAC verified: from the cache when it holds it, by scrypt otherwise. */
export async function openFileKey(passphrase: Passphrase, header: Header, opts: DecryptOptions): Promise<Buffer> {
  const cache = opts.keyCache;
  const remembered = cache ? safely(() => cache.get(passphrase, header.stanzas)) : null;
  if (remembered) {
    const key = Buffer.from(remembered);
    try {
      verifyHeaderMac(key, header);
      return key;
    } catch {
      key.fill(0);
    }
  }
  const fileKey = await unwrapFileKey(passphrase, header.stanzas, opts);
  verifyHeaderMac(fileKey, header);
  if (cache) safely(() => cache.set(passphrase, header.stanzas, fileKey));
  return fileKey;
}

function safely<T>(f: () => T): T | null {
  try {
    return f();
  } catch {
    return null;
  }
}

/**
 * A Transform from plaintext to a complete age file (header, then payload),
 * for a fresh file key wrapped with this passphrase. Resolves once scrypt has
 * run, so a bad option fails here, before any byte is written.
 */
export async function encryptWithPassphrase(passphrase: Passphrase, opts: EncryptOptions = {}): Promise<EncryptStream> {
  const fileKey = crypto.randomBytes(FILE_KEY_SIZE);
  const stanza = await wrapFileKey(passphrase, fileKey, { logN: opts.logN });
  return encryptWithFileKey(fileKey, [stanza]);
}

/**
 * A Transform from plaintext to a complete age file for a fresh file key
 * wrapped to each of these recipients (one X25519 stanza each; the same
 * recipient twice gets one). Any of their identities opens the file.
 */
export function encryptToRecipients(recipients: readonly X25519Recipient[], opts: { nonce?: Uint8Array } = {}): EncryptStream {
  const distinct = recipients.filter((r, i) => recipients.findIndex((o) => o.equals(r)) === i);
  if (distinct.length === 0) throw new TypeError('an age file needs at least one recipient');
  const fileKey = crypto.randomBytes(FILE_KEY_SIZE);
  try {
    return encryptWithFileKey(fileKey, distinct.map((r) => wrapFileKeyToRecipient(r, fileKey)), opts);
  } finally {
    // The header's MAC and the payload key are made by now: nothing keeps the file key.
    fileKey.fill(0);
  }
}

/**
 * The whole age file for `plaintext`, to each of these recipients, written
 * in one go into memory the caller provides: `into(size)` answers a Buffer
 * of exactly `size` bytes (say, GrowableBuffer.reserve), which is returned
 * filled. The same file encryptToRecipients streams, for data already whole
 * in memory (a device's configuration) where a reusable buffer beats fresh
 * chunks per file.
 */
export function sealToRecipients(recipients: readonly X25519Recipient[], plaintext: Buffer, into: (size: number) => Buffer, opts: { nonce?: Uint8Array } = {}): Buffer {
  const distinct = recipients.filter((r, i) => recipients.findIndex((o) => o.equals(r)) === i);
  if (distinct.length === 0) throw new TypeError('an age file needs at least one recipient');
  const fileKey = crypto.randomBytes(FILE_KEY_SIZE);
  try {
    const header = serializeHeader(
      distinct.map((r) => wrapFileKeyToRecipient(r, fileKey)),
      fileKey,
    );
    const nonce = opts.nonce ? Buffer.from(opts.nonce) : crypto.randomBytes(PAYLOAD_NONCE_SIZE);
    if (nonce.length !== PAYLOAD_NONCE_SIZE) throw new TypeError('the payload nonce is 16 bytes');
    const chunks = Math.max(1, Math.ceil(plaintext.length / CHUNK_SIZE));
    const size = header.length + PAYLOAD_NONCE_SIZE + plaintext.length + chunks * TAG_SIZE;
    const out = into(size);
    if (out.length !== size) throw new RangeError(`into(${size}) answered ${out.length} bytes`);
    header.copy(out, 0);
    nonce.copy(out, header.length);
    const payloadKey = derivePayloadKey(fileKey, nonce);
    const written = sealChunksInto(payloadKey, plaintext, out, header.length + PAYLOAD_NONCE_SIZE, 0, chunks - 1);
    payloadKey.fill(0);
    if (header.length + PAYLOAD_NONCE_SIZE + written !== size) throw new Error('age: sealed size does not match the computed size');
    return out;
  } finally {
    fileKey.fill(0);
  }
}

/** Low level: a Transform from plaintext to an age file with these stanzas under this file key. */
export function encryptWithFileKey(fileKey: Uint8Array, stanzas: readonly Stanza[], opts: { nonce?: Uint8Array } = {}): EncryptStream {
  return createEncryptStream(fileKey, { nonce: opts.nonce, prefix: serializeHeader(stanzas, fileKey) });
}

/** Exact size of the age file encryptWithPassphrase makes from `plaintextSize` bytes. */
export function encryptedSize(plaintextSize: number, opts: EncryptOptions = {}): number {
  const chunks = Math.max(1, Math.ceil(plaintextSize / CHUNK_SIZE));
  return passphraseHeaderSize(opts.logN ?? DEFAULT_LOG_N) + PAYLOAD_NONCE_SIZE + plaintextSize + chunks * TAG_SIZE;
}

/** Size of the header of a passphrase-encrypted file: fixed for a given logN. */
export function passphraseHeaderSize(logN = DEFAULT_LOG_N): number {
  const shape: Stanza = { type: SCRYPT_TYPE, args: [encodeBase64(Buffer.alloc(SCRYPT_SALT_SIZE)), String(logN)], body: Buffer.alloc(SCRYPT_BODY_SIZE) };
  return serializeHeader([shape], Buffer.alloc(FILE_KEY_SIZE)).length;
}

/**
 * Writing an age file whose start is written last, for targets that can
 * write at an offset. The file is laid out exactly as any age file:
 *
 *   [header][nonce][chunk 0 .. chunk R-1][chunk R ... last chunk]
 *   |------------ prefix(...) -----------||------- the body --------|
 *
 * The body (chunks R, R+1, ... under payloadKey(), from payloadOffset + R
 * chunks on; the backup's workers seal it, see archive-writer.ts) is
 * written first, before scrypt has wrapped the file key (the header has a
 * fixed size for a given logN) and before the first R chunks' plaintext is
 * known (the backup manifest, which needs every member's hash). prefix()
 * then seals the R reserved chunks (never the last one) and builds the
 * header.
 */
export class DeferredEncryption {
  readonly nonce = crypto.randomBytes(PAYLOAD_NONCE_SIZE);
  readonly prefixLength: number;

  constructor(
    readonly fileKey: Uint8Array,
    readonly reservedChunks: number,
    readonly logN = DEFAULT_LOG_N,
  ) {
    this.prefixLength = passphraseHeaderSize(logN) + PAYLOAD_NONCE_SIZE + reservedChunks * (CHUNK_SIZE + TAG_SIZE);
  }

  /** Where chunk 0 starts in the file, and the key that seals the chunks (for a chunk verifier). */
  get payloadOffset(): number {
    return this.prefixLength - this.reservedChunks * (CHUNK_SIZE + TAG_SIZE);
  }

  payloadKey(): Buffer {
    return derivePayloadKey(this.fileKey, this.nonce);
  }

  /** Header, nonce and the sealed reserved chunks, for the reserved plaintext (reservedChunks × 64 KiB). */
  prefix(stanza: Stanza, reservedPlaintext: Buffer): Buffer {
    if (reservedPlaintext.length !== this.reservedChunks * CHUNK_SIZE) throw new RangeError('the reserved plaintext must fill the reserved chunks');
    const out = Buffer.concat([serializeHeader([stanza], this.fileKey), this.nonce, sealChunks(this.fileKey, this.nonce, 0, reservedPlaintext)]);
    if (out.length !== this.prefixLength) throw new RangeError('the stanza does not have the reserved shape');
    return out;
  }
}

/** The file key of a header with the header MAC verified under it, or why not (AgeHeaderError, AgeNoMatchError, AgeMacError). */
type OpenKey = (header: Header) => Buffer | Promise<Buffer>;

/** This file key, once the header MAC verifies under it. */
function verified(fileKey: Buffer, header: Header): Buffer {
  try {
    verifyHeaderMac(fileKey, header);
    return fileKey;
  } catch (err) {
    fileKey.fill(0);
    throw err;
  }
}

function withIdentities(identities: X25519Identity | readonly X25519Identity[]): OpenKey {
  const list = Array.isArray(identities) ? identities : [identities as X25519Identity];
  return (header) => verified(unwrapFileKeyWithIdentities(list, header.stanzas), header);
}

/**
 * Opens an age file with a passphrase. Reads the header and the payload
 * nonce from `source`, unwraps the file key and checks the header MAC, then
 * resolves with the plaintext stream. Rejects with AgeHeaderError,
 * AgeNoMatchError (wrong passphrase) or AgeMacError; the plaintext stream
 * errors with AgePayloadError if the payload is damaged, and releases
 * nothing past the damage.
 */
export function decryptWithPassphrase(source: AgeSource, passphrase: Passphrase, opts: DecryptOptions = {}): Promise<DecryptStream> {
  return decryptWith(source, (header) => openFileKey(passphrase, header, opts));
}

/**
 * Opens an age file with one or more X25519 identities, as
 * decryptWithPassphrase does with a passphrase. Rejects with
 * AgeNoIdentityMatchedError when none of them opens it, AgeNoMatchError
 * 'passphrase-encrypted' for a passphrase file, AgeHeaderError (also for an
 * X25519 stanza that breaks its rules) or AgeMacError.
 */
export function decryptWithIdentities(source: AgeSource, identities: X25519Identity | readonly X25519Identity[]): Promise<DecryptStream> {
  return decryptWith(source, withIdentities(identities));
}

/** Low level (test vectors): opens an age file whose file key is known; any stanzas. */
export function decryptWithFileKey(source: AgeSource, fileKey: Uint8Array): Promise<DecryptStream> {
  return decryptWith(source, (header) => verified(Buffer.from(fileKey), header));
}

async function decryptWith(source: AgeSource, open: OpenKey): Promise<DecryptStream> {
  const opened = await readHeader(source);
  try {
    const fileKey = await open(opened.header);
    return decryptPayload(fileKey, opened);
  } catch (err) {
    await opened.close();
    throw err;
  }
}

/**
 * Opens the header of an age file from the file's first bytes (at least
 * MAX_HEADER_SIZE + 16 of them, or the whole file), for a reader that takes
 * the chunks from there itself (ChunkReader): unwraps the file key with the
 * passphrase and checks the header MAC. Answers where chunk 0 starts and
 * the payload key. Rejects as decryptWithPassphrase does.
 */
export function openHeader(head: Uint8Array, passphrase: Passphrase, opts: DecryptOptions = {}): Promise<OpenedHeader> {
  return openHeaderWith(head, (header) => openFileKey(passphrase, header, opts));
}

/** openHeader with X25519 identities; rejects as decryptWithIdentities does. */
export function openHeaderWithIdentities(head: Uint8Array, identities: X25519Identity | readonly X25519Identity[]): Promise<OpenedHeader> {
  return openHeaderWith(head, withIdentities(identities));
}

export interface OpenedHeader {
  payloadOffset: number;
  payloadKey: Buffer;
}

async function openHeaderWith(head: Uint8Array, open: OpenKey): Promise<OpenedHeader> {
  const bytes = Buffer.from(head);
  const parsed = parseHeader(bytes) ?? parseCompleteHeader(bytes);
  const payloadOffset = parsed.size + PAYLOAD_NONCE_SIZE;
  if (bytes.length < payloadOffset) throw new AgeHeaderError('truncated', 'it ends before the payload nonce');
  const fileKey = await open(parsed.header);
  try {
    return { payloadOffset, payloadKey: derivePayloadKey(fileKey, bytes.subarray(parsed.size, payloadOffset)) };
  } finally {
    fileKey.fill(0);
  }
}

interface OpenedFile {
  header: Header;
  nonce: Buffer;
  /** Payload bytes read past the nonce, then the rest of the source. */
  rest: () => AsyncGenerator<Buffer>;
  close: () => Promise<void>;
}

function asBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError('an age source yields bytes');
}

/** Reads the header and the 16-byte payload nonce: at most MAX_HEADER_SIZE + 16 bytes are held. */
async function readHeader(source: AgeSource): Promise<OpenedFile> {
  const iterable: AsyncIterable<unknown> = source instanceof Uint8Array ? Readable.from([source]) : source;
  const it = iterable[Symbol.asyncIterator]();
  const close = async () => {
    await it.return?.();
  };
  const cap = MAX_HEADER_SIZE + PAYLOAD_NONCE_SIZE;
  const parts: Buffer[] = [];
  let length = 0;
  const extra: Buffer[] = [];
  let parsed: ParsedHeader | null = null;
  let head = Buffer.alloc(0);
  try {
    for (;;) {
      const next = await it.next();
      if (next.done) break;
      const chunk = asBuffer(next.value);
      const room = cap - length;
      parts.push(chunk.subarray(0, room));
      length += Math.min(room, chunk.length);
      if (chunk.length > room) extra.push(chunk.subarray(room));
      // The parser advances only at line ends (and fails fast on a first chunk that is no age file).
      if (parsed === null && (parts.length === 1 || length === cap || chunk.includes(0x0a))) {
        head = Buffer.concat(parts, length);
        parts.splice(0, parts.length, head);
        parsed = parseHeader(head);
      }
      if (parsed !== null && length >= parsed.size + PAYLOAD_NONCE_SIZE) break;
    }
    head = Buffer.concat(parts, length);
    parsed ??= parseCompleteHeader(head);
    if (length < parsed.size + PAYLOAD_NONCE_SIZE) {
      throw new AgeHeaderError('truncated', 'it ends before the payload nonce');
    }
  } catch (err) {
    await close();
    throw err;
  }
  const nonceEnd = parsed.size + PAYLOAD_NONCE_SIZE;
  const nonce = head.subarray(parsed.size, nonceEnd);
  const leftover = [head.subarray(nonceEnd), ...extra];
  async function* rest(): AsyncGenerator<Buffer> {
    try {
      for (const b of leftover) if (b.length > 0) yield b;
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        yield asBuffer(next.value);
      }
    } finally {
      await close();
    }
  }
  return { header: parsed.header, nonce, rest, close };
}

function decryptPayload(fileKey: Uint8Array, opened: OpenedFile): DecryptStream {
  const plaintext = createDecryptStream(fileKey, { nonce: opened.nonce });
  // Errors reach the consumer through `plaintext` itself; a consumer that stops early closes the source
  // (also when it stops before the first read, when the generator has not started and has no finally to run).
  pipeline(Readable.from(opened.rest(), { objectMode: false }), plaintext, () => {});
  plaintext.once('close', () => void opened.close());
  return plaintext;
}
