import crypto from 'node:crypto';
import { AgeHeaderError, AgeMacError } from './errors';
import {
  BYTES_PER_LINE,
  COLUMNS_PER_LINE,
  FILE_KEY_SIZE,
  HEADER_MAC_INFO,
  MAC_PREFIX,
  MAC_SIZE,
  MAX_HEADER_SIZE,
  SCRYPT_BODY_SIZE,
  SCRYPT_SALT_SIZE,
  SCRYPT_TYPE,
  STANZA_PREFIX,
  VERSION_LINE,
  VERSION_PREFIX,
} from './format';

/**
 * Serializer and strict parser of the age v1 header (layout: format.ts).
 * Stanzas of any type parse generically; scrypt stanzas are also checked
 * against the scrypt rules, since a header that breaks them is invalid.
 */

export interface Stanza {
  /** First argument, e.g. "scrypt". */
  type: string;
  /** The arguments after the type. */
  args: string[];
  body: Buffer;
}

export interface Header {
  stanzas: Stanza[];
  mac: Buffer;
  /** The bytes the MAC covers: from the start through "---". */
  macInput: Buffer;
}

export interface ParsedHeader {
  header: Header;
  /** Bytes the header took, including the MAC line's LF: the payload starts here. */
  size: number;
}

// ── Canonical unpadded base64 ───────────────────────────────────────────────

const BASE64_CHARS = /^[A-Za-z0-9+/]*$/;

export function encodeBase64(bytes: Uint8Array): string {
  const s = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0x3d /* = */) end--;
  return s.slice(0, end);
}

/** Decodes canonical unpadded base64; null for anything else (padding, stray bits, other characters). */
export function decodeBase64(s: string): Buffer | null {
  if (!BASE64_CHARS.test(s) || s.length % 4 === 1) return null;
  const bytes = Buffer.from(s, 'base64');
  // Canonical: re-encoding gives the same text (unused trailing bits are zero).
  return encodeBase64(bytes) === s ? bytes : null;
}

// ── Serializer ──────────────────────────────────────────────────────────────

function isArgument(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

function encodeStanza(stanza: Stanza): string {
  for (const arg of [stanza.type, ...stanza.args]) {
    if (!isArgument(arg)) throw new TypeError(`age stanza argument ${JSON.stringify(arg)} is not 1+ printable ASCII characters`);
  }
  const body = encodeBase64(stanza.body);
  let out = STANZA_PREFIX + [stanza.type, ...stanza.args].join(' ') + '\n';
  // Full 64-column lines, then one shorter line (empty when the body fills its last line).
  let i = 0;
  for (; i + COLUMNS_PER_LINE <= body.length; i += COLUMNS_PER_LINE) out += body.slice(i, i + COLUMNS_PER_LINE) + '\n';
  return out + body.slice(i) + '\n';
}

/** The header from the start through "---": what the MAC covers. */
export function encodeHeaderWithoutMac(stanzas: readonly Stanza[]): Buffer {
  if (stanzas.length === 0) throw new TypeError('an age header needs at least one stanza');
  const text = VERSION_LINE + '\n' + stanzas.map(encodeStanza).join('') + MAC_PREFIX;
  return Buffer.from(text, 'latin1');
}

/** The whole header, MAC line included. */
export function encodeHeader(macInput: Buffer, mac: Uint8Array): Buffer {
  if (mac.length !== MAC_SIZE) throw new TypeError('the header MAC is 32 bytes');
  return Buffer.concat([macInput, Buffer.from(' ' + encodeBase64(mac) + '\n', 'latin1')]);
}

// ── MAC ─────────────────────────────────────────────────────────────────────

export function computeHeaderMac(fileKey: Uint8Array, macInput: Uint8Array): Buffer {
  if (fileKey.length !== FILE_KEY_SIZE) throw new TypeError('the file key is 16 bytes');
  const macKey = Buffer.from(crypto.hkdfSync('sha256', fileKey, Buffer.alloc(0), HEADER_MAC_INFO, 32));
  return crypto.createHmac('sha256', macKey).update(macInput).digest();
}

/** Throws AgeMacError unless the header's MAC is right for this file key. */
export function verifyHeaderMac(fileKey: Uint8Array, header: Header): void {
  const want = computeHeaderMac(fileKey, header.macInput);
  if (!crypto.timingSafeEqual(want, header.mac)) throw new AgeMacError();
}

/** Serializes a complete header for these stanzas under this file key. */
export function serializeHeader(stanzas: readonly Stanza[], fileKey: Uint8Array): Buffer {
  const macInput = encodeHeaderWithoutMac(stanzas);
  return encodeHeader(macInput, computeHeaderMac(fileKey, macInput));
}

// ── Parser ──────────────────────────────────────────────────────────────────

const VERSION_BYTES = Buffer.from(VERSION_LINE + '\n', 'latin1');
const LF = 0x0a;

function malformed(detail: string): AgeHeaderError {
  return new AgeHeaderError('malformed', detail);
}

/**
 * Parses the header at the start of `buf`. Returns null when `buf` is a valid
 * but incomplete prefix (read more and call again with the longer prefix);
 * throws AgeHeaderError as soon as the bytes can't be a valid header, or when
 * no header has ended within MAX_HEADER_SIZE bytes. A caller at end of input
 * turns a null into a 'truncated' error (see parseCompleteHeader).
 */
export function parseHeader(buf: Uint8Array): ParsedHeader | null {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const limit = Math.min(b.length, MAX_HEADER_SIZE);

  // Version line: compare as far as we have it, so that a non-age file fails at once.
  const vlen = Math.min(limit, VERSION_BYTES.length);
  if (!b.subarray(0, vlen).equals(VERSION_BYTES.subarray(0, vlen))) {
    const prefix = Buffer.from(VERSION_PREFIX, 'latin1');
    const plen = Math.min(vlen, prefix.length);
    if (plen > 0 && b.subarray(0, plen).equals(prefix.subarray(0, plen)) && vlen >= prefix.length) {
      const nl = b.indexOf(LF);
      const version = b.toString('latin1', prefix.length, nl < 0 ? Math.min(b.length, 64) : nl);
      if (!isArgument(version)) throw malformed('malformed version line');
      throw new AgeHeaderError('unsupported-version', JSON.stringify(version));
    }
    throw new AgeHeaderError('not-age', 'no age version line');
  }
  if (vlen < VERSION_BYTES.length) return incomplete(b);

  let pos = VERSION_BYTES.length;
  /** The next line without its LF, or null if it has not ended within the limit. */
  const nextLine = (): string | null => {
    const nl = b.indexOf(LF, pos);
    if (nl < 0 || nl >= limit) return null;
    const line = b.toString('latin1', pos, nl);
    pos = nl + 1;
    return line;
  };

  const stanzas: Stanza[] = [];
  for (;;) {
    if (limit - pos < 3) return incomplete(b);
    const start = b.toString('latin1', pos, pos + 3);
    if (start === MAC_PREFIX) {
      const macStart = pos;
      const line = nextLine();
      if (line === null) return incomplete(b);
      const parts = line.split(' ');
      if (parts.length !== 2 || parts[0] !== MAC_PREFIX) throw malformed('malformed MAC line');
      const mac = decodeBase64(parts[1]!);
      if (mac === null || mac.length !== MAC_SIZE) throw malformed('the MAC is not canonical base64 of 32 bytes');
      if (stanzas.length === 0) throw malformed('no recipient stanza');
      checkScryptRules(stanzas);
      return { header: { stanzas, mac, macInput: Buffer.from(b.subarray(0, macStart + 3)) }, size: pos };
    }
    if (start !== STANZA_PREFIX) throw malformed('a line is neither a stanza nor the MAC line');

    const argLine = nextLine();
    if (argLine === null) return incomplete(b);
    const args = argLine.slice(STANZA_PREFIX.length).split(' ');
    if (!args.every(isArgument)) throw malformed('a stanza argument is empty or not printable ASCII');
    const bodyParts: Buffer[] = [];
    for (;;) {
      const line = nextLine();
      if (line === null) return incomplete(b);
      if (line.length > COLUMNS_PER_LINE) throw malformed('a stanza body line is longer than 64 columns');
      const bytes = decodeBase64(line);
      if (bytes === null) {
        const ended = line.startsWith(STANZA_PREFIX) || line.startsWith(MAC_PREFIX);
        throw malformed(ended ? 'a stanza ends without a short body line' : 'a stanza body line is not canonical base64');
      }
      bodyParts.push(bytes);
      if (bytes.length < BYTES_PER_LINE) break;
    }
    stanzas.push({ type: args[0]!, args: args.slice(1), body: Buffer.concat(bodyParts) });
  }
}

function incomplete(b: Buffer): null {
  if (b.length >= MAX_HEADER_SIZE) {
    throw new AgeHeaderError('too-large', `no end of header within ${MAX_HEADER_SIZE} bytes`);
  }
  return null;
}

/** parseHeader for input known to be complete: a header cut short is an error. */
export function parseCompleteHeader(buf: Uint8Array): ParsedHeader {
  const parsed = parseHeader(buf);
  if (parsed === null) throw new AgeHeaderError('truncated', 'it ends inside the header');
  return parsed;
}

// ── scrypt stanza rules ─────────────────────────────────────────────────────

export interface ScryptStanza {
  salt: Buffer;
  logN: number;
  /** The work factor as written (for messages: a huge one is no exact number). */
  logNText: string;
  /** Wrapped file key, 32 bytes. */
  body: Buffer;
}

const LOG_N = /^[1-9][0-9]*$/;

function badScrypt(detail: string): AgeHeaderError {
  return new AgeHeaderError('bad-scrypt-stanza', detail);
}

/** Checks an scrypt stanza's arguments and body size (not the work factor limit: that is the reader's policy). */
export function parseScryptStanza(stanza: Stanza): ScryptStanza {
  if (stanza.type !== SCRYPT_TYPE) throw new TypeError('not an scrypt stanza');
  if (stanza.args.length !== 2) throw badScrypt('an scrypt stanza has exactly two arguments: salt and work factor');
  const [saltText, logNText] = stanza.args as [string, string];
  const salt = decodeBase64(saltText);
  if (salt === null || salt.length !== SCRYPT_SALT_SIZE) throw badScrypt('the scrypt salt is not canonical base64 of 16 bytes');
  // A huge number reads as a huge (inexact) float: still over any limit.
  if (!LOG_N.test(logNText)) throw badScrypt(`the scrypt work factor ${JSON.stringify(logNText)} is not a plain decimal number`);
  if (stanza.body.length !== SCRYPT_BODY_SIZE) throw badScrypt('the scrypt stanza body is not 32 bytes');
  return { salt, logN: Number(logNText), logNText, body: stanza.body };
}

function checkScryptRules(stanzas: readonly Stanza[]): void {
  const scrypt = stanzas.filter((s) => s.type === SCRYPT_TYPE);
  if (scrypt.length === 0) return;
  if (stanzas.length !== 1) throw badScrypt('an scrypt stanza must be the only stanza in the header');
  parseScryptStanza(scrypt[0]!);
}
