import crypto from 'node:crypto';
import { FILE_KEY_SIZE, TAG_SIZE } from './format';

/**
 * The wrapped file key of a recipient stanza's body, for every recipient
 * type (layout: format.ts): ChaCha20-Poly1305 under the stanza's wrap key
 * with an all-zero nonce (each wrap key seals exactly one file key), no
 * associated data; 16 bytes of ciphertext, then the 16-byte tag.
 */

const ZERO_NONCE = Buffer.alloc(12);

/** The 32-byte body for this file key under this 32-byte wrap key. */
export function sealFileKey(wrapKey: Uint8Array, fileKey: Uint8Array): Buffer {
  if (fileKey.length !== FILE_KEY_SIZE) throw new TypeError('the file key is 16 bytes');
  const cipher = crypto.createCipheriv('chacha20-poly1305', wrapKey, ZERO_NONCE, { authTagLength: TAG_SIZE });
  return Buffer.concat([cipher.update(fileKey), cipher.final(), cipher.getAuthTag()]);
}

/** The file key in a 32-byte body, or null when the tag does not open under this wrap key (not ours). */
export function unsealFileKey(wrapKey: Uint8Array, body: Buffer): Buffer | null {
  if (body.length !== FILE_KEY_SIZE + TAG_SIZE) throw new TypeError('a wrapped file key is 32 bytes');
  const decipher = crypto.createDecipheriv('chacha20-poly1305', wrapKey, ZERO_NONCE, { authTagLength: TAG_SIZE });
  decipher.setAuthTag(body.subarray(FILE_KEY_SIZE));
  const fileKey = decipher.update(body.subarray(0, FILE_KEY_SIZE));
  try {
    decipher.final();
  } catch {
    fileKey.fill(0);
    return null;
  }
  return fileKey;
}
