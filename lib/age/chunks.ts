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
 * Runs `src` through `cipher` into dst[at..] (or nowhere), PIECE bytes per
 * update; answers the bytes. ChaCha20 gives as many bytes as it takes. Why
 * pieces: every update's output is a fresh allocation, and at 64 KiB glibc
 * hands freed memory back to the kernel and takes it again, so on this VM
 * opening a GiB in whole chunks costs ~90,000 page faults and 2.5 times the
 * time (1.8 s against 0.7 s); outputs of 8 KiB are reused in place.
 */
const PIECE = 8192;
function updateInto(cipher: crypto.Cipher | crypto.Decipher, src: Buffer, dst: Buffer | undefined, at: number): number {
  for (let o = 0; o < src.length; o += PIECE) {
    const part = cipher.update(src.subarray(o, o + PIECE));
    if (dst) part.copy(dst, at + o);
  }
  return src.length;
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
    o += updateInto(cipher, chunk, dst, o);
    cipher.final();
    o += cipher.getAuthTag().copy(dst, o);
    if (chunk.length === 0) break;
  }
  return o - at;
}

/**
 * Opens chunk `index` of a payload of `count` chunks (the last one carries
 * the last-chunk flag) into out[outAt..] when given; answers its plaintext
 * length. On a failure out[outAt..] holds bytes that did not authenticate. A failure is an AgePayloadError naming the chunk, with the reasons
 * the streaming reader (stream.ts, DecryptStream) gives for the same file:
 * an inner chunk that opens as a final one has data after it
 * ('trailing-data'), a full last chunk that opens as an inner one was cut at
 * a chunk boundary ('truncated'), an empty final chunk after others is
 * refused. `nonce` is scratch space of CHUNK_NONCE_SIZE bytes.
 */
function openChunkChecked(payloadKey: Buffer, nonce: Buffer, index: number, count: number, chunk: Buffer, out: Buffer | undefined, outAt: number): number {
  const last = index === count - 1;
  if (chunk.length < TAG_SIZE) throw new AgePayloadError('truncated', index);
  const length = chunk.length - TAG_SIZE;
  const decipher = crypto.createDecipheriv('chacha20-poly1305', payloadKey, setChunkNonce(nonce, index, last), { authTagLength: TAG_SIZE });
  decipher.setAuthTag(chunk.subarray(length));
  // Written to `out` before the tag is checked: on a failure the caller keeps nothing of it.
  updateInto(decipher, chunk.subarray(0, length), out, outAt);
  let authentic = true;
  try {
    decipher.final();
  } catch {
    authentic = false;
  }
  if (!authentic) {
    if (!last && openSealed(payloadKey, setChunkNonce(nonce, index, true), chunk) !== null) throw new AgePayloadError('trailing-data', index);
    if (last && chunk.length === ENCRYPTED_CHUNK_SIZE && openSealed(payloadKey, setChunkNonce(nonce, index, false), chunk) !== null) {
      throw new AgePayloadError('truncated', index + 1);
    }
    throw new AgePayloadError('auth-failed', index);
  }
  if (last && length === 0 && index > 0) throw new AgePayloadError('empty-final-chunk', index);
  return length;
}

/** Where the chunks of a whole file are: chunk i starts at payloadOffset + i · 65552; the last one ends the file. */
export class ChunkLayout {
  readonly count: number;
  private readonly total: number;

  constructor(
    readonly payloadOffset: number,
    readonly fileSize: number,
  ) {
    this.total = fileSize - payloadOffset;
    this.count = Math.max(1, Math.ceil(this.total / ENCRYPTED_CHUNK_SIZE));
    // A payload shorter than a tag holds no chunk at all.
    if (this.total < TAG_SIZE) throw new AgePayloadError('truncated', 0);
  }

  start(i: number): number {
    return this.payloadOffset + i * ENCRYPTED_CHUNK_SIZE;
  }

  length(i: number): number {
    return Math.min(ENCRYPTED_CHUNK_SIZE, this.total - i * ENCRYPTED_CHUNK_SIZE);
  }

  /** The chunks that start in the file's bytes [at, at + length): [first, end). */
  startingIn(at: number, length: number): [number, number] {
    const first = Math.max(0, Math.ceil((at - this.payloadOffset) / ENCRYPTED_CHUNK_SIZE));
    const end = Math.min(this.count, Math.max(0, Math.ceil((at + length - this.payloadOffset) / ENCRYPTED_CHUNK_SIZE)));
    return [first, Math.max(first, end)];
  }
}

/**
 * Opens, each on its own, the chunks of a whole file (`layout`) that start in
 * its bytes [at, at + length), so that pieces of one file can be opened on
 * several threads at once: `bytes` holds the file from offset `at`, and on
 * past `length` far enough for the last of those chunks to be whole (at
 * most 65551 bytes more). Their plaintext goes to `out` from `outAt`, in
 * chunk order. Answers the plaintext bytes and the number of chunks opened.
 * Fails as openChunkChecked does.
 */
export function openChunksStartingIn(
  payloadKey: Buffer,
  layout: ChunkLayout,
  bytes: Buffer,
  at: number,
  length: number,
  out?: Buffer,
  outAt = 0,
): { plainBytes: number; chunks: number } {
  const [first, end] = layout.startingIn(at, length);
  const nonce = Buffer.alloc(CHUNK_NONCE_SIZE);
  let written = 0;
  for (let i = first; i < end; i++) {
    const from = layout.start(i) - at;
    const chunk = bytes.subarray(from, from + layout.length(i));
    // Bytes missing past the end of what was read: the file is shorter than its size said.
    if (chunk.length !== layout.length(i)) throw new AgePayloadError('truncated', i);
    written += openChunkChecked(payloadKey, nonce, i, layout.count, chunk, out, outAt + written);
  }
  return { plainBytes: written, chunks: end - first };
}

export type ChunkReaderTotals = { plainBytes: number; chunks: number };

/**
 * Reads the payload of a whole age file of `fileSize` bytes whose chunk 0
 * starts at `payloadOffset`, from pieces of the file fed in file order (any
 * sizes, from any offset at or before what was fed last), on one thread:
 * every chunk is authenticated, the last one as the last, and its plaintext
 * written to `out` when the caller wants it. Bytes before the payload are
 * skipped. A chunk cut by a piece's end waits in a carry buffer for the next
 * piece. Failures as openChunkChecked.
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
    const n = openChunkChecked(this.payloadKey, this.nonce, this.index, this.count, chunk, out, outAt);
    this.plainBytes += n;
    this.index++;
    return n;
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
