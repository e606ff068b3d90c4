import { isSecureOrigin } from '../env';

/**
 * Cookie names and attributes. Behind TLS the session cookie carries the
 * __Host- prefix (Secure, Path=/, no Domain): the browser then refuses it
 * from any other origin or over plain HTTP. On loopback HTTP (development and
 * tests) the same cookie goes without the prefix and without Secure.
 */
export const SESSION_COOKIE_NAMES = { secure: '__Host-webconf.session', loopback: 'webconf.session' } as const;

export function sessionCookieName(): string {
  return isSecureOrigin() ? SESSION_COOKIE_NAMES.secure : SESSION_COOKIE_NAMES.loopback;
}

export function authCookies() {
  const secure = isSecureOrigin();
  const prefix = secure ? '__Host-' : '';
  const base = { httpOnly: true, sameSite: 'lax' as const, path: '/', secure };
  return {
    sessionToken: { name: sessionCookieName(), options: base },
    callbackUrl: { name: `${prefix}webconf.callback-url`, options: base },
    csrfToken: { name: `${prefix}webconf.csrf-token`, options: base },
    pkceCodeVerifier: { name: `${prefix}webconf.pkce.code_verifier`, options: { ...base, maxAge: 900 } },
    state: { name: `${prefix}webconf.state`, options: { ...base, maxAge: 900 } },
    nonce: { name: `${prefix}webconf.nonce`, options: base },
  };
}
