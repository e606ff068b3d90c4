import crypto from 'node:crypto';
import { decode } from 'next-auth/jwt';
import { cookies, headers } from 'next/headers';
import type { Actor } from '../audit/audit';
import type { User } from '../db/schema';
import { clientIp } from '../http/client-ip';
import { processState } from '../process-state';
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

/**
 * Session cookies already decrypted, by their text's SHA-256: the same text under the
 * same key always decrypts to the same claims, so a kept one is used while
 * the key is unchanged and its expiry (exp, without the decoder's 15 s of
 * tolerance) is ahead. Only what decrypted is kept; the session record is
 * still checked on every request (resolveSession).
 */
const DECODED_KEPT = 256;
type Decoded = { secret: string; sid: string; expMs: number };
const decodedCookies = () => processState('auth.decodedCookies', () => new Map<string, Decoded>());

async function cookieSessionId(): Promise<string | null> {
  const raw = (await cookies()).get(sessionCookieName())?.value;
  if (!raw) return null;
  const secret = authSecret();
  const kept = decodedCookies();
  // Kept under the cookie's SHA-256, not its text: the map holds no usable session token.
  const key = crypto.createHash('sha256').update(raw).digest('base64');
  const hit = kept.get(key);
  if (hit && hit.secret === secret && Date.now() < hit.expMs) return hit.sid;
  if (hit) kept.delete(key);
  try {
    const claims = await decode({ token: raw, secret });
    const sid = claims?.sid;
    if (typeof sid !== 'string') return null;
    if (typeof claims?.exp === 'number') {
      kept.set(key, { secret, sid, expMs: claims.exp * 1000 });
      if (kept.size > DECODED_KEPT) kept.delete(kept.keys().next().value!);
    }
    return sid;
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
