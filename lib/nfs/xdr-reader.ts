/**
 * XDR decoding (RFC 4506) of one complete message, with every length checked
 * against what is left: a malformed or hostile reply ends in an XdrError,
 * never in a read past the end, a huge allocation or a hang. Variable-length
 * items take a maximum from the protocol (e.g. a file handle is at most 128
 * bytes); counts of arrays are bounded by the bytes left (each item takes at
 * least 4).
 */
export class XdrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XdrError';
  }
}

export class XdrReader {
  private at: number;
  /** Reads stop here: the buffer's end, or the end of the opaque a window() reader covers. */
  private readonly end: number;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    end = buf.length,
  ) {
    this.at = start;
    this.end = end;
  }

  /** The message being read (for handing a pooled reply back). */
  get buffer(): Buffer {
    return this.buf;
  }

  get remaining(): number {
    return this.end - this.at;
  }

  private need(n: number, what: string): void {
    if (n > this.end - this.at) throw new XdrError(`the reply ends inside ${what}`);
  }

  u32(what = 'an integer'): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }

  i32(what = 'an integer'): number {
    this.need(4, what);
    const v = this.buf.readInt32BE(this.at);
    this.at += 4;
    return v;
  }

  u64big(what = 'a 64-bit integer'): bigint {
    this.need(8, what);
    const v = this.buf.readBigUInt64BE(this.at);
    this.at += 8;
    return v;
  }

  i64big(what = 'a 64-bit integer'): bigint {
    this.need(8, what);
    const v = this.buf.readBigInt64BE(this.at);
    this.at += 8;
    return v;
  }

  /** A 64-bit size or offset as a number; values past 2^53 - 1 are refused (no file or disk here is that large). */
  u64(what = 'a 64-bit integer'): number {
    this.need(8, what);
    const hi = this.buf.readUInt32BE(this.at);
    const lo = this.buf.readUInt32BE(this.at + 4);
    // 2^53 - 1 is hi 0x1fffff with every bit of lo set.
    if (hi > 0x1fffff) throw new XdrError(`${what} is out of range`);
    this.at += 8;
    return hi * 0x1_0000_0000 + lo;
  }

  /** A signed 64-bit integer as a number, exact within ±2^53 (beyond, the nearest double). */
  i64(what = 'a 64-bit integer'): number {
    this.need(8, what);
    const hi = this.buf.readInt32BE(this.at);
    const lo = this.buf.readUInt32BE(this.at + 4);
    this.at += 8;
    return hi * 0x1_0000_0000 + lo;
  }

  bool(what = 'a boolean'): boolean {
    const v = this.u32(what);
    if (v > 1) throw new XdrError(`${what} is not a boolean`);
    return v === 1;
  }

  fixed(n: number, what = 'opaque data'): Buffer {
    // Not (n + 3) & ~3: bitwise operators wrap at 2^31, and a claimed length past that would pass the check.
    const padded = n + ((4 - (n % 4)) % 4);
    this.need(padded, what);
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += padded;
    return v;
  }

  opaque(max: number, what = 'opaque data'): Buffer {
    const n = this.u32(what);
    if (n > max) throw new XdrError(`${what} is longer than ${max} bytes`);
    return this.fixed(n, what);
  }

  /** A reader of the next opaque's bytes only (no copy, no Buffer view); this one moves past it. */
  window(max: number, what = 'opaque data'): XdrReader {
    const n = this.u32(what);
    if (n > max) throw new XdrError(`${what} is longer than ${max} bytes`);
    const padded = n + ((4 - (n % 4)) % 4);
    this.need(padded, what);
    const inner = new XdrReader(this.buf, this.at, this.at + n);
    this.at += padded;
    return inner;
  }

  string(max: number, what = 'a string'): string {
    const n = this.u32(what);
    if (n > max) throw new XdrError(`${what} is longer than ${max} bytes`);
    const padded = n + ((4 - (n % 4)) % 4);
    this.need(padded, what);
    const v = this.buf.toString('utf8', this.at, this.at + n);
    this.at += padded;
    return v;
  }

  /** An array count, bounded by the bytes left at `minItemBytes` each. */
  count(what: string, minItemBytes = 4): number {
    const n = this.u32(what);
    if (n * minItemBytes > this.remaining) throw new XdrError(`${what} claims ${n} items but the reply ends first`);
    return n;
  }

  skip(n: number, what = 'data'): void {
    this.need(n, what);
    this.at += n;
  }
}
