import { decode } from 'next-auth/jwt';
import { cookies, headers } from 'next/headers';
import type { Actor } from '../audit/audit';
import type { User } from '../db/schema';
import { clientIp } from '../http/client-ip';
import { sessionCookieName } from './cookies';
import { authSecret } from './secret';
import { resolveSession } from './sessions';

export type CurrentUser = Pick<User, 'id' | 'username' | 'displayName' | 'kind' | 'role'> & { sessionId: string };

/**
 * The signed-in user of this request, or null. Reads the session cookie,
 * decrypts it, and checks the session record (idle and absolute timeouts,
 * revocation, account still present). Never trusts anything the middleware
 * may or may not have done.
 */
export async function currentUser(opts: { touch?: boolean } = {}): Promise<CurrentUser | null> {
  const sid = await cookieSessionId();
  if (!sid) return null;
  const check = resolveSession(sid, Date.now(), opts);
  if (!check.ok) return null;
  const { id, username, displayName, kind, role } = check.user;
  return { id, username, displayName, kind, role, sessionId: sid };
}

async function cookieSessionId(): Promise<string | null> {
  const raw = (await cookies()).get(sessionCookieName())?.value;
  if (!raw) return null;
  try {
    const sid = (await decode({ token: raw, secret: authSecret() }))?.sid;
    return typeof sid === 'string' ? sid : null;
  } catch {
    return null;
  }
}

/**
 * Where a request without a valid session goes: the sign-in page, saying why
 * when the cookie's session was ended on purpose (an admin changed the account).
 */
export async function signInPath(from?: string): Promise<string> {
  const sid = await cookieSessionId();
  const check = sid ? resolveSession(sid, Date.now(), { touch: false }) : null;
  const q = new URLSearchParams();
  if (check && !check.ok && check.reason === 'revoked') q.set('error', 'SessionRevoked');
  if (from) q.set('callbackUrl', from);
  const qs = q.toString();
  return qs ? `/login?${qs}` : '/login';
}

/** The audit trail's actor: a user, an API token ("token:<name>", no user id) or anonymous. */
export async function actorOf(user: { id: number | null; username: string } | null): Promise<Actor> {
  const ip = clientIp(await headers());
  return user ? { id: user.id, name: user.username, ip } : { id: null, name: 'anonymous', ip };
}
