/**
 * XDR encoding (RFC 4506): big-endian, every item padded to a multiple of 4
 * bytes. Integers: 4 bytes; hyper (64-bit): 8 bytes; opaque<> and string<>:
 * a 4-byte length, the bytes, zero padding to 4; opaque[n]: n bytes and
 * padding; bool: a 4-byte 0 or 1; arrays: a 4-byte count then the items.
 * The writer grows one buffer; `finish()` hands out the bytes written.
 * `opaqueRef()` takes large payloads (WRITE data) by reference: the message
 * is then a list of segments (`segments()`), sent with one vectored write,
 * so the payload is never copied on its way to the socket.
 */
export class XdrWriter {
  private buf: Buffer;
  private at = 0;
  /** Finished segments before `buf` (only when opaqueRef was used). */
  private done: Buffer[] = [];
  private doneBytes = 0;

  constructor(size = 1024) {
    this.buf = Buffer.allocUnsafe(size);
  }

  get length(): number {
    return this.doneBytes + this.at;
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    // At least 64: after opaqueRef() the buffer may be empty, and doubling 0 would never end.
    let size = Math.max(64, this.buf.length * 2);
    while (size < this.at + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`not an unsigned 32-bit integer: ${v}`);
    this.room(4);
    this.buf.writeUInt32BE(v, this.at);
    this.at += 4;
    return this;
  }

  i32(v: number): this {
    this.room(4);
    this.buf.writeInt32BE(v, this.at);
    this.at += 4;
    return this;
  }

  /** Unsigned hyper. Numbers must be safe integers; bigints any 64-bit value. */
  u64(v: number | bigint): this {
    const b = typeof v === 'bigint' ? v : BigInt(v);
    if (b < 0n || b > 0xffffffffffffffffn || (typeof v === 'number' && !Number.isSafeInteger(v))) throw new RangeError(`not an unsigned 64-bit integer: ${v}`);
    this.room(8);
    this.buf.writeBigUInt64BE(b, this.at);
    this.at += 8;
    return this;
  }

  bool(v: boolean): this {
    return this.u32(v ? 1 : 0);
  }

  /** opaque[n]: exactly `bytes.length` bytes, padded. */
  fixed(bytes: Uint8Array): this {
    const padded = (bytes.length + 3) & ~3;
    this.room(padded);
    this.buf.set(bytes, this.at);
    this.buf.fill(0, this.at + bytes.length, this.at + padded);
    this.at += padded;
    return this;
  }

  /** opaque<>: length, bytes, padding. */
  opaque(bytes: Uint8Array): this {
    this.u32(bytes.length);
    return this.fixed(bytes);
  }

  string(s: string): this {
    return this.opaque(Buffer.from(s, 'utf8'));
  }

  /** opaque<> whose bytes are referenced, not copied: they must not change until the message is sent. */
  opaqueRef(bytes: Buffer): this {
    this.u32(bytes.length);
    this.done.push(this.buf.subarray(0, this.at), bytes);
    this.doneBytes += this.at + bytes.length;
    this.buf = this.buf.subarray(this.at);
    this.at = 0;
    const pad = ((bytes.length + 3) & ~3) - bytes.length;
    this.room(pad);
    this.buf.fill(0, 0, pad);
    this.at = pad;
    return this;
  }

  /** The message as segments, in order (one, unless opaqueRef was used). */
  segments(): Buffer[] {
    const tail = this.buf.subarray(0, this.at);
    return this.done.length ? [...this.done, tail].filter((b) => b.length > 0) : [tail];
  }

  finish(): Buffer {
    return this.done.length ? Buffer.concat(this.segments()) : this.buf.subarray(0, this.at);
  }
}
