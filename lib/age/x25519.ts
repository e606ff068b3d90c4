import crypto, { type KeyObject } from 'node:crypto';
import { AgeHeaderError, AgeNoIdentityMatchedError, AgeNoMatchError } from './errors';
import { FILE_KEY_SIZE, SCRYPT_TYPE, X25519_BODY_SIZE, X25519_KEY_SIZE, X25519_LABEL, X25519_TYPE } from './format';
import { sealFileKey, unsealFileKey } from './file-key-wrap';
import { decodeBase64, encodeBase64, type Stanza } from './header';
import { isLowOrder, rawPublicKey, sharedSecret, x25519PublicKey, type X25519Identity, type X25519Recipient } from './x25519-keys';

/**
 * The X25519 recipient stanza (layout: format.ts): wraps the file key to a
 * recipient with a fresh ephemeral key pair, and unwraps it with
 * identities. One X25519 and one HKDF each way: no work factor.
 */

/** wrap key = HKDF-SHA-256(ikm = shared secret, salt = share || recipient, info = label, 32 bytes). */
function wrapKey(shared: Buffer, share: Buffer, recipient: Buffer): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', shared, Buffer.concat([share, recipient]), X25519_LABEL, 32));
}

/** The X25519 stanza that gives this file key to `recipient`. */
export function wrapFileKeyToRecipient(recipient: X25519Recipient, fileKey: Uint8Array): Stanza {
  if (fileKey.length !== FILE_KEY_SIZE) throw new TypeError('the file key is 16 bytes');
  const ephemeral = crypto.generateKeyPairSync('x25519');
  const share = rawPublicKey(ephemeral.publicKey);
  // The recipient is no low-order point (X25519Recipient refuses those), so the secret is never zero.
  const shared = sharedSecret(ephemeral.privateKey, recipient.key);
  if (shared === null) throw new Error('X25519 gave an all-zero shared secret for a checked recipient');
  const key = wrapKey(shared, share, recipient.publicKey);
  shared.fill(0);
  const body = sealFileKey(key, fileKey);
  key.fill(0);
  return { type: X25519_TYPE, args: [encodeBase64(share)], body };
}

interface X25519Stanza {
  share: Buffer;
  shareKey: KeyObject;
  body: Buffer;
}

function badStanza(detail: string): AgeHeaderError {
  return new AgeHeaderError('malformed', `an X25519 stanza ${detail}`);
}

/** Checks an X25519 stanza against the X25519 rules: one canonical 32-byte share, not of low order; a 32-byte body. */
export function parseX25519Stanza(stanza: Stanza): X25519Stanza {
  if (stanza.type !== X25519_TYPE) throw new TypeError('not an X25519 stanza');
  if (stanza.args.length !== 1) throw badStanza('has exactly one argument, the ephemeral share');
  const share = decodeBase64(stanza.args[0]!);
  if (share === null || share.length !== X25519_KEY_SIZE) throw badStanza('share is not canonical base64 of 32 bytes');
  if (stanza.body.length !== X25519_BODY_SIZE) throw badStanza('body is not 32 bytes (a 16-byte file key and its tag)');
  const shareKey = x25519PublicKey(share);
  if (isLowOrder(shareKey)) throw badStanza('share is a low-order point (the shared secret would be zero)');
  return { share, shareKey, body: stanza.body };
}

/**
 * Unwraps the file key with these identities. Every X25519 stanza is checked
 * first (AgeHeaderError 'malformed' for one that breaks the rules), then
 * each is tried with each identity. Throws AgeNoMatchError
 * 'passphrase-encrypted' for an scrypt file and AgeNoIdentityMatchedError
 * when no identity opens any stanza (stanzas of other types are ignored).
 */
export function unwrapFileKeyWithIdentities(identities: readonly X25519Identity[], stanzas: readonly Stanza[]): Buffer {
  if (identities.length === 0) throw new TypeError('at least one identity is needed');
  if (stanzas.some((s) => s.type === SCRYPT_TYPE)) {
    // The header parser has refused an scrypt stanza beside others already.
    if (stanzas.length !== 1) throw new AgeHeaderError('bad-scrypt-stanza', 'an scrypt stanza must be the only stanza in the header');
    throw new AgeNoMatchError('passphrase-encrypted');
  }
  const ours = stanzas.filter((s) => s.type === X25519_TYPE).map(parseX25519Stanza);
  for (const stanza of ours) {
    for (const identity of identities) {
      const shared = sharedSecret(identity.privateKey, stanza.shareKey);
      // Not reached: parseX25519Stanza refused low-order shares.
      if (shared === null) throw badStanza('share is a low-order point (the shared secret would be zero)');
      const key = wrapKey(shared, stanza.share, identity.recipient.publicKey);
      shared.fill(0);
      const fileKey = unsealFileKey(key, stanza.body);
      key.fill(0);
      if (fileKey !== null) return fileKey;
    }
  }
  throw new AgeNoIdentityMatchedError(identities.length, ours.length);
}
