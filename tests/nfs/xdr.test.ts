import { describe, expect, it } from 'vitest';
import { XdrError, XdrReader } from '@/lib/nfs/xdr-reader';
import { XdrWriter } from '@/lib/nfs/xdr-writer';
import { inWorker } from './in-worker';
import type { OpaqueRefCase } from './writer-cases';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const reader = (s: string) => new XdrReader(hex(s));

function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error, nothing was thrown');
}

describe('XdrWriter and XdrReader', () => {
  it('write unsigned 32-bit integers big-endian and read them back, from 0 to 2^32-1', () => {
    const values = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
    const w = new XdrWriter(4);
    for (const v of values) w.u32(v);
    expect(w.finish().toString('hex')).toBe('00000000' + '00000001' + '7fffffff' + '80000000' + 'fffffffe' + 'ffffffff');
    const r = new XdrReader(w.finish());
    expect(values.map(() => r.u32())).toEqual(values);
    expect(r.remaining).toBe(0);
  });

  it.each([-1, 2 ** 32, 1.5, Number.NaN, Infinity])('refuses to write %s as an unsigned 32-bit integer', (v) => {
    expect(() => new XdrWriter().u32(v)).toThrow(RangeError);
  });

  it('reads signed 32-bit integers', () => {
    const w = new XdrWriter().i32(-1).i32(-2147483648).i32(2147483647);
    expect(w.finish().toString('hex')).toBe('ffffffff80000000' + '7fffffff');
    const r = new XdrReader(w.finish());
    expect([r.i32(), r.i32(), r.i32()]).toEqual([-1, -2147483648, 2147483647]);
  });

  it('writes 64-bit integers from numbers and bigints and reads them back', () => {
    const w = new XdrWriter(8).u64(0).u64(Number.MAX_SAFE_INTEGER).u64(0x0102030405060708n).u64(2n ** 64n - 1n);
    expect(w.finish().toString('hex')).toBe('0000000000000000' + '001fffffffffffff' + '0102030405060708' + 'ffffffffffffffff');
    const r = new XdrReader(w.finish());
    expect(r.u64()).toBe(0);
    expect(r.u64()).toBe(2 ** 53 - 1);
    expect(r.u64big()).toBe(0x0102030405060708n);
    expect(r.u64big()).toBe(2n ** 64n - 1n);
  });

  it('refuses 64-bit values it cannot represent exactly', () => {
    // A number past 2^53 has already lost precision; bigints take any 64-bit value.
    expect(() => new XdrWriter().u64(2 ** 53)).toThrow(RangeError);
    expect(() => new XdrWriter().u64(-1)).toThrow(RangeError);
    expect(() => new XdrWriter().u64(0.5)).toThrow(RangeError);
    expect(() => new XdrWriter().u64(-1n)).toThrow(RangeError);
    expect(() => new XdrWriter().u64(2n ** 64n)).toThrow(RangeError);
    // reader.u64 gives numbers up to 2^53-1 and refuses 2^53 with words; u64big reads it.
    const r = reader('0020000000000000');
    const e = thrownBy(() => r.u64('the size'));
    expect(e).toBeInstanceOf(XdrError);
    expect(e.message).toBe('the size is out of range');
    expect(reader('0020000000000000').u64big()).toBe(2n ** 53n);
    expect(reader('ffffffffffffffff').i64big()).toBe(-1n);
    expect(reader('fffffffffffffffe').i64big()).toBe(-2n);
    expect(reader('001fffffffffffff').u64()).toBe(2 ** 53 - 1);
    expect(reader('0000000100000002').u64()).toBe(2 ** 32 + 2);
    // i64 as a number: exact within 2^53, the sign from the high word.
    for (const v of [0n, 1n, -1n, -2n, 2n ** 32n, -(2n ** 32n) - 1n, 2n ** 53n - 1n, -(2n ** 53n) + 1n, 1_764_000_000n, -1_764_000_000n]) {
      expect(new XdrReader(new XdrWriter().u64(BigInt.asUintN(64, v)).finish()).i64()).toBe(Number(v));
    }
  });

  it('reads an opaque through a window bounded by its length, and moves past its padding', () => {
    const r = new XdrReader(new XdrWriter().opaque(new XdrWriter().u32(7).u32(9).finish().subarray(0, 6)).u32(42).finish());
    const w = r.window(100, 'attribute values');
    expect(w.remaining).toBe(6);
    expect(w.u32()).toBe(7);
    expect(thrownBy(() => w.u32('the size')).message).toBe('the reply ends inside the size');
    expect(r.u32()).toBe(42);
    expect(thrownBy(() => reader('00000009 00000000').window(8, 'attribute values')).message).toBe('attribute values is longer than 8 bytes');
  });

  it('pads opaque data to a multiple of 4 with zero bytes and reads past the padding', () => {
    for (let n = 0; n <= 9; n++) {
      const data = Buffer.alloc(n, 0xab);
      const w = new XdrWriter(4).opaque(data).u32(0x11223344);
      const out = w.finish();
      const padded = Math.ceil(n / 4) * 4;
      expect(out.length, `length ${n}`).toBe(4 + padded + 4);
      expect(out.readUInt32BE(0)).toBe(n);
      expect(out.subarray(4, 4 + n)).toEqual(data);
      expect([...out.subarray(4 + n, 4 + padded)], `padding of ${n}`).toEqual(Array(padded - n).fill(0));
      const r = new XdrReader(out);
      expect(r.opaque(9)).toEqual(data);
      expect(r.u32()).toBe(0x11223344);
    }
  });

  it('writes fixed-length opaque data without a length, padded, and reads it back', () => {
    for (let n = 0; n <= 7; n++) {
      const data = Buffer.alloc(n, 0xcd);
      const out = new XdrWriter(4).fixed(data).u32(7).finish();
      expect(out.length).toBe(Math.ceil(n / 4) * 4 + 4);
      const r = new XdrReader(out);
      expect(r.fixed(n)).toEqual(data);
      expect(r.u32()).toBe(7);
    }
  });

  it('writes strings as UTF-8 bytes with their byte length', () => {
    const s = 'héllo wörld ✓ 😀';
    const out = new XdrWriter().string(s).string('').finish();
    expect(out.readUInt32BE(0)).toBe(Buffer.byteLength(s, 'utf8'));
    expect(out.subarray(4, 4 + Buffer.byteLength(s))).toEqual(Buffer.from(s, 'utf8'));
    const r = new XdrReader(out);
    expect(r.string(100)).toBe(s);
    expect(r.string(100)).toBe('');
    expect(r.remaining).toBe(0);
  });

  it('counts the maximum of a string in bytes, not characters', () => {
    const out = new XdrWriter().string('ééé').finish(); // 3 characters, 6 bytes
    expect(new XdrReader(out).string(6)).toBe('ééé');
    const e = thrownBy(() => new XdrReader(out).string(5, 'a name'));
    expect(e).toBeInstanceOf(XdrError);
    expect(e.message).toBe('a name is longer than 5 bytes');
  });

  it('writes booleans as 0 and 1 and refuses any other value when reading', () => {
    expect(new XdrWriter().bool(true).bool(false).finish().toString('hex')).toBe('0000000100000000');
    const r = reader('00000001 00000000');
    expect([r.bool(), r.bool()]).toEqual([true, false]);
    const e = thrownBy(() => reader('00000002').bool('the eof flag'));
    expect(e).toBeInstanceOf(XdrError);
    expect(e.message).toBe('the eof flag is not a boolean');
    expect(() => reader('ffffffff').bool()).toThrow(XdrError);
  });

  it('grows its buffer and keeps what was written', () => {
    const small = new XdrWriter(1);
    const large = new XdrWriter(1 << 16);
    for (const w of [small, large]) {
      for (let i = 0; i < 300; i++) w.u32(i).string(`item ${i}`).u64(BigInt(i) * 2n ** 40n);
    }
    expect(small.length).toBe(large.length);
    expect(small.finish()).toEqual(large.finish());
    const r = new XdrReader(small.finish());
    for (let i = 0; i < 300; i++) expect([r.u32(), r.string(20), r.u64big()]).toEqual([i, `item ${i}`, BigInt(i) * 2n ** 40n]);
  });
});

describe('XdrReader on truncated and hostile input', () => {
  const items: [string, Buffer, (r: XdrReader) => unknown][] = [
    ['u32', new XdrWriter().u32(5).finish(), (r) => r.u32()],
    ['i32', new XdrWriter().i32(-5).finish(), (r) => r.i32()],
    ['u64', new XdrWriter().u64(5).finish(), (r) => r.u64()],
    ['u64big', new XdrWriter().u64(5n).finish(), (r) => r.u64big()],
    ['i64big', new XdrWriter().u64(5n).finish(), (r) => r.i64big()],
    ['i64', new XdrWriter().u64(5n).finish(), (r) => r.i64()],
    ['window', new XdrWriter().opaque(Buffer.alloc(6, 1)).finish(), (r) => r.window(100)],
    ['bool', new XdrWriter().bool(true).finish(), (r) => r.bool()],
    ['fixed(5)', new XdrWriter().fixed(Buffer.alloc(5, 1)).finish(), (r) => r.fixed(5)],
    ['opaque', new XdrWriter().opaque(Buffer.alloc(6, 1)).finish(), (r) => r.opaque(100)],
    ['string', new XdrWriter().string('hello').finish(), (r) => r.string(100)],
  ];

  it.each(items)('refuses %s cut at every length before its end, padding included', (_name, full, read) => {
    expect(() => read(new XdrReader(full))).not.toThrow();
    for (let n = 0; n < full.length; n++) {
      const e = thrownBy(() => read(new XdrReader(full.subarray(0, n))));
      expect(e, `cut at ${n}`).toBeInstanceOf(XdrError);
      expect(e.message).toMatch(/^the reply ends inside /);
    }
  });

  it('names what it was reading when the reply ends', () => {
    expect(thrownBy(() => reader('0000').u32('the compound status')).message).toBe('the reply ends inside the compound status');
  });

  it('refuses a length over the maximum before reading the data', () => {
    const out = new XdrWriter().opaque(Buffer.alloc(129)).finish();
    const e = thrownBy(() => new XdrReader(out).opaque(128, 'a file handle'));
    expect(e).toBeInstanceOf(XdrError);
    expect(e.message).toBe('a file handle is longer than 128 bytes');
    // A huge claimed length with only a few bytes behind it.
    expect(() => reader('ffffffff 00000000').opaque(1 << 20)).toThrow(/longer than 1048576 bytes/);
  });

  it.each([0x7ffffffd, 0x80000000, 0xfffffffd, 0xffffffff])('refuses a claimed length of %i beyond the reply even when the maximum allows it', (n) => {
    // The padded length must not overflow 32-bit arithmetic (which would let the reader move backwards).
    const buf = Buffer.alloc(32);
    buf.writeUInt32BE(n, 0);
    const r = new XdrReader(buf);
    const e = thrownBy(() => r.opaque(0xffffffff, 'read data'));
    expect(e).toBeInstanceOf(XdrError);
    expect(e.message).toBe('the reply ends inside read data');
    expect(() => new XdrReader(Buffer.alloc(32)).fixed(n)).toThrow(XdrError);
  });

  it('refuses an array count larger than the remaining bytes allow', () => {
    // Three items of 4 bytes follow.
    expect(reader('00000003 00000001 00000002 00000003').count('the entries')).toBe(3);
    const e = thrownBy(() => reader('00000004 00000001 00000002 00000003').count('the entries'));
    expect(e).toBeInstanceOf(XdrError);
    expect(e.message).toBe('the entries claims 4 items but the reply ends first');
    // With 8 bytes at least per item, 12 bytes hold one item, not two.
    expect(reader('00000001 00000001 00000002 00000003').count('the results', 8)).toBe(1);
    expect(() => reader('00000002 00000001 00000002 00000003').count('the results', 8)).toThrow(XdrError);
    expect(() => reader('ffffffff').count('the entries')).toThrow(XdrError);
    expect(reader('00000000').count('the entries')).toBe(0);
  });

  it('refuses to skip past the end', () => {
    const r = reader('00000001 00000002');
    r.skip(4);
    expect(() => r.skip(8)).toThrow(XdrError);
    expect(r.u32()).toBe(2);
  });
});

describe('XdrWriter.opaqueRef', () => {
  it('writes the same bytes as opaque() for any buffer size, position and payload length, the payload not copied', async () => {
    // In a worker: a writer whose buffer cannot grow would loop forever.
    const cases = await inWorker<OpaqueRefCase[]>('./writer-cases.ts', 'opaqueRefCases', null, 10_000);
    expect(cases).toHaveLength(7 * 5 * 10);
    for (const c of cases) {
      expect(c.referenced, c.label).toBe(c.copied);
      expect(c.segments, c.label).toBe(c.copied);
      expect(c.lengths[1], c.label).toBe(c.lengths[0]);
      expect(c.payloadIsASegment, c.label).toBe(!c.label.endsWith(' 0 bytes by reference'));
    }
  });
});
