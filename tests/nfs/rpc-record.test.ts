import { describe, expect, it } from 'vitest';
import { frameRecord, RecordParser } from '@/lib/nfs/rpc-record';
import { XdrError } from '@/lib/nfs/xdr-reader';
import { xorshift } from './replies';

/** One fragment: a 4-byte header (top bit: last fragment; low 31 bits: length), then the bytes. */
function fragment(bytes: Buffer, last: boolean): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(((last ? 0x80000000 : 0) | bytes.length) >>> 0, 0);
  return Buffer.concat([h, bytes]);
}

/** A record split into fragments of the given sizes (the last one marked last). */
function fragmented(message: Buffer, sizes: number[]): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  sizes.forEach((n, i) => {
    parts.push(fragment(message.subarray(at, at + n), i === sizes.length - 1));
    at += n;
  });
  expect(at).toBe(message.length);
  return Buffer.concat(parts);
}

function bytes(n: number, seed: number): Buffer {
  const next = xorshift(seed);
  return Buffer.from(Array.from({ length: n }, () => next() & 0xff));
}

const messages = [
  bytes(12, 1), // one fragment, frameRecord
  bytes(9, 2), // three fragments 3 + 1 + 5, hand-made
  Buffer.alloc(0), // an empty record, frameRecord
  bytes(10, 3), // fragments 4 + 6 + an empty last fragment
  bytes(7, 4), // an empty first fragment, then 7
  bytes(700, 5), // one larger fragment, frameRecord
  bytes(301, 6), // fragments 100 + 100 + 101
];
const stream = Buffer.concat([
  frameRecord(messages[0]!),
  fragmented(messages[1]!, [3, 1, 5]),
  frameRecord(messages[2]!),
  fragmented(messages[3]!, [4, 6, 0]),
  fragmented(messages[4]!, [0, 7]),
  frameRecord(messages[5]!),
  fragmented(messages[6]!, [100, 100, 101]),
]);

/** Feeds the chunks one by one; all records that came out, in order. */
function parse(chunks: Buffer[], maxRecord = 1 << 20): Buffer[] {
  const p = new RecordParser(maxRecord);
  return chunks.flatMap((c) => p.push(c));
}

/** Compares as hex, so a failure shows which record differs. */
const hex = (bs: Buffer[]) => bs.map((b) => b.toString('hex'));

describe('frameRecord', () => {
  it('writes one last fragment: the top bit set and the length in the low 31 bits', () => {
    expect(frameRecord(Buffer.from('hello')).toString('hex')).toBe('80000005' + Buffer.from('hello').toString('hex'));
    expect(frameRecord(Buffer.alloc(0)).toString('hex')).toBe('80000000');
    expect(frameRecord(Buffer.alloc(0x12345)).subarray(0, 4).toString('hex')).toBe('80012345');
  });
});

describe('RecordParser', () => {
  it('returns every record of a stream pushed at once, in order', () => {
    expect(hex(parse([stream]))).toEqual(hex(messages));
  });

  it('returns the same records wherever the stream is split in two', () => {
    const want = hex(messages);
    for (let cut = 0; cut <= stream.length; cut++) {
      expect(hex(parse([stream.subarray(0, cut), stream.subarray(cut)])), `split at ${cut}`).toEqual(want);
    }
  });

  it('returns the same records fed a byte at a time, each exactly when its last byte arrives', () => {
    const p = new RecordParser(1 << 20);
    const out: Buffer[] = [];
    const completedAt: number[] = [];
    for (let i = 0; i < stream.length; i++) {
      for (const r of p.push(stream.subarray(i, i + 1))) {
        out.push(r);
        completedAt.push(i + 1);
      }
    }
    expect(hex(out)).toEqual(hex(messages));
    // Where each record ends in the stream: its fragments' headers and bytes.
    const fragmentsOf = [1, 3, 1, 3, 2, 1, 3];
    let end = 0;
    const ends = messages.map((m, i) => (end += m.length + 4 * fragmentsOf[i]!));
    expect(completedAt).toEqual(ends);
    expect(end).toBe(stream.length);
  });

  it('returns the same records for random chunkings of the stream', () => {
    const next = xorshift(0xc0ffee);
    const want = hex(messages);
    for (let round = 0; round < 300; round++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length; ) {
        const n = next() % 4 === 0 ? 0 : 1 + (next() % 40);
        chunks.push(stream.subarray(at, at + n));
        at += n;
      }
      expect(hex(parse(chunks)), `round ${round}`).toEqual(want);
    }
  });

  it('keeps a partial header and a partial fragment until the rest arrives', () => {
    const a = frameRecord(Buffer.from('first record'));
    const b = fragmented(Buffer.from('second, in two'), [7, 7]);
    const p = new RecordParser(1 << 20);
    expect(p.push(a.subarray(0, 2))).toEqual([]);
    expect(p.push(a.subarray(2, 10))).toEqual([]);
    // The rest of the first record and the first header and a half of the second.
    expect(hex(p.push(Buffer.concat([a.subarray(10), b.subarray(0, 13)])))).toEqual(hex([Buffer.from('first record')]));
    expect(p.push(b.subarray(13, 14))).toEqual([]);
    expect(p.push(Buffer.alloc(0))).toEqual([]);
    expect(hex(p.push(b.subarray(14)))).toEqual(hex([Buffer.from('second, in two')]));
    // Nothing left over: the next record stands on its own.
    expect(hex(p.push(frameRecord(Buffer.from('third'))))).toEqual(hex([Buffer.from('third')]));
  });

  it('accepts a record of exactly maxRecord bytes, in one fragment or several', () => {
    expect(parse([frameRecord(Buffer.alloc(100, 1))], 100)[0]).toEqual(Buffer.alloc(100, 1));
    expect(parse([fragmented(Buffer.alloc(100, 2), [40, 60, 0])], 100)[0]).toEqual(Buffer.alloc(100, 2));
  });

  it('refuses a fragment longer than maxRecord as soon as its header arrives, before its bytes', () => {
    const p = new RecordParser(100);
    expect(() => p.push(frameRecord(Buffer.alloc(101)).subarray(0, 4))).toThrow(XdrError);
    expect(() => new RecordParser(100).push(Buffer.from('ffffffff', 'hex'))).toThrow(/a record of more than 100 bytes/);
    expect(() => new RecordParser(1 << 20).push(Buffer.from('7fffffff00', 'hex'))).toThrow(XdrError);
  });

  it('refuses a record whose fragments together exceed maxRecord, when the header that crosses the limit arrives', () => {
    const stream2 = fragmented(Buffer.alloc(120, 3), [60, 60]);
    const p = new RecordParser(100);
    // The first fragment (60 bytes) is within the limit.
    expect(p.push(stream2.subarray(0, 64))).toEqual([]);
    expect(() => p.push(stream2.subarray(64, 68))).toThrow(/a record of more than 100 bytes/);
    // Many small fragments: the limit counts the record, not each fragment.
    const many = fragmented(Buffer.alloc(110, 4), Array.from({ length: 11 }, () => 10));
    expect(() => parse([many], 100)).toThrow(XdrError);
    expect(parse([many], 110)[0]).toEqual(Buffer.alloc(110, 4));
  });

  it('counts the limit per record: records one after another are each up to maxRecord', () => {
    const twice = Buffer.concat([fragmented(Buffer.alloc(80, 5), [50, 30]), fragmented(Buffer.alloc(80, 6), [30, 50])]);
    expect(hex(parse([twice], 80))).toEqual(hex([Buffer.alloc(80, 5), Buffer.alloc(80, 6)]));
  });
});

describe('RecordParser against endless fragments', () => {
  it('refuses a record in more fragments than any server sends', () => {
    expect(() => new RecordParser(1 << 20).push(Buffer.alloc(4 * 100_000))).toThrow(XdrError);
  });
});

/**
 * The connection reads from the socket straight into target() and then calls
 * advance(n): the kernel may hand over any number of bytes up to the
 * target's size. Feed the stream that way with every cap on a read.
 */
function parseInPlace(cap: number): Buffer[] {
  const p = new RecordParser(1 << 20);
  const out: Buffer[] = [];
  let at = 0;
  while (at < stream.length) {
    const target = p.target();
    const n = Math.min(target.length, cap, stream.length - at);
    stream.copy(target, 0, at, at + n);
    at += n;
    out.push(...p.advance(n));
  }
  return out;
}

describe('RecordParser read in place (target/advance)', () => {
  it('gives the same records whatever the kernel hands over per read, from 1 byte to the whole stream', () => {
    for (let cap = 1; cap <= stream.length; cap += cap < 64 ? 1 : 37) {
      expect(hex(parseInPlace(cap))).toEqual(hex(messages));
    }
  });

  it('refuses an oversized record before allocating it', () => {
    const p = new RecordParser(100);
    const mark = p.target();
    Buffer.from([0xff, 0xff, 0xff, 0xff]).copy(mark);
    expect(() => p.advance(4)).toThrow(XdrError);
  });
});
