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

export function frameRecord(message: Buffer): Buffer {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE((LAST_FRAGMENT | message.length) >>> 0, 0);
  return Buffer.concat([header, message]);
}

export class RecordParser {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Fragments of the record being assembled. */
  private fragments: Buffer[] = [];
  private recordBytes = 0;

  constructor(private readonly maxRecord: number) {}

  /** Takes the next slice of the stream; returns the records it completed. Throws XdrError on a record that is too large. */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    const out: Buffer[] = [];
    for (;;) {
      if (this.pendingBytes < 4) break;
      const head = this.peek(4);
      const word = head.readUInt32BE(0);
      const length = word & 0x7fffffff;
      const last = (word & LAST_FRAGMENT) !== 0;
      if (this.recordBytes + length > this.maxRecord) throw new XdrError(`a record of more than ${this.maxRecord} bytes`);
      if (this.pendingBytes < 4 + length) break;
      this.take(4);
      const fragment = this.take(length);
      this.fragments.push(fragment);
      this.recordBytes += length;
      if (last) {
        out.push(this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments, this.recordBytes));
        this.fragments = [];
        this.recordBytes = 0;
      }
    }
    return out;
  }

  private peek(n: number): Buffer {
    if (this.pending[0]!.length >= n) return this.pending[0]!.subarray(0, n);
    return Buffer.concat(this.pending, Math.max(n, 0)).subarray(0, n);
  }

  private take(n: number): Buffer {
    let out: Buffer;
    const first = this.pending[0];
    if (first && first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.pending, this.pendingBytes);
      out = all.subarray(0, n);
      this.pending = all.length > n ? [all.subarray(n)] : [];
    }
    this.pendingBytes -= n;
    return out;
  }
}
