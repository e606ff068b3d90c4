/**
 * The sink side of the SCP protocol (the rcp protocol OpenSSH's scp speaks
 * as "scp -f" / "scp -t"; OpenSSH's scp.c is its only specification). We are
 * the sink: the host runs `scp -f -- PATH` (the source) on an SSH exec
 * channel, and the two sides talk over its stdin/stdout:
 *
 *   sink → source   one byte: 0x00 "ready / ok" (sent first, then after each record and after each file)
 *   source → sink   records, each one type byte and a line up to "\n":
 *     C<mode> <size> <name>\n   a file: 4 octal digits, decimal size, a name (no "/"), then,
 *                               after the sink's 0x00, exactly <size> bytes of content, then
 *                               one status byte: 0x00, or 0x01/0x02 and a message line
 *     D<mode> 0 <name>\n        a folder follows (only with -r), until E\n
 *     E\n                       end of that folder
 *     T<mtime> <usec> <atime> <usec>\n   times of the next C/D record (only with -p)
 *     \x01<message>\n           an error about one file (e.g. "scp: /x: No such file or directory");
 *                               the source goes on with the next file or exits 1
 *     \x02<message>\n           a fatal error; the source exits
 *
 * This file only parses the source's bytes into events (ScpEvent), for any
 * split of the stream into chunks: data events are views of the chunks
 * passed in, never copies, so a file is never held in memory. Control lines
 * are bounded (MAX_LINE) so a broken or hostile source cannot make it buffer
 * without limit; a record that breaks the grammar is a ScpProtocolError.
 * scp-download.ts drives it over ssh2.
 *
 * Why our own: no well-kept npm library speaks SCP over an ssh2 connection.
 * node-scp and scp2 are named for SCP but transfer over SFTP (scp2 says so,
 * and is unmaintained); scp1, which does speak SCP, calls itself a basic
 * experiment without tests. The sink side for one file is this small state
 * machine, tested here on every split of its input.
 */

export type ScpEvent =
  | { kind: 'file'; mode: number; size: number; name: string }
  | { kind: 'data'; chunk: Buffer }
  /** The file's content ended and the source said it read it without error. */
  | { kind: 'file-end' }
  | { kind: 'directory'; mode: number; name: string }
  | { kind: 'end-directory' }
  | { kind: 'time'; mtime: number; atime: number }
  /** 0x01 (at record level, or as a file's status): an error about one file. */
  | { kind: 'warning'; message: string; afterData: boolean }
  /** 0x02: fatal. */
  | { kind: 'error'; message: string; afterData: boolean };

export class ScpProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScpProtocolError';
  }
}

/** Longest control line accepted: a name up to 4096 bytes plus mode and size, or a message. */
export const MAX_LINE = 8192;

const FILE_LINE = /^([CD])([0-7]{4}) (\d{1,18}) ([^\n]+)$/;
const TIME_LINE = /^T(\d{1,20}) (\d{1,9}) (\d{1,20}) (\d{1,9})$/;

type State =
  | { at: 'record' }
  | { at: 'line'; type: number; afterData: boolean }
  | { at: 'data'; remaining: number }
  | { at: 'status' };

export class ScpSinkParser {
  #state: State = { at: 'record' };
  #line: Buffer[] = [];
  #lineLength = 0;

  /** True between records: the source may end here without anything being cut short. */
  get idle(): boolean {
    return this.#state.at === 'record';
  }

  /** True while a file's content is expected (the connection ending now cuts the file short). */
  get inFile(): boolean {
    return this.#state.at === 'data' || this.#state.at === 'status';
  }

  push(chunk: Buffer): ScpEvent[] {
    const events: ScpEvent[] = [];
    let i = 0;
    while (i < chunk.length) {
      const s = this.#state;
      switch (s.at) {
        case 'record': {
          const type = chunk[i++]!;
          if (type !== 0x43 /* C */ && type !== 0x44 /* D */ && type !== 0x45 /* E */ && type !== 0x54 /* T */ && type !== 0x01 && type !== 0x02) {
            throw new ScpProtocolError(`unexpected record type 0x${type.toString(16).padStart(2, '0')}`);
          }
          this.#state = { at: 'line', type, afterData: false };
          break;
        }
        case 'line': {
          const nl = chunk.indexOf(0x0a, i);
          const end = nl < 0 ? chunk.length : nl;
          if (this.#lineLength + (end - i) > MAX_LINE) throw new ScpProtocolError('control line too long');
          if (end > i) {
            this.#line.push(chunk.subarray(i, end));
            this.#lineLength += end - i;
          }
          i = end;
          if (nl < 0) break;
          i++; // the "\n"
          const text = Buffer.concat(this.#line, this.#lineLength).toString('utf8');
          this.#line = [];
          this.#lineLength = 0;
          events.push(this.#record(s.type, text, s.afterData));
          break;
        }
        case 'data': {
          const n = Math.min(s.remaining, chunk.length - i);
          events.push({ kind: 'data', chunk: chunk.subarray(i, i + n) });
          i += n;
          s.remaining -= n;
          if (s.remaining === 0) this.#state = { at: 'status' };
          break;
        }
        case 'status': {
          const b = chunk[i++]!;
          if (b === 0x00) {
            events.push({ kind: 'file-end' });
            this.#state = { at: 'record' };
          } else if (b === 0x01 || b === 0x02) {
            this.#state = { at: 'line', type: b, afterData: true };
          } else {
            throw new ScpProtocolError(`unexpected status byte 0x${b.toString(16).padStart(2, '0')} after the file`);
          }
          break;
        }
      }
    }
    return events;
  }

  #record(type: number, text: string, afterData: boolean): ScpEvent {
    this.#state = { at: 'record' };
    switch (type) {
      case 0x01:
        return { kind: 'warning', message: text, afterData };
      case 0x02:
        return { kind: 'error', message: text, afterData };
      case 0x45:
        if (text !== '') throw new ScpProtocolError('malformed E record');
        return { kind: 'end-directory' };
      case 0x54: {
        const m = TIME_LINE.exec(`T${text}`);
        if (!m) throw new ScpProtocolError('malformed T record');
        return { kind: 'time', mtime: Number(m[1]), atime: Number(m[3]) };
      }
      default: {
        const m = FILE_LINE.exec(`${String.fromCharCode(type)}${text}`);
        if (!m) throw new ScpProtocolError(`malformed ${String.fromCharCode(type)} record`);
        const [, letter, modeText = '', sizeText = '', name = ''] = m;
        // The same checks as OpenSSH's sink: a name is one path component.
        if (name.includes('/') || name === '.' || name === '..') throw new ScpProtocolError('the source sent an unsafe file name');
        const size = Number(sizeText);
        if (!Number.isSafeInteger(size)) throw new ScpProtocolError('file size out of range');
        const mode = parseInt(modeText, 8);
        if (letter === 'D') return { kind: 'directory', mode, name };
        // A file of size 0 has no content: its status byte follows the sink's 0x00 at once.
        this.#state = size === 0 ? { at: 'status' } : { at: 'data', remaining: size };
        return { kind: 'file', mode, size, name };
      }
    }
  }
}
