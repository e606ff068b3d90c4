import crypto, { type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { decodeBech32, encodeBech32 } from './bech32';
import { AgeKeyError, type AgeKeyReason, type AgeKeySubject } from './errors';
import { IDENTITY_HRP, RECIPIENT_HRP, X25519_KEY_SIZE } from './format';

/**
 * age X25519 recipients ("age1...", public) and identities
 * ("AGE-SECRET-KEY-1...", secret), layout: format.ts "Keys". Raw 32-byte
 * keys go in and out of node:crypto's X25519 through their fixed DER
 * prefixes (RFC 8410: PKCS #8 for the secret, SPKI for the public key).
 */

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export function x25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== X25519_KEY_SIZE) throw new TypeError('an X25519 public key is 32 bytes');
  return crypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function x25519PrivateKey(raw: Uint8Array): KeyObject {
  return crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

export function rawPublicKey(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

/**
 * X25519(secret, public), or null when it is all zero: the public key is a
 * low-order point (OpenSSL refuses to derive; we also check), so the
 * "shared" secret would be known to anyone.
 */
export function sharedSecret(privateKey: KeyObject, publicKey: KeyObject): Buffer | null {
  let shared: Buffer;
  try {
    shared = crypto.diffieHellman({ privateKey, publicKey });
  } catch {
    return null;
  }
  return shared.some((b) => b !== 0) ? shared : null;
}

/** A fixed scalar: X25519 with any clamped scalar is all zero exactly for the low-order points. */
const PROBE = x25519PrivateKey(Buffer.alloc(X25519_KEY_SIZE, 0x42));

/** True when `publicKey` is a low-order point (every shared secret with it is zero). */
export function isLowOrder(publicKey: KeyObject): boolean {
  return sharedSecret(PROBE, publicKey) === null;
}

/** Someone a file can be encrypted to: the X25519 public key of an age identity. */
export class X25519Recipient {
  /** node:crypto's key, for X25519. */
  readonly key: KeyObject;
  readonly #publicKey: Buffer;

  /** From the raw 32-byte public key; refuses a low-order point. Use parseX25519Recipient for text. */
  constructor(publicKey: Uint8Array) {
    if (publicKey.length !== X25519_KEY_SIZE) throw new AgeKeyError('recipient', 'bad-length');
    this.#publicKey = Buffer.from(publicKey);
    this.key = x25519PublicKey(this.#publicKey);
    if (isLowOrder(this.key)) throw new AgeKeyError('recipient', 'weak-key');
  }

  /** The raw 32-byte public key (a copy). */
  get publicKey(): Buffer {
    return Buffer.from(this.#publicKey);
  }

  equals(other: X25519Recipient): boolean {
    return this.#publicKey.equals(other.#publicKey);
  }

  /** "age1..." */
  toString(): string {
    return encodeBech32(RECIPIENT_HRP, this.#publicKey);
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return `X25519Recipient ${this.toString()}`;
  }
}

/**
 * An age X25519 secret key. It opens files encrypted to its `recipient`.
 * A secret: it never prints, logs or serialises as JSON (those show the
 * recipient only); exportSecretKey() is the one way out.
 */
export class X25519Identity {
  readonly recipient: X25519Recipient;
  readonly #privateKey: KeyObject;

  /** From the 32 raw secret bytes. Use generateX25519Identity or parseX25519Identity. */
  constructor(secretKey: Uint8Array) {
    if (secretKey.length !== X25519_KEY_SIZE) throw new AgeKeyError('identity', 'bad-length');
    this.#privateKey = x25519PrivateKey(secretKey);
    this.recipient = new X25519Recipient(rawPublicKey(crypto.createPublicKey(this.#privateKey)));
  }

  /** node:crypto's private key, for X25519 with an ephemeral share. */
  get privateKey(): KeyObject {
    return this.#privateKey;
  }

  /** "AGE-SECRET-KEY-1...": the secret key as age writes it. Handle as a secret. */
  exportSecretKey(): string {
    const raw = this.#privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
    try {
      return encodeBech32(IDENTITY_HRP, raw).toUpperCase();
    } finally {
      raw.fill(0);
    }
  }

  toString(): string {
    return `[age X25519 identity for ${this.recipient.toString()}]`;
  }

  toJSON(): { recipient: string } {
    return { recipient: this.recipient.toString() };
  }

  [inspect.custom](): string {
    return `X25519Identity { recipient: ${this.recipient.toString()} }`;
  }
}

/** A new identity: 32 random bytes, as age-keygen makes them. */
export function generateX25519Identity(): X25519Identity {
  const secret = crypto.randomBytes(X25519_KEY_SIZE);
  try {
    return new X25519Identity(secret);
  } finally {
    secret.fill(0);
  }
}

/**
 * Another kind of key, told by its prefix (before Bech32, so that a mistyped
 * one is named too). Bech32's alphabet has no "1": in "age1NAME1..." the
 * second "1" marks a plugin (or post-quantum) recipient.
 */
function otherKind(subject: AgeKeySubject, lower: string): { reason: AgeKeyReason; detail?: string } | null {
  if (/^(ssh-(ed25519|rsa)|ecdsa-sha2-)/.test(lower)) return { reason: 'unsupported', detail: 'An SSH key' };
  if (lower.startsWith('-----begin ')) return { reason: 'unsupported', detail: 'A PEM key' };
  const isSecret = lower.startsWith('age-secret-key-') || lower.startsWith('age-plugin-');
  const isRecipient = lower.startsWith('age1');
  if (subject === 'recipient' && isSecret) return { reason: 'wrong-kind' };
  if (subject === 'identity' && isRecipient) return { reason: 'wrong-kind' };
  if (lower.startsWith('age1pq1')) return { reason: 'unsupported', detail: 'A post-quantum (ML-KEM-768 + X25519) age recipient' };
  if (isRecipient && lower.lastIndexOf('1') > 3) return { reason: 'unsupported', detail: 'An age plugin recipient' };
  if (lower.startsWith('age-secret-key-pq-1')) return { reason: 'unsupported', detail: 'A post-quantum (ML-KEM-768 + X25519) age secret key' };
  if (lower.startsWith('age-plugin-')) return { reason: 'unsupported', detail: 'An age plugin identity' };
  return null;
}

function decodeKey(subject: AgeKeySubject, input: string, want: string): Buffer {
  const text = input.trim();
  const fail = (reason: AgeKeyReason, detail?: string): never => {
    throw new AgeKeyError(subject, reason, { detail });
  };
  if (text.length === 0) fail('empty');
  const other = otherKind(subject, text.toLowerCase());
  if (other) fail(other.reason, other.detail);
  const decoded = decodeBech32(text);
  if (!decoded.ok) return fail(decoded.failure);
  if (decoded.prefix.toLowerCase() !== want.toLowerCase()) fail('not-age');
  // age compares prefixes case-sensitively: recipients are lower case, secret keys upper case.
  if (decoded.upperCase !== (want !== want.toLowerCase())) fail('wrong-case');
  if (decoded.bytes.length !== X25519_KEY_SIZE) {
    decoded.bytes.fill(0);
    fail('bad-length');
  }
  return decoded.bytes;
}

/** Parses "age1..." (surrounding white space is ignored); AgeKeyError says what is wrong. */
export function parseX25519Recipient(text: string): X25519Recipient {
  return new X25519Recipient(decodeKey('recipient', text, RECIPIENT_HRP));
}

/** Parses "AGE-SECRET-KEY-1..." (surrounding white space is ignored); AgeKeyError says what is wrong, never repeating the key. */
export function parseX25519Identity(text: string): X25519Identity {
  const secret = decodeKey('identity', text, IDENTITY_HRP);
  try {
    return new X25519Identity(secret);
  } finally {
    secret.fill(0);
  }
}
