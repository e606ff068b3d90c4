import crypto from 'node:crypto';
import { AgePayloadError } from './errors';
import { CHUNK_NONCE_SIZE, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, LAST_CHUNK_FLAG, TAG_SIZE } from './format';

/**
 * age STREAM chunks (layout: format.ts) one at a time, for code that knows
 * where each chunk is: in a whole file of known size, chunk i starts at
 * payloadOffset + i · 65552 and the last chunk is the one that ends the file.
 * No streams and no state beyond the chunk being read, so that worker
 * threads (lib/backup/worker-jobs.ts) seal and open chunks from shared memory
 * with the very same code as the streams of stream.ts.
 */

/** The 12-byte chunk nonce, written into `nonce`: 11-byte big-endian counter || last-chunk flag. */
export function setChunkNonce(nonce: Buffer, index: number, last: boolean): Buffer {
  // Counters stay far below 2^53 (that is 2^69 bytes); bytes 0..2 stay zero.
  nonce.writeUInt32BE(Math.floor(index / 2 ** 32), 3);
  nonce.writeUInt32BE(index >>> 0, 7);
  nonce[11] = last ? LAST_CHUNK_FLAG : 0x00;
  return nonce;
}

/** The plaintext of one sealed chunk (ciphertext || tag), or null if it does not authenticate under this nonce. */
export function openSealed(payloadKey: Buffer, nonce: Buffer, chunk: Buffer): Buffer | null {
  const decipher = crypto.createDecipheriv('chacha20-poly1305', payloadKey, nonce, { authTagLength: TAG_SIZE });
  decipher.setAuthTag(chunk.subarray(chunk.length - TAG_SIZE));
  const plaintext = decipher.update(chunk.subarray(0, chunk.length - TAG_SIZE));
  try {
    decipher.final();
  } catch {
    return null;
  }
  return plaintext;
}

/**
 * Opens one chunk on its own, for a reader that knows from the file's size
 * which chunk is the last (the chunk at index ⌈payload / 65552⌉ - 1): the
 * plaintext, or null if the chunk does not authenticate as chunk `index`
 * with that last-chunk flag. `payloadKey` is derivePayloadKey(fileKey, nonce).
 */
export function openChunk(payloadKey: Buffer, index: number, last: boolean, chunk: Buffer): Buffer | null {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError('a chunk index is a whole number >= 0');
  if (chunk.length < TAG_SIZE || chunk.length > ENCRYPTED_CHUNK_SIZE) return null;
  return openSealed(payloadKey, setChunkNonce(Buffer.alloc(CHUNK_NONCE_SIZE), index, last), chunk);
}

/**
 * Seals `src` as chunks firstIndex, firstIndex + 1, ... into `dst` from
 * offset `at`; chunk `lastIndex` carries the last-chunk flag (pass -1 when
 * none of them is the last). `src` holds whole 64 KiB chunks, except that
 * the last chunk may be short. Answers the bytes written (src + 16 per chunk).
 */
export function sealChunksInto(payloadKey: Buffer, src: Buffer, dst: Buffer, at: number, firstIndex: number, lastIndex: number): number {
  const nonce = Buffer.alloc(CHUNK_NONCE_SIZE);
  let o = at;
  for (let off = 0; off < src.length || (off === 0 && firstIndex === lastIndex); off += CHUNK_SIZE) {
    const index = firstIndex + off / CHUNK_SIZE;
    const chunk = src.subarray(off, off + CHUNK_SIZE);
    if (chunk.length < CHUNK_SIZE && index !== lastIndex) throw new RangeError('a short chunk that is not the last');
    const cipher = crypto.createCipheriv('chacha20-poly1305', payloadKey, setChunkNonce(nonce, index, index === lastIndex), { authTagLength: TAG_SIZE });
    o += cipher.update(chunk).copy(dst, o);
    cipher.final();
    o += cipher.getAuthTag().copy(dst, o);
    if (chunk.length === 0) break;
  }
  return o - at;
}

export type ChunkReaderTotals = { plainBytes: number; chunks: number };

/**
 * Reads the payload of a whole age file of `fileSize` bytes whose chunk 0
 * starts at `payloadOffset`, from pieces of the file fed in file order (any
 * sizes, from any offset at or before what was fed last): every chunk is
 * authenticated, the last one as the last, and its plaintext written to
 * `out` when the caller wants it. Bytes before the payload are skipped. A
 * chunk cut by a piece's end waits in a carry buffer for the next piece.
 *
 * A failure is an AgePayloadError naming the chunk, with the reasons the
 * streaming reader (stream.ts, DecryptStream) gives for the same file: an
 * inner chunk that opens as a final one has data after it ('trailing-data'),
 * a full last chunk that opens as an inner one was cut at a chunk boundary
 * ('truncated'), an empty final chunk after others is refused.
 */
export class ChunkReader {
  private readonly count: number;
  private readonly total: number;
  private readonly carry = Buffer.allocUnsafe(ENCRYPTED_CHUNK_SIZE);
  private readonly nonce = Buffer.alloc(CHUNK_NONCE_SIZE);
  private held = 0;
  private index = 0;
  private pos: number;
  private plainBytes = 0;

  constructor(
    readonly payloadOffset: number,
    private readonly payloadKey: Buffer,
    readonly fileSize: number,
  ) {
    this.total = fileSize - payloadOffset;
    this.count = Math.max(1, Math.ceil(this.total / ENCRYPTED_CHUNK_SIZE));
    this.pos = payloadOffset;
    // A payload shorter than a tag holds no chunk at all.
    if (this.total < TAG_SIZE) throw new AgePayloadError('truncated', 0);
  }

  /** The last chunk's index: ⌈payload / 65552⌉ - 1. */
  get lastIndex(): number {
    return this.count - 1;
  }

  private lengthOf(i: number): number {
    return Math.min(ENCRYPTED_CHUNK_SIZE, this.total - i * ENCRYPTED_CHUNK_SIZE);
  }

  /** Authenticates chunk `this.index`; writes its plaintext to out[outAt..] if given; answers its plaintext length. */
  private open(chunk: Buffer, out: Buffer | undefined, outAt: number): number {
    const i = this.index;
    const last = i === this.count - 1;
    if (chunk.length < TAG_SIZE) throw new AgePayloadError('truncated', i);
    const plain = openSealed(this.payloadKey, setChunkNonce(this.nonce, i, last), chunk);
    if (plain === null) {
      if (!last && openSealed(this.payloadKey, setChunkNonce(this.nonce, i, true), chunk) !== null) throw new AgePayloadError('trailing-data', i);
      if (last && chunk.length === ENCRYPTED_CHUNK_SIZE && openSealed(this.payloadKey, setChunkNonce(this.nonce, i, false), chunk) !== null) {
        throw new AgePayloadError('truncated', i + 1);
      }
      throw new AgePayloadError('auth-failed', i);
    }
    if (last && plain.length === 0 && i > 0) throw new AgePayloadError('empty-final-chunk', i);
    if (out) plain.copy(out, outAt);
    this.plainBytes += plain.length;
    this.index++;
    return plain.length;
  }

  /**
   * Feeds the file's bytes [at, at + piece.length). Answers the plaintext
   * bytes of the chunks this piece completed (written to `out` from `outAt`
   * when given: at most piece.length + 65535 bytes).
   */
  feed(piece: Buffer, at: number, out?: Buffer, outAt = 0): number {
    if (at > this.pos) throw new RangeError('pieces of the file must come in order, without gaps');
    let i = this.pos - at;
    let written = 0;
    while (i < piece.length && this.index < this.count) {
      const want = this.lengthOf(this.index);
      if (this.held === 0 && piece.length - i >= want) {
        written += this.open(piece.subarray(i, i + want), out, outAt + written);
        i += want;
      } else {
        const n = Math.min(want - this.held, piece.length - i);
        piece.copy(this.carry, this.held, i, i + n);
        this.held += n;
        i += n;
        if (this.held === want) {
          this.held = 0;
          written += this.open(this.carry.subarray(0, want), out, outAt + written);
        }
      }
    }
    this.pos = Math.max(this.pos, at + piece.length);
    return written;
  }

  /** Every chunk was fed: the totals. Otherwise the file ended early (it changed after its size was taken). */
  end(): ChunkReaderTotals {
    if (this.index !== this.count) throw new AgePayloadError('truncated', this.index);
    return { plainBytes: this.plainBytes, chunks: this.count };
  }
}
