import { TAR_BLOCK } from './archive';

/**
 * The structure of a tar stream, from its bytes as they arrive, without
 * copying member data: for each piece fed, in order, it says where entries
 * start and which bytes of the piece are an entry's data, so that the
 * caller can hash those bytes where they already are (verify hands the
 * spans to a worker thread, which reads them in shared memory).
 *
 * Read as tar-stream (which writes our archives, archive.ts) writes and
 * reads them:
 *   header   512 bytes: name 0..99 (NUL-ended), size 124..135 (octal, or
 *            base-256 when byte 124 has its high bit set), checksum
 *            148..155 (octal sum of the block with this field as spaces),
 *            typeflag 156, magic "ustar" 257..261, prefix 345..499 (then
 *            the name is prefix/name)
 *   pax      typeflag 'x': its data holds records "LEN key=value\n" whose
 *            path and size replace those of the next header
 *   data     `size` bytes, padded with zeros to a multiple of 512
 *   zeros    an all-zero block where a header would be is padding (the
 *            archive ends with two of them); as tar-stream does, it is skipped
 * Errors are TarFormatError, in words.
 */
export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

export type TarEntry = { name: string; size: number; type: string };

/** What a piece holds: an entry's header, bytes of its data [start, end) in the piece, the end of its data. */
export type TarEvent = { kind: 'entry'; entry: TarEntry } | { kind: 'data'; start: number; end: number } | { kind: 'end' };

/** Pax headers longer than this are refused (ours hold one path). */
const MAX_PAX = 1 << 20;

function octal(block: Buffer, from: number, to: number): number | null {
  if (block[from]! & 0x80) {
    // Base-256 (GNU, for sizes of 8 GiB and more): big-endian after the marker byte.
    let n = block[from]! & 0x7f;
    for (let i = from + 1; i < to; i++) n = n * 256 + block[i]!;
    return Number.isSafeInteger(n) ? n : null;
  }
  const text = block.toString('latin1', from, to).replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (text === '') return 0;
  return /^[0-7]{1,12}$/.test(text) ? parseInt(text, 8) : null;
}

function text(block: Buffer, from: number, to: number): string {
  const nul = block.indexOf(0, from);
  return block.toString('utf8', from, nul < 0 || nul > to ? to : nul);
}

/** Pax records: "LEN key=value\n", LEN counting the whole record. */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let at = 0;
  while (at < data.length && data[at] !== 0) {
    const space = data.indexOf(0x20, at);
    const len = space < 0 ? NaN : Number(data.toString('latin1', at, space));
    if (!Number.isSafeInteger(len) || len <= space - at + 1 || at + len > data.length || data[at + len - 1] !== 0x0a) {
      throw new TarFormatError('a pax header is malformed');
    }
    const record = data.toString('utf8', space + 1, at + len - 1);
    const eq = record.indexOf('=');
    if (eq < 1) throw new TarFormatError('a pax header is malformed');
    out.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return out;
}

export class TarWalker {
  /** A header (or pax data) being gathered across pieces. */
  private gather = Buffer.alloc(TAR_BLOCK);
  private gathered = 0;
  private state: 'header' | 'data' | 'pad' | 'pax' = 'header';
  /** Bytes left of the current entry's data, or of the padding after it. */
  private left = 0;
  private padding = 0;
  private pax: Map<string, string> | null = null;
  private paxSize = 0;
  private current: TarEntry | null = null;

  private header(block: Buffer, events: TarEvent[]): void {
    if (block.every((b) => b === 0)) return;
    let sum = 0;
    for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
    if (octal(block, 148, 156) !== sum) throw new TarFormatError('a tar header is damaged (its checksum does not match)');
    if (block.toString('latin1', 257, 262) !== 'ustar') throw new TarFormatError('a tar header is not in the ustar format');
    let size = octal(block, 124, 136);
    if (size === null) throw new TarFormatError('a tar header has an invalid size');
    const type = block[156] === 0 ? '0' : String.fromCharCode(block[156]!);
    const prefix = block[257 + 5] === 0 ? text(block, 345, 500) : '';
    let name = prefix ? `${prefix}/${text(block, 0, 100)}` : text(block, 0, 100);
    if (type === 'x') {
      if (size > MAX_PAX) throw new TarFormatError('a pax header is too large');
      this.state = 'pax';
      this.paxSize = size;
      this.gather = Buffer.alloc(Math.ceil(size / TAR_BLOCK) * TAR_BLOCK);
      this.gathered = 0;
      if (size === 0) this.paxDone();
      return;
    }
    if (this.pax) {
      name = this.pax.get('path') ?? name;
      const paxSize = this.pax.get('size');
      if (paxSize !== undefined) {
        if (!/^[0-9]{1,16}$/.test(paxSize) || !Number.isSafeInteger(Number(paxSize))) throw new TarFormatError('a pax header has an invalid size');
        size = Number(paxSize);
      }
      this.pax = null;
    }
    this.current = { name, size, type };
    events.push({ kind: 'entry', entry: this.current });
    this.left = size;
    this.padding = (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;
    this.state = 'data';
    if (size === 0) this.dataDone(events);
  }

  private dataDone(events: TarEvent[]): void {
    events.push({ kind: 'end' });
    this.left = this.padding;
    this.state = this.left ? 'pad' : 'header';
  }

  private paxDone(): void {
    this.pax = paxRecords(this.gather.subarray(0, this.paxSize));
    this.gather = Buffer.alloc(TAR_BLOCK);
    this.gathered = 0;
    this.state = 'header';
  }

  /** The events of the archive's next bytes, in order; data events are ranges of `piece`. */
  feed(piece: Buffer): TarEvent[] {
    const events: TarEvent[] = [];
    let i = 0;
    while (i < piece.length) {
      if (this.state === 'data') {
        const n = Math.min(this.left, piece.length - i);
        events.push({ kind: 'data', start: i, end: i + n });
        i += n;
        this.left -= n;
        if (this.left === 0) this.dataDone(events);
      } else if (this.state === 'pad') {
        const n = Math.min(this.left, piece.length - i);
        i += n;
        this.left -= n;
        if (this.left === 0) this.state = 'header';
      } else {
        // A header block, or a pax header's data: whole in the piece, or gathered across pieces.
        const want = this.gather.length;
        if (this.gathered === 0 && piece.length - i >= want) {
          const block = piece.subarray(i, i + want);
          i += want;
          if (this.state === 'pax') {
            block.copy(this.gather);
            this.paxDone();
          } else this.header(block, events);
        } else {
          const n = Math.min(want - this.gathered, piece.length - i);
          piece.copy(this.gather, this.gathered, i, i + n);
          this.gathered += n;
          i += n;
          if (this.gathered === want) {
            this.gathered = 0;
            if (this.state === 'pax') this.paxDone();
            else this.header(Buffer.from(this.gather), events);
          }
        }
      }
    }
    return events;
  }

  /** The archive's bytes ended: only where an entry could start. */
  end(): void {
    if (this.state === 'data' || this.state === 'pad') throw new TarFormatError(`it ends inside ${this.current?.name ?? 'an entry'}`);
    if (this.state === 'pax' || this.gathered > 0) throw new TarFormatError('it ends inside a tar header');
  }
}
