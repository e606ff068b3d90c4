import { beforeEach, describe, expect, it } from 'vitest';
import { upsertOidcUser } from '@/lib/accounts/accounts';
import { changeOwnPassword, changeRole, isLastEnabledAdmin, resetPassword, setDisabled } from '@/lib/accounts/manage';
import type { Actor } from '@/lib/audit/audit';
import { hashPassword, verifyPassword } from '@/lib/auth/password';
import { createSession, resolveSession } from '@/lib/auth/sessions';
import { db } from '@/lib/db/client';
import { users } from '@/lib/db/schema';
import { AppError } from '@/lib/errors';

/** lib/accounts/manage.ts against the real SQLite schema: sessions end with every change, and an enabled admin always remains. */
const META = { ip: '192.0.2.7', userAgent: 'test' };
const TOKEN: Actor = { id: null, name: 'token:ops', ip: '192.0.2.1' };

function user(username: string, role: 'admin' | 'operator' | 'support', extra: Partial<typeof users.$inferInsert> = {}) {
  return db()
    .insert(users)
    .values({ username, kind: 'local', role, passwordHash: 'scrypt$placeholder', createdAt: new Date(), ...extra })
    .returning()
    .get();
}
const actorOf = (u: { id: number; username: string }): Actor => ({ id: u.id, name: u.username, ip: '192.0.2.1' });
const snapshot = () => JSON.stringify([db().$client.prepare('SELECT * FROM users ORDER BY id').all(), db().$client.prepare('SELECT * FROM sessions ORDER BY id_hash').all()]);
const actions = () => (db().$client.prepare('SELECT action FROM audit_events ORDER BY id').all() as { action: string }[]).map((r) => r.action);

async function refused(fn: () => unknown, message: RegExp): Promise<AppError> {
  const before = snapshot();
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AppError);
  expect((caught as AppError).message).toMatch(message);
  expect(snapshot()).toBe(before);
  return caught as AppError;
}

beforeEach(() => {
  db().$client.exec('DELETE FROM sessions; DELETE FROM users; DELETE FROM audit_events;');
});

describe('admin changes end every session of the account', () => {
  it('role change, password reset and disabling each revoke the sessions; enabling revokes none', async () => {
    const admin = user('ada', 'admin');
    const sam = user('sam', 'support');
    const s1 = createSession(sam.id, META);
    const s2 = createSession(sam.id, META);
    expect(changeRole(actorOf(admin), sam.id, 'operator')).toEqual({ username: 'sam', changed: true, sessionsEnded: 2 });
    expect(resolveSession(s1)).toEqual({ ok: false, reason: 'revoked' });
    expect(resolveSession(s2)).toEqual({ ok: false, reason: 'revoked' });

    const s3 = createSession(sam.id, META);
    expect((await resetPassword(actorOf(admin), sam.id, 'a-new-password-123')).sessionsEnded).toBe(1);
    expect(resolveSession(s3).ok).toBe(false);
    const row = db().$client.prepare('SELECT password_hash, password_changed_at FROM users WHERE id = ?').get(sam.id) as { password_hash: string; password_changed_at: number };
    expect(await verifyPassword('a-new-password-123', row.password_hash)).toBe(true);
    expect(row.password_changed_at).toBeGreaterThan(0);

    const s4 = createSession(sam.id, META);
    expect(setDisabled(actorOf(admin), sam.id, true).sessionsEnded).toBe(1);
    expect(resolveSession(s4).ok).toBe(false);
    // A session made while disabled (it cannot be, but if) is refused too.
    expect(resolveSession(createSession(sam.id, META))).toEqual({ ok: false, reason: 'revoked' });
    expect(setDisabled(actorOf(admin), sam.id, false)).toEqual({ username: 'sam', changed: true, sessionsEnded: 0 });
    expect(resolveSession(createSession(sam.id, META)).ok).toBe(true);
    expect(actions()).toEqual(['user.role.change', 'user.password.reset', 'user.disable', 'user.enable']);
  });

  it('the same role or state again changes nothing and ends nothing', () => {
    const admin = user('ada', 'admin');
    const sam = user('sam', 'support');
    const s = createSession(sam.id, META);
    const before = snapshot();
    expect(changeRole(actorOf(admin), sam.id, 'support').changed).toBe(false);
    expect(setDisabled(actorOf(admin), sam.id, false).changed).toBe(false);
    expect(snapshot()).toBe(before);
    expect(resolveSession(s).ok).toBe(true);
    expect(actions()).toEqual([]);
  });
});

describe('refusals change nothing', () => {
  it('the last enabled admin is not demoted or disabled; a disabled admin does not count', async () => {
    const ada = user('ada', 'admin');
    user('bea', 'admin', { disabledAt: new Date(), disabledBy: 'x' });
    expect(isLastEnabledAdmin(ada)).toBe(true);
    await refused(() => changeRole(TOKEN, ada.id, 'operator'), /^"ada" is the last enabled admin: make another account an admin first\.$/);
    await refused(() => setDisabled(TOKEN, ada.id, true), /last enabled admin and cannot be disabled/);
    user('cleo', 'admin');
    expect(changeRole(TOKEN, ada.id, 'operator').changed).toBe(true);
  });

  it('nobody changes their own account here, the OTP User, or an OIDC account’s role or password', async () => {
    const ada = user('ada', 'admin');
    user('bea', 'admin');
    const otp = db().insert(users).values({ username: 'otp', kind: 'otp', role: 'otp', passwordHash: 'scrypt$x', createdAt: new Date() }).returning().get();
    const oidc = db().insert(users).values({ username: 'olivia', kind: 'oidc', role: 'operator', oidcIssuer: 'https://idp', oidcSubject: 'o', createdAt: new Date() }).returning().get();
    await refused(() => changeRole(actorOf(ada), ada.id, 'support'), /^You cannot change the role of the account you are signed in with\. Ask another admin\.$/);
    await refused(() => setDisabled(actorOf(ada), ada.id, true), /^You cannot disable the account you are signed in with/);
    await refused(() => resetPassword(actorOf(ada), ada.id, 'another-password-1'), /^You cannot reset the password of the account you are signed in with/);
    await refused(() => changeRole(actorOf(ada), otp.id, 'admin'), /The OTP User cannot be changed/);
    await refused(() => setDisabled(actorOf(ada), otp.id, true), /The OTP User cannot be changed/);
    const e = await refused(() => changeRole(actorOf(ada), oidc.id, 'admin'), /role follows the identity provider's claims/);
    expect(e.field).toBe('role');
    await refused(() => resetPassword(actorOf(ada), oidc.id, 'another-password-1'), /has no password on this appliance/);
    await refused(() => changeRole(actorOf(ada), 999, 'admin'), /does not exist/);
    // An OIDC account can be disabled.
    expect(setDisabled(actorOf(ada), oidc.id, true).changed).toBe(true);
  });
});

describe('own password', () => {
  it('needs the current one; other sessions end, this one stays', async () => {
    const sam = user('sam', 'support', { passwordHash: await hashPassword('sam-password-0001') });
    const mine = createSession(sam.id, META);
    const other = createSession(sam.id, META);
    const me = { id: sam.id, username: 'sam', sessionId: mine };
    const input = { currentPassword: 'wrong-password-0', password: 'sam-password-0002', confirmPassword: 'sam-password-0002' };
    const e = await refused(() => changeOwnPassword(me, '192.0.2.7', input), /^The current password is wrong\.$/);
    expect(e.field).toBe('currentPassword');
    // The wrong attempt counts against the sign-in throttle.
    expect((db().$client.prepare('SELECT count(*) AS n FROM login_failures WHERE account = ?').get('sam') as { n: number }).n).toBe(1);
    expect(await changeOwnPassword(me, '192.0.2.7', { ...input, currentPassword: 'sam-password-0001' })).toEqual({ sessionsEnded: 1 });
    expect(resolveSession(mine).ok).toBe(true);
    expect(resolveSession(other).ok).toBe(false);
    expect(actions()).toEqual(['account.password.change']);
  });

  it('an OIDC account or the OTP User has no password to change here', async () => {
    const oidc = db().insert(users).values({ username: 'olivia', kind: 'oidc', role: 'operator', oidcIssuer: 'https://idp', oidcSubject: 'o', createdAt: new Date() }).returning().get();
    const input = { currentPassword: 'x', password: 'a-new-password-1', confirmPassword: 'a-new-password-1' };
    await refused(() => changeOwnPassword({ id: oidc.id, username: 'olivia' }, null, input), /change your password at the identity provider/);
    await refused(() => changeOwnPassword({ id: null, username: 'token:x' }, null, input), /an API token cannot/);
  });
});

describe('OIDC sign-in', () => {
  const identity = { issuer: 'https://idp.example', subject: 'sub-1', username: 'olivia', displayName: 'Olivia', role: 'operator' as const };

  it('a role from the claims unlike the last one ends the older sessions; the same role ends none', () => {
    const first = upsertOidcUser(identity, '192.0.2.9');
    expect(first.lastLoginIp).toBe('192.0.2.9');
    const s = createSession(first.id, META);
    upsertOidcUser(identity);
    expect(resolveSession(s).ok).toBe(true);
    const second = upsertOidcUser({ ...identity, role: 'support' });
    expect(second.role).toBe('support');
    expect(resolveSession(s)).toEqual({ ok: false, reason: 'revoked' });
    expect(actions()).toEqual(['user.role.sync']);
  });

  it('a disabled account is refused and stays as it was', async () => {
    const row = upsertOidcUser(identity);
    db().$client.prepare('UPDATE users SET disabled_at = 1 WHERE id = ?').run(row.id);
    await refused(() => upsertOidcUser({ ...identity, role: 'admin' }), /This account is disabled\./);
  });
});
