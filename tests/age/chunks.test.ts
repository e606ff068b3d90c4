import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AgePayloadError, createDecryptStream, createEncryptStream } from '@/lib/age';
import { ChunkLayout, ChunkReader, openChunk, openChunksStartingIn, sealChunksInto } from '@/lib/age/chunks';
import { CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, PAYLOAD_NONCE_SIZE } from '@/lib/age/format';
import { derivePayloadKey } from '@/lib/age/stream';
import { through } from './helpers';

/**
 * lib/age/chunks.ts, the chunk code the backup's worker threads run: it
 * must write exactly what the streaming encryptor writes, read exactly what
 * the streaming decryptor reads, and refuse damage with the same reasons.
 */
const fileKey = crypto.randomBytes(16);
const nonce = crypto.randomBytes(PAYLOAD_NONCE_SIZE);
const key = derivePayloadKey(fileKey, nonce);
const SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE, 3 * CHUNK_SIZE + 5];

/** The payload (nonce, then chunks) as the streaming encryptor writes it. */
async function streamed(plain: Buffer): Promise<Buffer> {
  const { data, error } = await through(createEncryptStream(fileKey, { nonce }), plain);
  expect(error).toBeNull();
  return data;
}

const chunkCount = (n: number) => Math.max(1, Math.ceil(n / CHUNK_SIZE));

describe('sealChunksInto', () => {
  it.each(SIZES)('writes the same %i-byte payload as EncryptStream, sealed in slots of any whole number of chunks', async (size) => {
    const plain = crypto.randomBytes(size);
    const want = await streamed(plain);
    const last = chunkCount(size) - 1;
    for (const slotChunks of [1, 2, 16]) {
      const out = Buffer.alloc(want.length);
      nonce.copy(out);
      let o = PAYLOAD_NONCE_SIZE;
      for (let first = 0; first <= last; first += slotChunks) {
        o += sealChunksInto(key, plain.subarray(first * CHUNK_SIZE, (first + slotChunks) * CHUNK_SIZE), out, o, first, last);
      }
      expect(o).toBe(want.length);
      expect(out.equals(want)).toBe(true);
    }
  });

  it('refuses a short chunk that is not the last', () => {
    expect(() => sealChunksInto(key, Buffer.alloc(100), Buffer.alloc(200), 0, 0, 5)).toThrow(/short chunk/);
  });
});

describe('ChunkReader', () => {
  it.each(SIZES)('decrypts a %i-byte payload fed in pieces of any size, after bytes that are not payload', async (size) => {
    const plain = crypto.randomBytes(size);
    // A 100-byte stand-in for a header, then the nonce, then chunk 0 at 116.
    const file = Buffer.concat([crypto.randomBytes(100), await streamed(plain)]);
    const offset = 100 + PAYLOAD_NONCE_SIZE;
    for (const piece of [1000, ENCRYPTED_CHUNK_SIZE - 1, ENCRYPTED_CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE + 1, file.length]) {
      const reader = new ChunkReader(offset, key, file.length);
      const out = Buffer.alloc(size + 2 * CHUNK_SIZE);
      let written = 0;
      for (let at = 0; at < file.length; at += piece) written += reader.feed(file.subarray(at, at + piece), at, out, written);
      expect(written).toBe(size);
      expect(out.subarray(0, written).equals(plain)).toBe(true);
      expect(reader.end()).toEqual({ plainBytes: size, chunks: chunkCount(size) });
    }
  });

  it('only authenticates when given no output, and opens single chunks as openChunk does', async () => {
    const plain = crypto.randomBytes(2 * CHUNK_SIZE + 9);
    const payload = await streamed(plain);
    const reader = new ChunkReader(PAYLOAD_NONCE_SIZE, key, payload.length);
    expect(reader.feed(payload, 0)).toBe(plain.length);
    expect(reader.lastIndex).toBe(2);
    const chunk2 = payload.subarray(PAYLOAD_NONCE_SIZE + 2 * ENCRYPTED_CHUNK_SIZE);
    expect(openChunk(key, 2, true, chunk2)!.equals(plain.subarray(2 * CHUNK_SIZE))).toBe(true);
    expect(openChunk(key, 2, false, chunk2)).toBeNull();
  });

  it('refuses pieces with a gap between them', async () => {
    const payload = await streamed(crypto.randomBytes(3 * CHUNK_SIZE));
    const reader = new ChunkReader(PAYLOAD_NONCE_SIZE, key, payload.length);
    reader.feed(payload.subarray(0, 1000), 0);
    expect(() => reader.feed(payload.subarray(2000, 3000), 2000)).toThrow(/in order/);
  });

  it('says the file ended early when fewer bytes came than its size', async () => {
    const payload = await streamed(crypto.randomBytes(3 * CHUNK_SIZE));
    const reader = new ChunkReader(PAYLOAD_NONCE_SIZE, key, payload.length);
    reader.feed(payload.subarray(0, PAYLOAD_NONCE_SIZE + ENCRYPTED_CHUNK_SIZE), 0);
    expect(() => reader.end()).toThrow(/truncated: it ends after chunk 0/);
  });

  // Damage of every kind: the reader must give DecryptStream's reason and chunk.
  const at = (i: number) => PAYLOAD_NONCE_SIZE + i * ENCRYPTED_CHUNK_SIZE;
  const damage: [string, (p: Buffer) => Buffer][] = [
    ['a flipped bit in chunk 1', (p) => ((p[at(1) + 3]! ^= 1), p)],
    ['a flipped bit in the last chunk', (p) => ((p[p.length - 1]! ^= 1), p)],
    ['a flipped bit in the payload nonce', (p) => ((p[3]! ^= 1), p)],
    ['a cut inside chunk 2', (p) => p.subarray(0, at(2) + 500)],
    ['a cut at a chunk boundary', (p) => p.subarray(0, at(3))],
    ['a cut leaving 10 bytes of the last chunk', (p) => p.subarray(0, at(3) + 10)],
    ['a cut leaving only the nonce', (p) => p.subarray(0, PAYLOAD_NONCE_SIZE)],
    ['an appended chunk', (p) => Buffer.concat([p, p.subarray(at(1), at(2))])],
    ['two chunks swapped', (p) => Buffer.concat([p.subarray(0, at(1)), p.subarray(at(2), at(3)), p.subarray(at(1), at(2)), p.subarray(at(3))])],
  ];
  it.each(damage)('refuses %s with the reason and chunk DecryptStream gives', async (_name, mutate) => {
    const payload = mutate(Buffer.from(await streamed(crypto.randomBytes(3 * CHUNK_SIZE + 77))));
    const streamedError = (await through(createDecryptStream(fileKey), payload)).error as AgePayloadError;
    expect(streamedError).toBeInstanceOf(AgePayloadError);
    let error: unknown = null;
    try {
      // The payload key comes from the nonce as the file holds it.
      const reader = new ChunkReader(PAYLOAD_NONCE_SIZE, derivePayloadKey(fileKey, payload.subarray(0, PAYLOAD_NONCE_SIZE)), payload.length);
      for (let o = 0; o < payload.length; o += 100_000) reader.feed(payload.subarray(o, o + 100_000), o);
      reader.end();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AgePayloadError);
    expect({ reason: (error as AgePayloadError).reason, chunk: (error as AgePayloadError).chunk }).toEqual({ reason: streamedError.reason, chunk: streamedError.chunk });
  });

  it('refuses an empty final chunk after others, as DecryptStream does', async () => {
    // Two chunks: a full inner one, then a valid empty final one (no encryptor writes this).
    const plain = crypto.randomBytes(CHUNK_SIZE);
    const payload = Buffer.alloc(PAYLOAD_NONCE_SIZE + ENCRYPTED_CHUNK_SIZE + 16);
    nonce.copy(payload);
    sealChunksInto(key, plain, payload, PAYLOAD_NONCE_SIZE, 0, -1);
    sealChunksInto(key, Buffer.alloc(0), payload, at(1), 1, 1);
    const streamedError = (await through(createDecryptStream(fileKey), payload)).error as AgePayloadError;
    expect(streamedError.reason).toBe('empty-final-chunk');
    expect(() => new ChunkReader(PAYLOAD_NONCE_SIZE, key, payload.length).feed(payload, 0)).toThrow(/chunk 1 is an empty final chunk/);
  });
});

describe('openChunksStartingIn', () => {
  it.each([1000, ENCRYPTED_CHUNK_SIZE - 1, ENCRYPTED_CHUNK_SIZE, 3 * ENCRYPTED_CHUNK_SIZE + 5])('opens every chunk exactly once from windows of %i bytes, each with the next window\'s head behind it', async (window) => {
    const plain = crypto.randomBytes(7 * CHUNK_SIZE + 99);
    const file = Buffer.concat([crypto.randomBytes(100), await streamed(plain)]);
    const layout = new ChunkLayout(100 + PAYLOAD_NONCE_SIZE, file.length);
    const out: Buffer[] = [];
    let chunks = 0;
    // Windows in any order: each opens on its own.
    const starts = Array.from({ length: Math.ceil(file.length / window) }, (_, i) => i * window).reverse();
    const pieces = new Map<number, Buffer>();
    for (const at of starts) {
      const into = Buffer.alloc(window + CHUNK_SIZE);
      const r = openChunksStartingIn(key, layout, file.subarray(at, at + window + ENCRYPTED_CHUNK_SIZE - 1), at, Math.min(window, file.length - at), into);
      chunks += r.chunks;
      pieces.set(at, into.subarray(0, r.plainBytes));
    }
    for (const at of [...starts].reverse()) out.push(pieces.get(at)!);
    expect(chunks).toBe(layout.count);
    expect(Buffer.concat(out).equals(plain)).toBe(true);
  });

  it('refuses damage with the reason and chunk ChunkReader gives, and a chunk cut by the end of what was read', async () => {
    const payload = Buffer.from(await streamed(crypto.randomBytes(3 * CHUNK_SIZE + 77)));
    payload[PAYLOAD_NONCE_SIZE + 2 * ENCRYPTED_CHUNK_SIZE + 9]! ^= 1;
    const layout = new ChunkLayout(PAYLOAD_NONCE_SIZE, payload.length);
    expect(() => openChunksStartingIn(key, layout, payload, 0, payload.length)).toThrow(/chunk 2 failed authentication/);
    expect(() => openChunksStartingIn(key, layout, payload.subarray(0, 100_000), 0, 100_000)).toThrow(/truncated/);
  });
});
