import { describe, expect, it } from 'vitest';
import { ATTR, bitmap, readAttrs, writeBitmap } from '@/lib/nfs/nfs4-attrs';
import { XdrError, XdrReader } from '@/lib/nfs/xdr-reader';
import { XdrWriter } from '@/lib/nfs/xdr-writer';

/** fattr4 with type and time_modify set: seconds as a signed 64-bit integer, then nanoseconds. */
function typeAndTime(seconds: bigint, nanos: number): XdrReader {
  const vals = new XdrWriter(32);
  vals.u32(1);
  vals.fixed(Buffer.from(BigInt.asUintN(64, seconds).toString(16).padStart(16, '0'), 'hex'));
  vals.u32(nanos);
  const w = new XdrWriter(64);
  writeBitmap(w, bitmap([ATTR.type, ATTR.timeModify]));
  w.opaque(vals.finish());
  return new XdrReader(w.finish());
}

describe('nfs4 attributes: time_modify', () => {
  it('is whole milliseconds since 1970, rounded down, either side of it', () => {
    expect(readAttrs(typeAndTime(1772368496n, 789_999_999)).timeModifyMs).toBe(Date.parse('2026-03-01T12:34:56.789Z'));
    expect(readAttrs(typeAndTime(-2n, 500_000_000)).timeModifyMs).toBe(-1500);
    // The last millisecond a Date holds.
    expect(readAttrs(typeAndTime(8_640_000_000_000n, 0)).timeModifyMs).toBe(8.64e15);
  });

  it('is left out beyond what a Date can hold, so that nothing downstream shows or compares a time that is not one', () => {
    for (const seconds of [8_640_000_000_001n, -8_640_000_000_001n, 2n ** 62n, -(2n ** 63n)]) {
      const a = readAttrs(typeAndTime(seconds, 0));
      expect(a.type).toBe(1);
      expect(a.timeModifyMs).toBeUndefined();
    }
  });

  it('refuses nanoseconds of a whole second or more', () => {
    expect(() => readAttrs(typeAndTime(1n, 1_000_000_000))).toThrow(XdrError);
  });
});
