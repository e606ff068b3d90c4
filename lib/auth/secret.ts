import { loadOrCreateKey } from '../crypto/secret-files';

/** The key that signs and encrypts session cookies: NEXTAUTH_SECRET, or one made at first start. */
export function authSecret(): string {
  return process.env.NEXTAUTH_SECRET || loadOrCreateKey('nextauth.key').toString('base64');
}
