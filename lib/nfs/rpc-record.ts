import { XdrError } from './xdr-reader';

/**
 * ONC RPC record marking over TCP (RFC 5531 §11): a record is one or more
 * fragments, each preceded by a 4-byte big-endian header whose top bit marks
 * the last fragment and whose low 31 bits give the fragment's length. TCP
 * delivers arbitrary slices of that stream, so the parser keeps whatever
 * is left over between chunks (a partial header, a partial fragment) and
 * returns every record completed by the chunk. A record longer than
 * `maxRecord` is refused before it is buffered.
 */
const LAST_FRAGMENT = 0x80000000;
const MAX_FRAGMENTS = 1024;

/** The 4-byte record mark of a one-fragment record of `length` bytes. */
export function recordMark(length: number): Buffer {
  if (length > 0x7fffffff) throw new RangeError('a record fragment is at most 2^31 - 1 bytes');
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE((LAST_FRAGMENT | length) >>> 0, 0);
  return header;
}

export function frameRecord(message: Buffer): Buffer {
  return Buffer.concat([recordMark(message.length), message]);
}

export class RecordParser {
  /** The record mark being read (it may arrive split). */
  private readonly mark = Buffer.alloc(4);
  private markBytes = 0;
  /** The fragment being filled: allocated at its stated length once the mark is read. */
  private fragment: Buffer | null = null;
  private filled = 0;
  private lastFragment = false;
  /** Complete fragments of the record being assembled. */
  private fragments: Buffer[] = [];
  private recordBytes = 0;

  constructor(private readonly maxRecord: number) {}

  /**
   * Where the next bytes from the socket should land so that they need no
   * copy: the rest of the fragment being filled, or the rest of the record
   * mark. After reading n bytes into it, call `advance(n)`.
   */
  target(): Buffer {
    if (this.fragment) return this.fragment.subarray(this.filled);
    return this.mark.subarray(this.markBytes);
  }

  /** Accounts for n bytes read into target(); returns the record completed, if any. */
  advance(n: number): Buffer[] {
    if (!this.fragment) {
      this.markBytes += n;
      if (this.markBytes < 4) return [];
      this.markBytes = 0;
      this.startFragment();
      return this.fragment!.length === 0 ? this.endFragment() : [];
    }
    this.filled += n;
    return this.filled === this.fragment.length ? this.endFragment() : [];
  }

  private startFragment(): void {
    const word = this.mark.readUInt32BE(0);
    const length = word & 0x7fffffff;
    if (this.recordBytes + length > this.maxRecord) throw new XdrError(`a record of more than ${this.maxRecord} bytes`);
    // Empty fragments add nothing to the length: without a bound, a hostile server could send them forever.
    if (this.fragments.length >= MAX_FRAGMENTS) throw new XdrError(`a record in more than ${MAX_FRAGMENTS} fragments`);
    this.fragment = Buffer.allocUnsafe(length);
    this.filled = 0;
    this.lastFragment = (word & LAST_FRAGMENT) !== 0;
  }

  private endFragment(): Buffer[] {
    this.fragments.push(this.fragment!);
    this.recordBytes += this.fragment!.length;
    this.fragment = null;
    if (!this.lastFragment) return [];
    const record = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments, this.recordBytes);
    this.fragments = [];
    this.recordBytes = 0;
    return [record];
  }

  /**
   * Takes the next slice of the stream and returns the records it
   * completed. Bytes are copied out, so `chunk` may be reused by the caller
   * (the connection reads into one buffer). Throws XdrError on a record
   * longer than maxRecord, before allocating it.
   */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (!this.fragment) {
        const n = Math.min(4 - this.markBytes, chunk.length - at);
        chunk.copy(this.mark, this.markBytes, at, at + n);
        this.markBytes += n;
        at += n;
        if (this.markBytes < 4) break;
        this.markBytes = 0;
        this.startFragment();
      }
      const fragment = this.fragment!;
      const n = Math.min(fragment.length - this.filled, chunk.length - at);
      chunk.copy(fragment, this.filled, at, at + n);
      this.filled += n;
      at += n;
      if (this.filled < fragment.length) break;
      out.push(...this.endFragment());
    }
    return out;
  }
}
