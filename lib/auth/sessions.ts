import crypto from 'node:crypto';
import { and, eq, isNotNull, isNull, lt, ne, or, sql } from 'drizzle-orm';
import { db, type Db } from '../db/client';
import { sessions, users, type User } from '../db/schema';

/** A session ends after 30 idle minutes or 12 hours, whichever comes first. */
export const IDLE_TIMEOUT_MS = 30 * 60 * 1000;
export const ABSOLUTE_TIMEOUT_MS = 12 * 60 * 60 * 1000;
/** lastSeenAt is written at most this often, to keep reads cheap. */
const TOUCH_EVERY_MS = 30 * 1000;

function hashId(id: string): string {
  return crypto.createHash('sha256').update(id).digest('hex');
}

export function createSession(userId: number, meta: { ip: string | null; userAgent: string | null }, now = Date.now()): string {
  const id = crypto.randomBytes(32).toString('base64url');
  db()
    .insert(sessions)
    .values({ idHash: hashId(id), userId, createdAt: new Date(now), lastSeenAt: new Date(now), ip: meta.ip, userAgent: meta.userAgent?.slice(0, 300) ?? null })
    .run();
  return id;
}

/**
 * The session-and-account lookup every request makes, prepared once per
 * open database (a restore reopens it: a new Db gets its own statement).
 */
function prepareSessionLookup(d: Db) {
  return d
    .select()
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(sessions.idHash, sql.placeholder('idHash')))
    .prepare();
}
const sessionLookups = new WeakMap<Db, ReturnType<typeof prepareSessionLookup>>();
function sessionRow(idHash: string) {
  const d = db();
  let lookup = sessionLookups.get(d);
  if (!lookup) sessionLookups.set(d, (lookup = prepareSessionLookup(d)));
  return lookup.get({ idHash });
}

export type SessionCheck = { ok: true; user: User } | { ok: false; reason: 'unknown' | 'revoked' | 'idle' | 'expired' };

/**
 * Validates a session id and, unless `touch` is false, records activity.
 * Background polling (the status panel) passes false: an unattended tab must
 * still reach the idle timeout.
 */
export function resolveSession(id: string, now = Date.now(), opts: { touch?: boolean } = {}): SessionCheck {
  const row = sessionRow(hashId(id));
  if (!row) return { ok: false, reason: 'unknown' };
  const s = row.sessions;
  if (s.revokedAt) return { ok: false, reason: 'revoked' };
  // A disabled account has no sessions (they are revoked when it is disabled); this holds even if one was missed.
  if (row.users.disabledAt) return { ok: false, reason: 'revoked' };
  if (now - s.createdAt.getTime() > ABSOLUTE_TIMEOUT_MS) return { ok: false, reason: 'expired' };
  if (now - s.lastSeenAt.getTime() > IDLE_TIMEOUT_MS) return { ok: false, reason: 'idle' };
  if (opts.touch !== false && now - s.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
    db().update(sessions).set({ lastSeenAt: new Date(now) }).where(eq(sessions.idHash, s.idHash)).run();
  }
  return { ok: true, user: row.users };
}

export function revokeSession(id: string, now = Date.now()): void {
  db().update(sessions).set({ revokedAt: new Date(now) }).where(eq(sessions.idHash, hashId(id))).run();
}

/**
 * Ends every session of one account at once: its role, password or state
 * changed, and what a session was allowed to do may no longer hold. Called
 * inside the caller's transaction (one better-sqlite3 connection: db() is the
 * transaction's), so the change and the revocation commit together.
 */
export function revokeUserSessions(userId: number, opts: { now?: number; exceptSessionId?: string } = {}): number {
  const keep = opts.exceptSessionId ? ne(sessions.idHash, hashId(opts.exceptSessionId)) : undefined;
  return db()
    .update(sessions)
    .set({ revokedAt: new Date(opts.now ?? Date.now()) })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), keep))
    .run().changes;
}

/** Drops records that can no longer be used. */
export function pruneSessions(now = Date.now()): void {
  db()
    .delete(sessions)
    .where(
      or(
        lt(sessions.createdAt, new Date(now - ABSOLUTE_TIMEOUT_MS)),
        lt(sessions.lastSeenAt, new Date(now - IDLE_TIMEOUT_MS)),
        isNotNull(sessions.revokedAt),
      ),
    )
    .run();
}
