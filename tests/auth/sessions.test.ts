import crypto from 'node:crypto';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { ABSOLUTE_TIMEOUT_MS, IDLE_TIMEOUT_MS, createSession, pruneSessions, resolveSession, revokeSession } from '@/lib/auth/sessions';
import { db } from '@/lib/db/client';
import { users } from '@/lib/db/schema';

const T0 = Date.UTC(2030, 0, 15, 8, 0, 0);
const MINUTE = 60_000;
const meta = { ip: '192.0.2.10', userAgent: 'vitest' };

let userId: number;
let seq = 0;

function makeUser(role: 'admin' | 'support' = 'admin'): number {
  seq += 1;
  return db()
    .insert(users)
    .values({ username: `user${seq}`, kind: 'local', role, passwordHash: 'scrypt$placeholder', createdAt: new Date(T0) })
    .returning()
    .get().id;
}

function sessionRows(): { id_hash: string; user_id: number; created_at: number; last_seen_at: number; revoked_at: number | null; user_agent: string | null }[] {
  return db().$client.prepare('SELECT * FROM sessions').all() as never;
}

beforeEach(() => {
  db().$client.exec('DELETE FROM sessions; DELETE FROM users;');
  userId = makeUser();
});

describe('sessions', () => {
  it('uses the database of this test file\u2019s data folder', () => {
    expect(path.dirname(db().$client.name)).toBe(path.resolve(process.env.WEBCONF_DATA_DIR!));
  });

  it('a new session resolves to its user', () => {
    const id = createSession(userId, meta, T0);
    const check = resolveSession(id, T0 + MINUTE);
    expect(check.ok).toBe(true);
    if (check.ok) {
      expect(check.user.id).toBe(userId);
      expect(check.user.username).toBe(`user${seq}`);
    }
  });

  it('background polling (touch: false) does not count as activity: the idle timeout still ends the session', () => {
    const id = createSession(userId, meta, T0);
    // Polled every minute for 31 minutes without touching.
    for (let m = 1; m <= 30; m++) expect(resolveSession(id, T0 + m * MINUTE, { touch: false }).ok).toBe(true);
    expect(resolveSession(id, T0 + 31 * MINUTE, { touch: false })).toEqual({ ok: false, reason: 'idle' });
    // Whereas real requests keep it alive.
    const other = createSession(userId, meta, T0);
    for (let m = 1; m <= 31; m++) expect(resolveSession(other, T0 + m * MINUTE).ok).toBe(true);
  });

  it('session ids are long, random and URL-safe', () => {
    const a = createSession(userId, meta, T0);
    const b = createSession(userId, meta, T0);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('an unknown id resolves to unknown', () => {
    createSession(userId, meta, T0);
    expect(resolveSession('not-a-session', T0)).toEqual({ ok: false, reason: 'unknown' });
    expect(resolveSession('', T0)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('stores only the SHA-256 of the id, never the cookie id itself', () => {
    const id = createSession(userId, meta, T0);
    const rows = sessionRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id_hash).not.toBe(id);
    expect(rows[0]!.id_hash).toBe(crypto.createHash('sha256').update(id).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(id);
    // The hash is not itself usable as a session id.
    expect(resolveSession(rows[0]!.id_hash, T0)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('keeps the user agent to 300 characters', () => {
    createSession(userId, { ip: null, userAgent: 'x'.repeat(5000) }, T0);
    expect(sessionRows()[0]!.user_agent).toHaveLength(300);
  });

  describe('idle timeout (30 minutes)', () => {
    it('is still valid at exactly 30 idle minutes', () => {
      const id = createSession(userId, meta, T0);
      expect(resolveSession(id, T0 + IDLE_TIMEOUT_MS).ok).toBe(true);
    });

    it('ends after more than 30 idle minutes', () => {
      const id = createSession(userId, meta, T0);
      expect(IDLE_TIMEOUT_MS).toBe(30 * MINUTE);
      expect(resolveSession(id, T0 + 31 * MINUTE)).toEqual({ ok: false, reason: 'idle' });
    });

    it('activity moves the idle deadline', () => {
      const id = createSession(userId, meta, T0);
      expect(resolveSession(id, T0 + 25 * MINUTE).ok).toBe(true);
      expect(resolveSession(id, T0 + 50 * MINUTE).ok).toBe(true);
      expect(resolveSession(id, T0 + 75 * MINUTE).ok).toBe(true);
      expect(resolveSession(id, T0 + 106 * MINUTE)).toEqual({ ok: false, reason: 'idle' });
    });

    it('an idle session stays ended even if used again', () => {
      const id = createSession(userId, meta, T0);
      expect(resolveSession(id, T0 + 31 * MINUTE).ok).toBe(false);
      expect(resolveSession(id, T0 + 32 * MINUTE)).toEqual({ ok: false, reason: 'idle' });
    });
  });

  describe('absolute timeout (12 hours)', () => {
    it('ends 12 hours after creation even when active all along', () => {
      expect(ABSOLUTE_TIMEOUT_MS).toBe(12 * 60 * MINUTE);
      const id = createSession(userId, meta, T0);
      let t = T0;
      while (t + 25 * MINUTE <= T0 + ABSOLUTE_TIMEOUT_MS) {
        t += 25 * MINUTE;
        expect(resolveSession(id, t).ok).toBe(true);
      }
      // Last activity was minutes ago (not idle), but the session is over 12 hours old.
      const check = resolveSession(id, T0 + ABSOLUTE_TIMEOUT_MS + MINUTE);
      expect(T0 + ABSOLUTE_TIMEOUT_MS + MINUTE - t).toBeLessThan(IDLE_TIMEOUT_MS);
      expect(check).toEqual({ ok: false, reason: 'expired' });
    });
  });

  describe('revocation', () => {
    it('a revoked session resolves to revoked', () => {
      const id = createSession(userId, meta, T0);
      revokeSession(id, T0 + MINUTE);
      expect(resolveSession(id, T0 + 2 * MINUTE)).toEqual({ ok: false, reason: 'revoked' });
    });

    it('revoking one session leaves the user\u2019s other sessions valid', () => {
      const a = createSession(userId, meta, T0);
      const b = createSession(userId, meta, T0);
      revokeSession(a, T0 + MINUTE);
      expect(resolveSession(a, T0 + MINUTE).ok).toBe(false);
      expect(resolveSession(b, T0 + MINUTE).ok).toBe(true);
    });
  });

  describe('account removal', () => {
    it('deleting the user removes its sessions (foreign key cascade) and invalidates them', () => {
      const other = makeUser('support');
      const id = createSession(userId, meta, T0);
      const kept = createSession(other, meta, T0);
      db().delete(users).where(eq(users.id, userId)).run();
      expect(sessionRows().map((r) => r.user_id)).toEqual([other]);
      expect(resolveSession(id, T0 + MINUTE)).toEqual({ ok: false, reason: 'unknown' });
      expect(resolveSession(kept, T0 + MINUTE).ok).toBe(true);
    });

    it('a session cannot be created for an account that does not exist', () => {
      expect(() => createSession(999_999, meta, T0)).toThrow(/FOREIGN KEY/);
    });
  });

  describe('pruneSessions', () => {
    it('drops idle, expired and revoked sessions and keeps live ones', () => {
      const now = T0 + 13 * 60 * MINUTE;
      const expired = createSession(userId, meta, T0);
      const idle = createSession(userId, meta, now - 40 * MINUTE);
      const revoked = createSession(userId, meta, now - MINUTE);
      revokeSession(revoked, now - MINUTE);
      const live = createSession(userId, meta, now - 5 * MINUTE);
      pruneSessions(now);
      const hashes = sessionRows().map((r) => r.id_hash);
      const h = (id: string) => crypto.createHash('sha256').update(id).digest('hex');
      expect(hashes).toEqual([h(live)]);
      expect(hashes).not.toContain(h(expired));
      expect(hashes).not.toContain(h(idle));
    });
  });
});
