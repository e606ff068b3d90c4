import { inspect } from 'node:util';
import { bech32 } from '@scure/base';
import { identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import {
  AgeKeyError,
  X25519Identity,
  X25519Recipient,
  generateX25519Identity,
  parseX25519Identity,
  parseX25519Recipient,
  type AgeKeyReason,
} from '@/lib/age';
import { thrown } from './helpers';

/** The identity of most cctv-age vectors, and its recipient as age-keygen -y prints it (checked in x25519-peers.test.ts). */
const VECTOR_IDENTITY = 'AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0';

/** Low-order X25519 points (libsodium's blocklist): every shared secret with them is zero. */
const LOW_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

function bech(prefix: string, bytes: Uint8Array): string {
  return bech32.encode(prefix, bech32.toWords(bytes), false);
}

const refused = (parse: () => unknown) => thrown(AgeKeyError, parse);

/** Changes one data character of a Bech32 string (keeps its case): the checksum no longer matches. */
function mistype(s: string, at: number): string {
  const c = s[at]!;
  const swap = c.toLowerCase() === 'q' ? 'p' : 'q';
  // In the string's own case: a digit at `at` says nothing about it (a digit was once swapped for "Q" in a lower-case recipient).
  return s.slice(0, at) + (s === s.toUpperCase() ? swap.toUpperCase() : swap) + s.slice(at + 1);
}

describe('X25519 identities and recipients', () => {
  it('generates identities that print and parse back, each with its own recipient', () => {
    const a = generateX25519Identity();
    const b = generateX25519Identity();
    const secret = a.exportSecretKey();
    expect(secret).toMatch(/^AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}$/);
    expect(a.recipient.toString()).toMatch(/^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/);
    expect(parseX25519Identity(secret).exportSecretKey()).toBe(secret);
    expect(parseX25519Identity(secret).recipient.equals(a.recipient)).toBe(true);
    expect(parseX25519Recipient(a.recipient.toString()).equals(a.recipient)).toBe(true);
    expect(a.recipient.equals(b.recipient)).toBe(false);
    expect(a.recipient.publicKey.length).toBe(32);
  });

  it('derives the recipient typage derives (the vectors identity and fresh ones)', async () => {
    const vector = parseX25519Identity(VECTOR_IDENTITY);
    expect(vector.exportSecretKey()).toBe(VECTOR_IDENTITY);
    expect(vector.recipient.toString()).toBe(await identityToRecipient(VECTOR_IDENTITY));
    for (let i = 0; i < 5; i++) {
      const id = generateX25519Identity();
      expect(id.recipient.toString()).toBe(await identityToRecipient(id.exportSecretKey()));
    }
  });

  it('keeps the secret key as given (unclamped), as age does', () => {
    const raw = Buffer.alloc(32, 0xff);
    const id = new X25519Identity(raw);
    expect(id.exportSecretKey()).toBe(bech('AGE-SECRET-KEY-', raw).toUpperCase());
  });

  it('ignores white space around a key (a pasted line)', () => {
    const id = generateX25519Identity();
    expect(parseX25519Recipient(`  ${id.recipient.toString()}\n`).equals(id.recipient)).toBe(true);
    expect(parseX25519Identity(`\t${id.exportSecretKey()}\r\n`).recipient.equals(id.recipient)).toBe(true);
  });

  it('never shows the secret key when printed, inspected or serialised', () => {
    const id = generateX25519Identity();
    const secret = id.exportSecretKey();
    const shown = [String(id), `${id}`, inspect(id), inspect({ nested: [id] }, { depth: 5 }), JSON.stringify(id), JSON.stringify({ id })];
    for (const text of shown) {
      expect(text).not.toContain(secret);
      expect(text.toUpperCase()).not.toContain(secret.slice(16));
      expect(text).toContain(id.recipient.toString());
    }
    expect(JSON.stringify({ r: id.recipient })).toBe(`{"r":"${id.recipient.toString()}"}`);
  });

  describe('malformed recipients are refused in words', () => {
    const good = generateX25519Identity();
    const recipient = good.recipient.toString();
    const cases: Array<[string, string, AgeKeyReason, RegExp]> = [
      ['empty', '   ', 'empty', /No age recipient was given/],
      ['not Bech32', 'hello world', 'not-bech32', /Not an age recipient: an age recipient is "age1" followed by 58/],
      ['a character outside the alphabet', recipient.slice(0, 10) + 'b' + recipient.slice(11), 'not-bech32', /Not an age recipient/],
      ['mistyped', mistype(recipient, 20), 'bad-checksum', /mistyped: its checksum does not match/],
      ['a character missing', recipient.slice(0, -1), 'bad-checksum', /checksum/],
      ['mixed case', recipient.slice(0, 10) + recipient.slice(10).toUpperCase(), 'mixed-case', /mixes upper and lower case/],
      ['upper case', recipient.toUpperCase(), 'wrong-case', /written in lower case/],
      ['a secret key', good.exportSecretKey(), 'wrong-kind', /That is an age secret key, not a recipient/],
      ['31 bytes', bech('age', Buffer.alloc(31, 7)), 'bad-length', /wrong length: an X25519 key is 32 bytes/],
      ['33 bytes', bech('age', Buffer.alloc(33, 7)), 'bad-length', /wrong length/],
      ['another Bech32 prefix', bech('bc', Buffer.alloc(32, 7)), 'not-age', /Bech32 with another prefix/],
      ['an SSH key', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN user@host', 'unsupported', /An SSH key is not supported: only X25519 keys are/],
      ['a post-quantum recipient', bech('age1pq', Buffer.alloc(1216, 1)), 'unsupported', /post-quantum .* is not supported/],
      ['a plugin recipient', bech('age1yubikey', Buffer.alloc(33, 2)), 'unsupported', /An age plugin recipient is not supported/],
    ];
    it.each(cases)('%s', (_name, input, reason, message) => {
      const err = refused(() => parseX25519Recipient(input));
      expect(err.reason).toBe(reason);
      expect(err.subject).toBe('recipient');
      expect(err.message).toMatch(message);
    });

    it.each(LOW_ORDER)('a low-order point (%s)', (hex) => {
      const err = refused(() => parseX25519Recipient(bech('age', Buffer.from(hex, 'hex'))));
      expect(err.reason).toBe('weak-key');
      expect(err.message).toMatch(/not a usable X25519 public key/);
      expect(refused(() => new X25519Recipient(Buffer.from(hex, 'hex'))).reason).toBe('weak-key');
    });
  });

  describe('malformed identities are refused in words, without repeating the key', () => {
    const good = generateX25519Identity();
    const secret = good.exportSecretKey();
    const cases: Array<[string, string, AgeKeyReason, RegExp]> = [
      ['empty', '', 'empty', /No age secret key was given/],
      ['not Bech32', 'AGE-SECRET-KEY-', 'not-bech32', /Not an age secret key: an age secret key is "AGE-SECRET-KEY-1" followed by 58/],
      ['mistyped', mistype(secret, 30), 'bad-checksum', /mistyped: its checksum does not match/],
      ['a character missing', secret.slice(0, 40) + secret.slice(41), 'bad-checksum', /checksum/],
      ['mixed case', secret.slice(0, 30) + secret.slice(30).toLowerCase(), 'mixed-case', /mixes upper and lower case/],
      ['lower case', secret.toLowerCase(), 'wrong-case', /written in upper case/],
      ['a recipient', good.recipient.toString(), 'wrong-kind', /That is an age recipient \(a public key\), not a secret key/],
      ['16 bytes', bech('AGE-SECRET-KEY-', Buffer.alloc(16, 9)).toUpperCase(), 'bad-length', /wrong length/],
      ['a post-quantum identity', bech('AGE-SECRET-KEY-PQ-', Buffer.alloc(32, 3)).toUpperCase(), 'unsupported', /post-quantum .* secret key is not supported/],
      ['a plugin identity', bech('AGE-PLUGIN-YUBIKEY-', Buffer.alloc(20, 3)).toUpperCase(), 'unsupported', /An age plugin identity is not supported/],
      ['an SSH private key', '-----BEGIN OPENSSH PRIVATE KEY-----', 'unsupported', /A PEM key is not supported/],
    ];
    it.each(cases)('%s', (_name, input, reason, message) => {
      const err = refused(() => parseX25519Identity(input));
      expect(err.reason).toBe(reason);
      expect(err.subject).toBe('identity');
      expect(err.message).toMatch(message);
      if (input.length > 20) expect(err.message.toUpperCase()).not.toContain(input.toUpperCase().slice(16, 40));
    });
  });
});
