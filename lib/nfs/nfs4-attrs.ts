import { XdrError, XdrReader } from './xdr-reader';
import { XdrWriter } from './xdr-writer';

/**
 * File attributes (fattr4, RFC 7530 §5): a bitmap4 (u32 words, bit n of the
 * attribute set is bit n % 32 of word n / 32) and an opaque holding the
 * values of the set bits, in increasing bit order, each XDR-encoded. Values
 * have no length of their own, so only attributes whose encoding is known
 * here can be requested; a reply setting any other bit is refused.
 */
export const ATTR = {
  type: 1,
  change: 3,
  size: 4,
  leaseTime: 10,
  rdattrError: 11,
  fileid: 20,
  maxread: 30,
  maxwrite: 31,
  mode: 33,
  spaceAvail: 42,
  spaceFree: 43,
  spaceTotal: 44,
  spaceUsed: 45,
  timeModify: 53,
} as const;

/** The largest time value a Date holds (ECMA-262 §21.4.1.1), in ms either side of 1970. */
const DATE_MAX_MS = 8.64e15;

/** nfs_ftype4 */
export const FTYPE = { reg: 1, dir: 2, blk: 3, chr: 4, lnk: 5, sock: 6, fifo: 7, attrdir: 8, namedattr: 9 } as const;

export type Attrs = {
  type?: number;
  change?: bigint;
  size?: number;
  leaseTime?: number;
  rdattrError?: number;
  fileid?: bigint;
  maxread?: number;
  maxwrite?: number;
  mode?: number;
  spaceAvail?: number;
  spaceFree?: number;
  spaceTotal?: number;
  spaceUsed?: number;
  /**
   * time_modify (nfstime4: seconds and nanoseconds) in whole milliseconds
   * since 1970, rounded down; left out when it lies beyond what a Date can
   * hold (±8.64e15 ms: a server's garbage, not a time anyone can show).
   */
  timeModifyMs?: number;
};

const DECODERS: Record<number, (r: XdrReader, a: Attrs) => void> = {
  [ATTR.type]: (r, a) => (a.type = r.u32('the file type')),
  [ATTR.change]: (r, a) => (a.change = r.u64big('the change attribute')),
  [ATTR.size]: (r, a) => (a.size = r.u64('the size')),
  [ATTR.leaseTime]: (r, a) => (a.leaseTime = r.u32('the lease time')),
  [ATTR.rdattrError]: (r, a) => (a.rdattrError = r.u32('the attribute error')),
  [ATTR.fileid]: (r, a) => (a.fileid = r.u64big('the file id')),
  [ATTR.maxread]: (r, a) => (a.maxread = r.u64('maxread')),
  [ATTR.maxwrite]: (r, a) => (a.maxwrite = r.u64('maxwrite')),
  [ATTR.mode]: (r, a) => (a.mode = r.u32('the mode')),
  [ATTR.spaceAvail]: (r, a) => (a.spaceAvail = r.u64('space_avail')),
  [ATTR.spaceFree]: (r, a) => (a.spaceFree = r.u64('space_free')),
  [ATTR.spaceTotal]: (r, a) => (a.spaceTotal = r.u64('space_total')),
  [ATTR.spaceUsed]: (r, a) => (a.spaceUsed = r.u64('space_used')),
  [ATTR.timeModify]: (r, a) => {
    const seconds = r.i64('the modification time');
    const nanos = r.u32('the modification time');
    if (nanos >= 1e9) throw new XdrError('a time with more than 10^9 nanoseconds');
    const ms = seconds * 1000 + Math.floor(nanos / 1e6);
    if (Math.abs(ms) <= DATE_MAX_MS) a.timeModifyMs = ms;
  },
};

export function bitmap(bits: number[]): number[] {
  const words: number[] = [];
  for (const b of bits) {
    const i = b >> 5;
    while (words.length <= i) words.push(0);
    words[i] = (words[i]! | (1 << (b & 31))) >>> 0;
  }
  return words;
}

export function writeBitmap(w: XdrWriter, words: number[]): void {
  w.u32(words.length);
  for (const x of words) w.u32(x);
}

export function readBitmap(r: XdrReader, what = 'an attribute bitmap'): number[] {
  const n = r.count(what);
  if (n > 8) throw new XdrError(`${what} with ${n} words`);
  const words: number[] = [];
  for (let i = 0; i < n; i++) words.push(r.u32(what));
  return words;
}

/** fattr4 with the given values; only `mode` is ever sent (creating files and folders). */
export function writeAttrs(w: XdrWriter, a: { mode?: number }): void {
  const vals = new XdrWriter(16);
  const bits: number[] = [];
  if (a.mode !== undefined) {
    bits.push(ATTR.mode);
    vals.u32(a.mode);
  }
  writeBitmap(w, bitmap(bits));
  w.opaque(vals.finish());
}

export function readAttrs(r: XdrReader): Attrs {
  const words = readBitmap(r);
  const vals = r.window(1 << 20, 'attribute values');
  const out: Attrs = {};
  for (let i = 0; i < words.length; i++) {
    // The set bits only, lowest first (the order values are encoded in).
    for (let w = words[i]!; w !== 0; w = (w & (w - 1)) >>> 0) {
      const n = i * 32 + 31 - Math.clz32(w & -w);
      const decode = DECODERS[n];
      if (!decode) throw new XdrError(`attribute ${n}, which was not asked for`);
      decode(vals, out);
    }
  }
  if (vals.remaining !== 0) throw new XdrError('attribute values longer than their bitmap says');
  return out;
}
