import { describe, expect, it } from 'vitest';
import { AgeHeaderError } from '@/lib/age';
import { MAX_HEADER_SIZE } from '@/lib/age/format';
import {
  decodeBase64,
  encodeBase64,
  parseCompleteHeader,
  parseHeader,
  parseScryptStanza,
  serializeHeader,
  type Stanza,
} from '@/lib/age/header';
import { thrown } from './helpers';

const KEY = Buffer.alloc(16, 7);

function stanza(type: string, args: string[], bodyLength: number): Stanza {
  return { type, args, body: Buffer.alloc(bodyLength, 0xab) };
}

function scryptStanza(logN = '18', body = 32, salt = encodeBase64(Buffer.alloc(16, 1))): Stanza {
  return stanza('scrypt', [salt, logN], body);
}

const headerError = (fn: () => unknown) => thrown(AgeHeaderError, fn);

describe('canonical unpadded base64', () => {
  it('encodes without padding and decodes only canonical text', () => {
    expect(encodeBase64(Buffer.from('a'))).toBe('YQ');
    expect(encodeBase64(Buffer.alloc(0))).toBe('');
    expect(decodeBase64('YQ')).toEqual(Buffer.from('a'));
    expect(decodeBase64('YQ==')).toBeNull(); // padding
    expect(decodeBase64('YR')).toBeNull(); // non-zero unused bits
    expect(decodeBase64('Y')).toBeNull(); // impossible length
    expect(decodeBase64('YQ\n')).toBeNull();
    expect(decodeBase64('Y-')).toBeNull(); // URL alphabet
    expect(decodeBase64('')).toEqual(Buffer.alloc(0));
  });
});

describe('header serializer', () => {
  it('writes the version line, stanzas with bodies wrapped at 64 columns, and the MAC line', () => {
    const text = serializeHeader([stanza('x', ['a', 'b'], 100), stanza('y', [], 48), stanza('z', [], 0)], KEY).toString('latin1');
    const lines = text.split('\n');
    expect(lines[0]).toBe('age-encryption.org/v1');
    expect(lines[1]).toBe('-> x a b');
    expect(lines[2]).toHaveLength(64); // 48 bytes
    expect(lines[3]).toHaveLength(64); // 96 bytes
    expect(lines[4]).toHaveLength(6); // 4 more bytes
    expect(lines[5]).toBe('-> y');
    expect(lines[6]).toHaveLength(64);
    expect(lines[7]).toBe(''); // a body that fills its last line ends with an empty line
    expect(lines[8]).toBe('-> z');
    expect(lines[9]).toBe('');
    expect(lines[10]).toMatch(/^--- [A-Za-z0-9+/]{43}$/);
    expect(lines[11]).toBe('');
    expect(lines).toHaveLength(12);
  });

  it('refuses arguments that are empty or not printable ASCII', () => {
    expect(() => serializeHeader([stanza('a b', [], 0)], KEY)).toThrow(TypeError);
    expect(() => serializeHeader([stanza('x', [''], 0)], KEY)).toThrow(TypeError);
    expect(() => serializeHeader([stanza('x', ['é'], 0)], KEY)).toThrow(TypeError);
    expect(() => serializeHeader([], KEY)).toThrow(TypeError);
  });
});

describe('header parser', () => {
  const stanzas = [stanza('x', ['a', 'b'], 100), stanza('y', [], 48), stanza('z', [], 0)];
  const header = serializeHeader(stanzas, KEY);

  it('parses what the serializer writes, reporting the size and the MAC input', () => {
    const parsed = parseHeader(Buffer.concat([header, Buffer.from('payload')]))!;
    expect(parsed.size).toBe(header.length);
    expect(parsed.header.stanzas).toEqual(stanzas);
    expect(parsed.header.macInput.toString('latin1')).toBe(header.toString('latin1').replace(/ [^ ]+\n$/, ''));
    expect(parsed.header.mac).toHaveLength(32);
  });

  it('asks for more data on every proper prefix, and no more once complete', () => {
    for (let n = 0; n < header.length; n++) expect(parseHeader(header.subarray(0, n))).toBeNull();
    expect(parseHeader(header)?.size).toBe(header.length);
    expect(headerError(() => parseCompleteHeader(header.subarray(0, header.length - 1))).reason).toBe('truncated');
  });

  it('fails fast on something that is not an age file', () => {
    expect(headerError(() => parseHeader(Buffer.from('PK\x03\x04'))).reason).toBe('not-age');
    expect(headerError(() => parseHeader(Buffer.from('age-encryption.org/v2\n'))).reason).toBe('unsupported-version');
    expect(headerError(() => parseHeader(Buffer.from('-----BEGIN AGE ENCRYPTED FILE-----\n'))).reason).toBe('not-age');
  });

  it('needs a bounded amount of data', () => {
    const endless = Buffer.concat([Buffer.from('age-encryption.org/v1\n-> x\n'), Buffer.alloc(MAX_HEADER_SIZE, 'A')]);
    expect(headerError(() => parseHeader(endless)).reason).toBe('too-large');
    const longArgs = Buffer.from('age-encryption.org/v1\n-> ' + 'x'.repeat(MAX_HEADER_SIZE));
    expect(headerError(() => parseHeader(longArgs)).reason).toBe('too-large');
  });

  const text = header.toString('latin1');
  const mutate = (from: string | RegExp, to: string) => Buffer.from(text.replace(from, to), 'latin1');
  it.each([
    ['CRLF line ends', mutate(/\n/g, '\r\n')],
    ['no stanza', Buffer.from(text.replace(/^(.*\n)[\s\S]*?(--- .*\n)$/, '$1$2'), 'latin1')],
    ['a stanza without arguments', mutate('-> z\n', '-> \n')],
    ['an empty argument', mutate('-> x a b', '-> x a  b')],
    ['a trailing space', mutate('-> x a b', '-> x a b ')],
    ['a non-ASCII argument', mutate('-> x a b', '-> x a \xe9')],
    ['a body line longer than 64 columns', mutate(/\n([A-Za-z0-9+/]{64})\n/, '\n$1A\n')],
    ['a padded body line', mutate('-> z\n\n', '-> z\nAA==\n')],
    ['a non-canonical body line', mutate('-> z\n\n', '-> z\nAB\n')],
    ['a stanza that ends without a short line', mutate(/(-> y\n[A-Za-z0-9+/]{64}\n)\n/, '$1')],
    ['two short lines', mutate('-> z\n\n', '-> z\nAA\n\n')],
    ['an unknown line', mutate('-> z\n', '>> z\n')],
    ['a MAC line without the space', mutate('--- ', '---')],
    ['a MAC line with two spaces', mutate('--- ', '---  ')],
    ['a short MAC', mutate(/--- (.*)..\n$/, '--- $1\n')],
    ['a MAC with trailing garbage', mutate(/(--- .*)\n$/, '$1 x\n')],
  ])('rejects %s', (_name, bad) => {
    expect(headerError(() => parseHeader(Buffer.concat([bad, Buffer.alloc(16)]))).reason).toBe('malformed');
  });

  it('keeps unknown stanza types generic, including every printable character', () => {
    const odd = stanza('!"#$%&\'()*+,-./', ['0123456789:;<=>?@', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`', 'abcdefghijklmnopqrstuvwxyz{|}~'], 5);
    expect(parseHeader(serializeHeader([odd], KEY))?.header.stanzas).toEqual([odd]);
  });
});

describe('scrypt stanza rules', () => {
  it('accepts a well-formed stanza alone', () => {
    const parsed = parseHeader(serializeHeader([scryptStanza()], KEY))!;
    expect(parseScryptStanza(parsed.header.stanzas[0]!)).toMatchObject({ logN: 18, logNText: '18' });
  });

  it.each([
    ['with another stanza', [scryptStanza(), stanza('x', [], 0)]],
    ['twice', [scryptStanza(), scryptStanza()]],
    ['with an extra argument', [stanza('scrypt', [encodeBase64(Buffer.alloc(16)), '18', '18'], 32)]],
    ['without the work factor', [stanza('scrypt', [encodeBase64(Buffer.alloc(16))], 32)]],
    ['with a 15-byte salt', [scryptStanza('18', 32, encodeBase64(Buffer.alloc(15)))]],
    ['with a 17-byte salt', [scryptStanza('18', 32, encodeBase64(Buffer.alloc(17)))]],
    ['with a non-canonical salt', [scryptStanza('18', 32, 'AAAAAAAAAAAAAAAAAAAAAB')]],
    ['with a leading zero', [scryptStanza('018')]],
    ['with a plus sign', [scryptStanza('+18')]],
    ['with a minus sign', [scryptStanza('-18')]],
    ['with a hex work factor', [scryptStanza('0x12')]],
    ['with work factor zero', [scryptStanza('0')]],
    ['with a 31-byte body', [scryptStanza('18', 31)]],
    ['with a 33-byte body', [scryptStanza('18', 33)]],
  ])('rejects an scrypt stanza %s', (_name, stanzas) => {
    expect(headerError(() => parseHeader(serializeHeader(stanzas, KEY))).reason).toBe('bad-scrypt-stanza');
  });

  it('leaves the work factor limit to the reader (a policy, not grammar)', () => {
    expect(parseHeader(serializeHeader([scryptStanza('21')], KEY))).not.toBeNull();
    expect(parseHeader(serializeHeader([scryptStanza('9223372036854775818')], KEY))).not.toBeNull();
  });
});
