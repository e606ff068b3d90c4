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
  private at = 0;

  constructor(private readonly buf: Buffer) {}

  /** The message being read (for handing a pooled reply back). */
  get buffer(): Buffer {
    return this.buf;
  }

  get remaining(): number {
    return this.buf.length - this.at;
  }

  private need(n: number, what: string): void {
    if (n > this.buf.length - this.at) throw new XdrError(`the reply ends inside ${what}`);
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

  /** A 64-bit size or offset as a number; values past 2^53 are refused (no file or disk here is that large). */
  u64(what = 'a 64-bit integer'): number {
    const v = this.u64big(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new XdrError(`${what} is out of range`);
    return Number(v);
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

  string(max: number, what = 'a string'): string {
    return this.opaque(max, what).toString('utf8');
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
