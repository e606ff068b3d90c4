import { afterEach, describe, expect, it } from 'vitest';
import { authCookies, sessionCookieName } from '@/lib/auth/cookies';

const saved = process.env.NEXTAUTH_URL;
afterEach(() => {
  if (saved === undefined) delete process.env.NEXTAUTH_URL;
  else process.env.NEXTAUTH_URL = saved;
});

describe('cookies', () => {
  it('behind TLS: __Host- prefix, Secure, HttpOnly, SameSite=Lax, Path=/', () => {
    process.env.NEXTAUTH_URL = 'https://console.example:8443';
    expect(sessionCookieName()).toBe('__Host-webconf.session');
    const c = authCookies();
    for (const cookie of Object.values(c)) {
      expect(cookie.name.startsWith('__Host-webconf.')).toBe(true);
      expect(cookie.options).toMatchObject({ httpOnly: true, sameSite: 'lax', path: '/', secure: true });
      expect(cookie.options).not.toHaveProperty('domain');
    }
    expect(c.sessionToken.name).toBe('__Host-webconf.session');
  });

  it('on loopback HTTP: no prefix and no Secure (the browser would drop them)', () => {
    process.env.NEXTAUTH_URL = 'http://127.0.0.1:3000';
    expect(sessionCookieName()).toBe('webconf.session');
    for (const cookie of Object.values(authCookies())) {
      expect(cookie.name.startsWith('__Host-')).toBe(false);
      expect(cookie.options).toMatchObject({ httpOnly: true, sameSite: 'lax', path: '/', secure: false });
    }
  });

  it('OAuth state and PKCE cookies are short-lived', () => {
    const c = authCookies();
    expect(c.state.options.maxAge).toBe(900);
    expect(c.pkceCodeVerifier.options.maxAge).toBe(900);
    expect(c.sessionToken.options).not.toHaveProperty('maxAge');
  });
});
