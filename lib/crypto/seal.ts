import crypto from 'node:crypto';
import { loadOrCreateKey } from './secret-files';

/**
 * Sealing of secrets kept at rest in the database (OIDC client secret, later
 * the unattended backup key). AES-256-GCM under the appliance's seal key in
 * <data>/secrets/seal.key; the purpose is bound as associated data, so a
 * sealed value cannot be moved to another field.
 *
 * Layout: "v1." + base64url(iv 12 bytes) + "." + base64url(ciphertext) + "." + base64url(tag 16 bytes)
 */
const VERSION = 'v1';

function sealKey(): Buffer {
  return loadOrCreateKey('seal.key');
}

export function seal(plaintext: string, purpose: string): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', sealKey(), iv);
  cipher.setAAD(Buffer.from(purpose, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

export class SealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealError';
  }
}

export function unseal(sealed: string, purpose: string): string {
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) throw new SealError('Sealed value has an unknown format');
  const [, iv, ct, tag] = parts as [string, string, string, string];
  try {
    // A fixed 16-byte tag: without authTagLength, Node accepts truncated tags (down to 4 bytes).
    const decipher = crypto.createDecipheriv('aes-256-gcm', sealKey(), Buffer.from(iv, 'base64url'), { authTagLength: 16 });
    decipher.setAAD(Buffer.from(purpose, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new SealError('Sealed value cannot be opened with this appliance key');
  }
}
