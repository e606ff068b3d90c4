import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_LINE, ScpProtocolError, ScpSinkParser, type ScpEvent } from '@/lib/sources/scp-sink';

/** What OpenSSH's `scp -f -p` sends for one file: times, the C record, the content, status 0. */
function fileStream(content: Buffer, name = 'console-backup.age', mode = '0644', withTimes = true): Buffer {
  return Buffer.concat([
    withTimes ? Buffer.from('T1764600000 0 1764600001 0\n') : Buffer.alloc(0),
    Buffer.from(`C${mode} ${content.length} ${name}\n`),
    content,
    Buffer.from([0]),
  ]);
}

/**
 * Events with data merged into one "data" event per run, so that event lists
 * from different splits of the same stream compare equal.
 */
function normalize(events: ScpEvent[]): unknown[] {
  const out: unknown[] = [];
  let data: Buffer[] | null = null;
  for (const e of events) {
    if (e.kind === 'data') {
      (data ??= []).push(Buffer.from(e.chunk));
      continue;
    }
    if (data) {
      out.push({ kind: 'data', hex: Buffer.concat(data).toString('hex') });
      data = null;
    }
    out.push(e);
  }
  if (data) out.push({ kind: 'data', hex: Buffer.concat(data).toString('hex') });
  return out;
}

function parseChunks(chunks: Buffer[]): { events: ScpEvent[]; parser: ScpSinkParser } {
  const parser = new ScpSinkParser();
  return { events: chunks.flatMap((c) => parser.push(c)), parser };
}

const content = crypto.randomBytes(300);
const stream = fileStream(content);
const whole = normalize(parseChunks([stream]).events);

describe('ScpSinkParser', () => {
  it('parses times, a file record, its content and its status', () => {
    expect(whole).toEqual([
      { kind: 'time', mtime: 1764600000, atime: 1764600001 },
      { kind: 'file', mode: 0o644, size: 300, name: 'console-backup.age' },
      { kind: 'data', hex: content.toString('hex') },
      { kind: 'file-end' },
    ]);
  });

  it('gives the same events for the stream split in two at every offset', () => {
    for (let at = 0; at <= stream.length; at++) {
      const { events, parser } = parseChunks([stream.subarray(0, at), stream.subarray(at)]);
      expect(normalize(events), `split at ${at}`).toEqual(whole);
      expect(parser.idle).toBe(true);
    }
  });

  it('gives the same events for the stream split in three at every pair of offsets', () => {
    // Every offset around the records and a sample inside the content.
    const cuts = [...Array.from({ length: 60 }, (_, i) => i), 100, 200, ...Array.from({ length: 20 }, (_, i) => stream.length - 20 + i)];
    for (const a of cuts) {
      for (const b of cuts) {
        if (b < a) continue;
        const { events } = parseChunks([stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]);
        expect(normalize(events), `split at ${a}, ${b}`).toEqual(whole);
      }
    }
  });

  it('gives the same events fed one byte at a time', () => {
    const bytes = Array.from(stream, (b) => Buffer.from([b]));
    expect(normalize(parseChunks(bytes).events)).toEqual(whole);
  });

  it('hands out content as views of the chunks passed in, never more than the announced size', () => {
    const parser = new ScpSinkParser();
    parser.push(Buffer.from('C0600 5 x\n'));
    const chunk = Buffer.from('abcde\u0000');
    const events = parser.push(chunk);
    expect(events).toHaveLength(2);
    const data = events[0] as Extract<ScpEvent, { kind: 'data' }>;
    expect(data.chunk.buffer).toBe(chunk.buffer);
    expect(data.chunk.toString()).toBe('abcde');
    expect(events[1]).toEqual({ kind: 'file-end' });
  });

  it('knows when a file is cut short: inFile until its status byte', () => {
    const parser = new ScpSinkParser();
    parser.push(stream.subarray(0, stream.length - 10));
    expect(parser.inFile).toBe(true);
    expect(parser.idle).toBe(false);
    parser.push(stream.subarray(stream.length - 10, stream.length - 1));
    expect(parser.inFile).toBe(true);
    parser.push(stream.subarray(stream.length - 1));
    expect(parser.inFile).toBe(false);
    expect(parser.idle).toBe(true);
  });

  it('parses an empty file: its status byte follows the record at once', () => {
    const s = fileStream(Buffer.alloc(0), 'empty.age', '0600', false);
    for (let at = 0; at <= s.length; at++) {
      const { events } = parseChunks([s.subarray(0, at), s.subarray(at)]);
      expect(normalize(events)).toEqual([{ kind: 'file', mode: 0o600, size: 0, name: 'empty.age' }, { kind: 'file-end' }]);
    }
  });

  it('parses a name with spaces and UTF-8 split inside a character', () => {
    const name = 'Sicherung März 2026.age';
    const s = fileStream(Buffer.from('xyz'), name, '0644', false);
    for (let at = 0; at <= s.length; at++) {
      const { events } = parseChunks([s.subarray(0, at), s.subarray(at)]);
      expect(events[0]).toEqual({ kind: 'file', mode: 0o644, size: 3, name });
    }
  });

  it('reports the source’s error messages (0x01 and 0x02), at record level and as a file’s status', () => {
    const missing = Buffer.from('\u0001scp: /srv/x.age: No such file or directory\n');
    for (let at = 0; at <= missing.length; at++) {
      const { events, parser } = parseChunks([missing.subarray(0, at), missing.subarray(at)]);
      expect(events).toEqual([{ kind: 'warning', message: 'scp: /srv/x.age: No such file or directory', afterData: false }]);
      expect(parser.idle).toBe(true);
    }
    expect(parseChunks([Buffer.from('\u0002fatal trouble\n')]).events).toEqual([{ kind: 'error', message: 'fatal trouble', afterData: false }]);

    // A read error in the middle of the file: the source pads the content, then sends 0x01 instead of 0x00.
    const failed = Buffer.concat([Buffer.from('C0644 4 f\n'), Buffer.from('abcd'), Buffer.from('\u0001scp: f: Input/output error\n')]);
    for (let at = 0; at <= failed.length; at++) {
      const { events } = parseChunks([failed.subarray(0, at), failed.subarray(at)]);
      expect(normalize(events)).toEqual([
        { kind: 'file', mode: 0o644, size: 4, name: 'f' },
        { kind: 'data', hex: Buffer.from('abcd').toString('hex') },
        { kind: 'warning', message: 'scp: f: Input/output error', afterData: true },
      ]);
    }
  });

  it('parses folder records (sent only with -r)', () => {
    const { events } = parseChunks([Buffer.from('D0755 0 backups\nE\n')]);
    expect(events).toEqual([{ kind: 'directory', mode: 0o755, name: 'backups' }, { kind: 'end-directory' }]);
  });

  it('parses several files one after another', () => {
    const a = crypto.randomBytes(10);
    const b = crypto.randomBytes(7);
    const s = Buffer.concat([fileStream(a, 'a', '0644', false), fileStream(b, 'b', '0644', false)]);
    for (let at = 0; at <= s.length; at++) {
      const { events } = parseChunks([s.subarray(0, at), s.subarray(at)]);
      expect(normalize(events)).toEqual([
        { kind: 'file', mode: 0o644, size: 10, name: 'a' },
        { kind: 'data', hex: a.toString('hex') },
        { kind: 'file-end' },
        { kind: 'file', mode: 0o644, size: 7, name: 'b' },
        { kind: 'data', hex: b.toString('hex') },
        { kind: 'file-end' },
      ]);
    }
  });

  it.each([
    ['an unknown record type', 'X0644 3 f\n'],
    ['a NUL where a record starts', '\u0000'],
    ['a C record without a name', 'C0644 3\n'],
    ['a C record with a 3-digit mode', 'C644 3 f\n'],
    ['a C record with a negative size', 'C0644 -3 f\n'],
    ['a C record with a size past 2^53', 'C0644 99999999999999999 f\n'],
    ['a name with a slash', 'C0644 3 ../../etc/passwd\n'],
    ['the name ".."', 'C0644 3 ..\n'],
    ['a malformed T record', 'T1 2 3\n'],
    ['an E record with text', 'Ex\n'],
  ])('refuses %s', (_what, text) => {
    expect(() => parseChunks([Buffer.from(text)])).toThrow(ScpProtocolError);
  });

  it('refuses a status byte other than 0, 1 or 2 after the content', () => {
    expect(() => parseChunks([Buffer.from('C0644 1 f\nz\u0007')])).toThrow(/status byte 0x07/);
  });

  it('refuses a control line longer than MAX_LINE, however it is split, without buffering past it', () => {
    const parser = new ScpSinkParser();
    parser.push(Buffer.from('\u0001'));
    const piece = Buffer.alloc(1024, 0x61);
    let thrown: unknown = null;
    let fed = 0;
    try {
      for (;;) {
        parser.push(piece);
        fed += piece.length;
        if (fed > MAX_LINE * 2) break;
      }
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ScpProtocolError);
    expect(fed).toBeLessThanOrEqual(MAX_LINE);
  });
});
