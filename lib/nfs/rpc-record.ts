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

/**
 * Where a reply's bytes go: `xid` is known (and the record is one fragment)
 * when the caller can choose memory by the call it answers, e.g. a pooled
 * buffer for READ data the caller hands back (see buffer-pool.ts).
 */
export type Allocate = (length: number, xid: number | null) => Buffer;

const allocUnsafe: Allocate = (length) => Buffer.allocUnsafe(length);

export class RecordParser {
  /** The record mark, then (for a one-fragment record) its first word, the xid. */
  private readonly head = Buffer.alloc(8);
  private headBytes = 0;
  private headWanted = 4;
  /** The fragment being filled: allocated at its stated length once the mark is read. */
  private fragment: Buffer | null = null;
  private filled = 0;
  private length = 0;
  private lastFragment = false;
  /** Complete fragments of the record being assembled. */
  private fragments: Buffer[] = [];
  private recordBytes = 0;

  constructor(
    private readonly maxRecord: number,
    private readonly allocate: Allocate = allocUnsafe,
  ) {}

  /**
   * Where the next bytes from the socket should land so that they need no
   * copy: the rest of the fragment being filled, or the rest of the record
   * mark (and xid). After reading n bytes into it, call `advance(n)`.
   */
  target(): Buffer {
    if (this.fragment) return this.fragment.subarray(this.filled);
    return this.head.subarray(this.headBytes, this.headWanted);
  }

  /** Accounts for n bytes read into target(); returns the record completed, if any. */
  advance(n: number): Buffer[] {
    if (this.fragment) {
      this.filled += n;
      return this.filled === this.fragment.length ? this.endFragment() : [];
    }
    this.headBytes += n;
    if (this.headBytes < this.headWanted) return [];
    if (this.headWanted === 4) {
      const word = this.head.readUInt32BE(0);
      this.length = word & 0x7fffffff;
      this.lastFragment = (word & LAST_FRAGMENT) !== 0;
      if (this.recordBytes + this.length > this.maxRecord) throw new XdrError(`a record of more than ${this.maxRecord} bytes`);
      // Empty fragments add nothing to the length: without a bound, a hostile server could send them forever.
      if (this.fragments.length >= MAX_FRAGMENTS) throw new XdrError(`a record in more than ${MAX_FRAGMENTS} fragments`);
      if (this.lastFragment && this.fragments.length === 0 && this.length >= 4) {
        // A one-fragment record: read its xid too, so the memory can be chosen by the call it answers.
        this.headWanted = 8;
        return [];
      }
      this.headBytes = 0;
      this.fragment = this.allocate(this.length, null);
      this.filled = 0;
      return this.length === 0 ? this.endFragment() : [];
    }
    this.headBytes = 0;
    this.headWanted = 4;
    this.fragment = this.allocate(this.length, this.head.readUInt32BE(4));
    this.head.copy(this.fragment, 0, 4, 8);
    this.filled = 4;
    return this.filled === this.fragment.length ? this.endFragment() : [];
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
   * completed. Bytes are copied out, so `chunk` may be reused by the
   * caller. Throws XdrError on a record longer than maxRecord, before
   * allocating it.
   */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let at = 0;
    while (at < chunk.length) {
      const t = this.target();
      const n = Math.min(t.length, chunk.length - at);
      chunk.copy(t, 0, at, at + n);
      at += n;
      out.push(...this.advance(n));
    }
    return out;
  }
}
