import { and, count, eq, gte, lt } from 'drizzle-orm';
import { db } from '../db/client';
import { loginFailures } from '../db/schema';
import { env } from '../env';

/**
 * Sign-in throttling (OWASP ASVS 2.2.1): at most N failed sign-ins an hour
 * per account and per client address. Failures are counted in SQLite so a
 * restart does not reset the window.
 */
export const THROTTLE_WINDOW_MS = 60 * 60 * 1000;

export type ThrottleState = { blocked: false } | { blocked: true; scope: 'account' | 'address'; message: string };

export function checkThrottle(account: string, ip: string, now = Date.now()): ThrottleState {
  const since = new Date(now - THROTTLE_WINDOW_MS);
  const d = db();
  const perAccount = d
    .select({ n: count() })
    .from(loginFailures)
    .where(and(eq(loginFailures.account, account), gte(loginFailures.at, since)))
    .get()!.n;
  if (perAccount >= env().WEBCONF_LOGIN_MAX_FAILURES_PER_ACCOUNT) {
    return { blocked: true, scope: 'account', message: 'Too many failed sign-ins for this account. Try again in an hour.' };
  }
  const perIp = d
    .select({ n: count() })
    .from(loginFailures)
    .where(and(eq(loginFailures.ip, ip), gte(loginFailures.at, since)))
    .get()!.n;
  if (perIp >= env().WEBCONF_LOGIN_MAX_FAILURES_PER_ADDRESS) {
    return { blocked: true, scope: 'address', message: 'Too many failed sign-ins from this address. Try again in an hour.' };
  }
  return { blocked: false };
}

export function recordFailure(account: string, ip: string, now = Date.now()): void {
  const d = db();
  d.insert(loginFailures).values({ account, ip, at: new Date(now) }).run();
  d.delete(loginFailures).where(lt(loginFailures.at, new Date(now - THROTTLE_WINDOW_MS))).run();
}

/** A successful sign-in clears the account's failures (not the address's). */
export function clearAccountFailures(account: string): void {
  db().delete(loginFailures).where(eq(loginFailures.account, account)).run();
}
