import type { AuthOptions } from 'next-auth';
import CredentialsProvider from 'next-auth/providers/credentials';
import type { OAuthConfig } from 'next-auth/providers/oauth';
import { headers } from 'next/headers';
import { findOidcUser, recordLogin, upsertOidcUser } from '../accounts/accounts';
import { findForSignIn } from '../accounts/queries';
import { signInSchema } from '../accounts/schemas';
import { audit } from '../audit/audit';
import { clientIp } from '../http/client-ip';
import { log } from '../log';
import { getOidcConfig, mapRole, oidcClientSecret, oidcSecretOpensHere } from '../oidc/config';
import { authCookies } from './cookies';
import { decoyHash, verifyPassword } from './password';
import type { OAuthRole } from './roles';
import { authSecret } from './secret';
import { ABSOLUTE_TIMEOUT_MS, createSession, revokeSession } from './sessions';
import { checkThrottle, clearAccountFailures, recordFailure } from './throttle';

export const OIDC_PROVIDER_ID = 'oidc';

async function requestMeta() {
  const h = await headers();
  return { ip: clientIp(h), userAgent: h.get('user-agent') };
}

/** Password sign-in: throttled per account and address, same work for unknown accounts. */
async function authorizePassword(raw: Record<string, unknown> | undefined) {
  const { ip } = await requestMeta();
  const parsed = signInSchema.safeParse(raw ?? {});
  // Errors are codes (lib/auth/sign-in-errors.ts): the page shows only known words.
  if (!parsed.success) throw new Error('InvalidInput');
  const { username, password } = parsed.data;
  const throttle = checkThrottle(username, ip);
  if (throttle.blocked) {
    audit({ id: null, name: username, ip }, 'auth.sign-in', 'denied', { detail: { reason: 'throttled' } });
    throw new Error(throttle.scope === 'account' ? 'ThrottledAccount' : 'ThrottledAddress');
  }
  const user = findForSignIn(username);
  const ok = await verifyPassword(password, user?.passwordHash ?? (await decoyHash()));
  if (!user || !user.passwordHash || !ok) {
    recordFailure(username, ip);
    audit({ id: user?.id ?? null, name: username, ip }, 'auth.sign-in', 'failure', { detail: { method: 'password' } });
    return null;
  }
  // Told only once the password is right: a wrong one reads the same for disabled and enabled accounts.
  if (user.disabledAt) {
    audit({ id: user.id, name: user.username, ip }, 'auth.sign-in', 'denied', { detail: { method: 'password', reason: 'account disabled' } });
    throw new Error('AccountDisabled');
  }
  clearAccountFailures(username);
  recordLogin(user.id, ip);
  audit({ id: user.id, name: user.username, ip }, 'auth.sign-in', 'success', { detail: { method: 'password' } });
  return { id: String(user.id), name: user.username };
}

function oidcProvider(): OAuthConfig<Record<string, unknown>> | null {
  const c = getOidcConfig();
  // A secret sealed by another appliance (restored from its backup) cannot be used: OIDC stays off until it is entered again.
  if (!c?.enabled || !oidcSecretOpensHere(c)) return null;
  return {
    id: OIDC_PROVIDER_ID,
    name: c.displayName,
    type: 'oauth',
    wellKnown: `${c.issuer}/.well-known/openid-configuration`,
    clientId: c.clientId,
    clientSecret: oidcClientSecret(c),
    authorization: { params: { scope: 'openid profile email' } },
    idToken: true,
    checks: ['pkce', 'state', 'nonce'],
    profile(claims) {
      const sub = String(claims.sub);
      const preferred = typeof claims.preferred_username === 'string' ? claims.preferred_username : null;
      return {
        id: sub,
        name: typeof claims.name === 'string' ? claims.name : preferred,
        email: typeof claims.email === 'string' ? claims.email : null,
        username: (preferred ?? sub).toLowerCase().replace(/[^a-z0-9._-]/g, '-').slice(0, 32),
        role: mapRole(claims, c),
        issuer: c.issuer,
      };
    },
  };
}

type OidcUser = { id: string; name: string | null; username: string; role: OAuthRole | null; issuer: string };

/**
 * next-auth options, built per request because the OIDC provider is
 * configured at run time. The cookie carries only a session id ("sid"); the
 * session record in SQLite decides whether it is still valid.
 */
export function authOptions(): AuthOptions {
  const oidc = oidcProvider();
  return {
    secret: authSecret(),
    session: { strategy: 'jwt', maxAge: ABSOLUTE_TIMEOUT_MS / 1000 },
    jwt: { maxAge: ABSOLUTE_TIMEOUT_MS / 1000 },
    useSecureCookies: authCookies().sessionToken.options.secure,
    cookies: authCookies(),
    pages: { signIn: '/login', error: '/login' },
    providers: [
      CredentialsProvider({
        id: 'credentials',
        name: 'Password',
        credentials: { username: { label: 'Username', type: 'text' }, password: { label: 'Password', type: 'password' } },
        authorize: (credentials) => authorizePassword(credentials),
      }),
      ...(oidc ? [oidc] : []),
    ],
    callbacks: {
      async signIn({ user, account }) {
        if (account?.provider !== OIDC_PROVIDER_ID) return true;
        const u = user as unknown as OidcUser;
        if (!u.role) {
          const { ip } = await requestMeta();
          audit({ id: null, name: u.username, ip }, 'auth.sign-in', 'denied', { detail: { method: 'oidc', reason: 'no role claim' } });
          return '/login?error=OidcNoRole';
        }
        const known = findOidcUser(u.issuer, u.id);
        if (known?.disabledAt) {
          const { ip } = await requestMeta();
          audit({ id: known.id, name: known.username, ip }, 'auth.sign-in', 'denied', { detail: { method: 'oidc', reason: 'account disabled' } });
          return '/login?error=AccountDisabled';
        }
        return true;
      },
      async jwt({ token, user, account }) {
        if (!user || !account) return token;
        const meta = await requestMeta();
        let userId = Number(user.id);
        if (account.provider === OIDC_PROVIDER_ID) {
          const u = user as unknown as OidcUser;
          const row = upsertOidcUser({ issuer: u.issuer, subject: u.id, username: u.username, displayName: u.name, role: u.role! }, meta.ip);
          userId = row.id;
          audit({ id: row.id, name: row.username, ip: meta.ip }, 'auth.sign-in', 'success', { detail: { method: 'oidc', role: row.role } });
        }
        // Only the session id travels in the cookie.
        return { sid: createSession(userId, meta) };
      },
      async session({ session }) {
        return { expires: session.expires } as typeof session;
      },
    },
    events: {
      async signOut({ token }) {
        if (typeof token?.sid === 'string') revokeSession(token.sid);
      },
    },
    logger: {
      error(code, metadata) {
        log.error({ event: 'next-auth.error', code, message: (metadata as { message?: string })?.message }, 'next-auth error');
      },
      warn(code) {
        log.warn({ event: 'next-auth.warn', code }, 'next-auth warning');
      },
      debug() {},
    },
  };
}
