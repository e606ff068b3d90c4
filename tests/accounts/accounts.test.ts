import fs from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  OTP_USERNAME,
  canRemoveOtp,
  createLocalUser,
  deleteUser,
  ensureOtpUser,
  otpPasswordFile,
  recordLogin,
  removeOtpUser,
  upsertOidcUser,
} from '@/lib/accounts/accounts';
import { countAdmins, countUsers, findForSignIn, getUser, listUsers, otpUser } from '@/lib/accounts/queries';
import type { CreateUserInput } from '@/lib/accounts/schemas';
import type { Actor } from '@/lib/audit/audit';
import { verifyPassword } from '@/lib/auth/password';
import { AppError } from '@/lib/errors';
import { db } from '@/lib/db/client';
import { users } from '@/lib/db/schema';

const SYSTEM: Actor = { id: null, name: 'tester', ip: '192.0.2.1' };

function input(username: string, role: CreateUserInput['role'], password = `pw-${username}-0123456789`): CreateUserInput {
  return { username, displayName: '', role, password, confirmPassword: password };
}

function actorFor(u: { id: number; username: string }): Actor {
  return { id: u.id, name: u.username, ip: '192.0.2.1' };
}

/** A row inserted directly: fast, no scrypt. */
function quickUser(username: string, role: 'admin' | 'operator' | 'support'): { id: number; username: string } {
  return db()
    .insert(users)
    .values({ username, kind: 'local', role, passwordHash: 'scrypt$placeholder', createdAt: new Date() })
    .returning()
    .get();
}

function auditRows(): { action: string; outcome: string; target: string | null; actor_name: string; detail: string | null }[] {
  return db().$client.prepare('SELECT * FROM audit_events ORDER BY id').all() as never;
}

function allStoredText(): string {
  const c = db().$client;
  return JSON.stringify([c.prepare('SELECT * FROM audit_events').all(), c.prepare('SELECT * FROM users').all(), c.prepare('SELECT * FROM settings').all()]);
}

async function expectAppError(fn: () => unknown | Promise<unknown>, code: AppError['code'], message?: RegExp, field?: string) {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AppError);
  const e = caught as AppError;
  expect(e.code).toBe(code);
  if (message) expect(e.message).toMatch(message);
  expect(e.field).toBe(field);
}

beforeEach(() => {
  db().$client.exec('DELETE FROM sessions; DELETE FROM users; DELETE FROM audit_events;');
  fs.rmSync(otpPasswordFile(), { force: true });
});

describe('ensureOtpUser', () => {
  it('with no account, creates the OTP user and writes its password to a 0600 file', async () => {
    const password = await ensureOtpUser();
    expect(password).toMatch(/^[A-Za-z0-9]{20}$/);
    // No look-alike characters.
    expect(password).not.toMatch(/[01iloIO]/);

    const all = listUsers();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ username: OTP_USERNAME, kind: 'otp', role: 'otp' });

    const file = otpPasswordFile();
    expect(file.startsWith(process.env.WEBCONF_DATA_DIR!)).toBe(true);
    expect(file.endsWith('otp-password.txt')).toBe(true);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${password}\n`);

    const row = findForSignIn(OTP_USERNAME)!;
    expect(row.passwordHash).not.toContain(password!);
    expect(await verifyPassword(fs.readFileSync(file, 'utf8').trim(), row.passwordHash!)).toBe(true);
  });

  it('returns null on the second call and creates nothing more', async () => {
    const first = await ensureOtpUser();
    expect(first).not.toBeNull();
    const fileBefore = fs.readFileSync(otpPasswordFile(), 'utf8');
    expect(await ensureOtpUser()).toBeNull();
    expect(countUsers()).toBe(1);
    expect(fs.readFileSync(otpPasswordFile(), 'utf8')).toBe(fileBefore);
  });

  it('two concurrent first starts create exactly one OTP user', async () => {
    const results = await Promise.all([ensureOtpUser(), ensureOtpUser()]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect(countUsers()).toBe(1);
    const winner = results.find((r) => r !== null)!;
    expect(fs.readFileSync(otpPasswordFile(), 'utf8').trim()).toBe(winner);
  });

  it('does nothing when any account exists', async () => {
    quickUser('alice', 'support');
    expect(await ensureOtpUser()).toBeNull();
    expect(otpUser()).toBeUndefined();
    expect(fs.existsSync(otpPasswordFile())).toBe(false);
  });

  it('records the creation in the audit trail without the password', async () => {
    const password = await ensureOtpUser();
    const rows = auditRows();
    expect(rows).toEqual([expect.objectContaining({ action: 'account.otp.create', outcome: 'success', target: OTP_USERNAME, actor_name: 'system' })]);
    expect(JSON.stringify(rows)).not.toContain(password!);
  });
});

describe('createLocalUser', () => {
  it('creates an account whose password verifies and whose public view has no hash', async () => {
    const pw = 'a-long-enough-password';
    const created = await createLocalUser(SYSTEM, { ...input('alice', 'operator', pw), displayName: 'Alice A.' });
    expect(created).toMatchObject({ username: 'alice', displayName: 'Alice A.', kind: 'local', role: 'operator', createdBy: 'tester' });
    expect(created).not.toHaveProperty('passwordHash');
    expect(getUser(created.id)).not.toHaveProperty('passwordHash');
    const row = findForSignIn('alice')!;
    expect(await verifyPassword(pw, row.passwordHash!)).toBe(true);
    expect(await verifyPassword('a-long-enough-passwore', row.passwordHash!)).toBe(false);
  });

  it('an empty display name is stored as null', async () => {
    const created = await createLocalUser(SYSTEM, input('bob', 'support'));
    expect(created.displayName).toBeNull();
  });

  it('a duplicate username is a conflict on the username field', async () => {
    await createLocalUser(SYSTEM, input('alice', 'admin'));
    await expectAppError(() => createLocalUser(SYSTEM, input('alice', 'support')), 'conflict', /"alice" is already taken/, 'username');
    expect(countUsers()).toBe(1);
    expect(findForSignIn('alice')!.role).toBe('admin');
  });

  it('audits the creation with the role and without the password', async () => {
    const pw = 'the-secret-password-xyz';
    await createLocalUser(SYSTEM, input('carol', 'admin', pw));
    const rows = auditRows();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'account.create', outcome: 'success', target: 'carol', actor_name: 'tester' });
    expect(JSON.parse(rows[0]!.detail!)).toEqual({ role: 'admin' });
    expect(allStoredText()).not.toContain(pw);
  });
});

describe('deleteUser', () => {
  it('the OTP user cannot be removed while no admin exists', async () => {
    await ensureOtpUser();
    quickUser('op', 'operator');
    const op = findForSignIn('op')!;
    const otp = otpUser()!;
    expect(canRemoveOtp()).toBe(false);
    await expectAppError(() => deleteUser(actorFor(op), otp.id), 'conflict', /Create an admin OAuth user before removing the OTP User/);
    expect(otpUser()).toBeDefined();
    expect(fs.existsSync(otpPasswordFile())).toBe(true);
  });

  it('once an admin exists, the OTP user can be removed and its password file goes with it', async () => {
    await ensureOtpUser();
    const otp = otpUser()!;
    const admin = quickUser('admin1', 'admin');
    expect(canRemoveOtp()).toBe(true);
    deleteUser(actorFor(admin), otp.id);
    expect(otpUser()).toBeUndefined();
    expect(fs.existsSync(otpPasswordFile())).toBe(false);
    expect(canRemoveOtp()).toBe(false);
    expect(auditRows().at(-1)).toMatchObject({ action: 'account.otp.remove', outcome: 'success', target: OTP_USERNAME, actor_name: 'admin1' });
  });

  it('removeOtpUser removes it once, then reports it gone', async () => {
    await ensureOtpUser();
    const admin = quickUser('admin1', 'admin');
    removeOtpUser(actorFor(admin));
    expect(otpUser()).toBeUndefined();
    await expectAppError(() => removeOtpUser(actorFor(admin)), 'not_found', /already been removed/);
  });

  it('the OTP user cannot remove itself, even once an admin exists', async () => {
    await ensureOtpUser();
    quickUser('admin1', 'admin');
    const otp = otpUser()!;
    await expectAppError(() => deleteUser(actorFor(otp), otp.id), 'conflict', /cannot delete the account you are signed in with/);
    expect(otpUser()).toBeDefined();
  });

  it('the last admin cannot be deleted; a second admin makes it possible', async () => {
    const a1 = quickUser('admin1', 'admin');
    const a2 = quickUser('admin2', 'admin');
    deleteUser(actorFor(a1), a2.id);
    expect(countAdmins()).toBe(1);
    // a1 is now the only admin: no other account can remove it.
    const op = quickUser('op', 'operator');
    await expectAppError(() => deleteUser(actorFor(op), a1.id), 'conflict', /last enabled admin account cannot be deleted/);
    expect(countAdmins()).toBe(1);
  });

  it('nobody deletes themselves, whatever their role', async () => {
    const a1 = quickUser('admin1', 'admin');
    quickUser('admin2', 'admin');
    const sup = quickUser('sup', 'support');
    await expectAppError(() => deleteUser(actorFor(a1), a1.id), 'conflict', /cannot delete the account you are signed in with/);
    await expectAppError(() => deleteUser(actorFor(sup), sup.id), 'conflict', /cannot delete the account you are signed in with/);
    expect(countUsers()).toBe(3);
  });

  it('an unknown id is not_found', async () => {
    const a1 = quickUser('admin1', 'admin');
    await expectAppError(() => deleteUser(actorFor(a1), 424242), 'not_found', /does not exist/);
  });

  it('deleting an ordinary account removes it, its sessions, and audits it', () => {
    const a1 = quickUser('admin1', 'admin');
    const sup = quickUser('sup', 'support');
    db().$client.prepare('INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)').run('h1', sup.id, Date.now(), Date.now());
    deleteUser(actorFor(a1), sup.id);
    expect(getUser(sup.id)).toBeUndefined();
    expect(db().$client.prepare('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 0 });
    expect(auditRows().at(-1)).toMatchObject({ action: 'account.delete', outcome: 'success', target: 'sup', actor_name: 'admin1' });
  });

  it('a refused deletion writes no success audit row and deletes nothing', async () => {
    const a1 = quickUser('admin1', 'admin');
    await expectAppError(() => deleteUser(actorFor(a1), a1.id), 'conflict');
    expect(auditRows()).toEqual([]);
    expect(countUsers()).toBe(1);
  });
});

describe('upsertOidcUser', () => {
  const identity = { issuer: 'https://idp.example', subject: 'sub-123', username: 'dana', displayName: 'Dana D.', role: 'support' as const };

  it('creates an oidc account on first sign-in, then updates its role and name on the next', () => {
    const first = upsertOidcUser(identity);
    expect(first).toMatchObject({ username: 'dana', kind: 'oidc', role: 'support', oidcIssuer: 'https://idp.example', oidcSubject: 'sub-123', passwordHash: null });
    expect(first.lastLoginAt).toBeInstanceOf(Date);

    const second = upsertOidcUser({ ...identity, username: 'dana-renamed', displayName: 'Dana Admin', role: 'admin' });
    expect(second.id).toBe(first.id);
    expect(second.role).toBe('admin');
    expect(second.displayName).toBe('Dana Admin');
    expect(second.username).toBe('dana');
    expect(countUsers()).toBe(1);

    // Demotion is applied too.
    expect(upsertOidcUser({ ...identity, role: 'operator' }).role).toBe('operator');
  });

  it('the same subject at another issuer is another account', () => {
    const a = upsertOidcUser(identity);
    const b = upsertOidcUser({ ...identity, issuer: 'https://other-idp.example' });
    expect(b.id).not.toBe(a.id);
    expect(b.username).toBe('dana-2');
  });

  it('suffixes a username that collides with an existing account', async () => {
    quickUser('erin', 'support');
    const a = upsertOidcUser({ ...identity, subject: 's1', username: 'erin' });
    const b = upsertOidcUser({ ...identity, subject: 's2', username: 'erin' });
    expect(a.username).toBe('erin-2');
    expect(b.username).toBe('erin-3');
    expect(findForSignIn('erin')!.kind).toBe('local');
  });
});

describe('recordLogin', () => {
  it('stamps the last sign-in time', () => {
    const u = quickUser('frank', 'support');
    expect(getUser(u.id)!.lastLoginAt).toBeNull();
    const before = Date.now();
    recordLogin(u.id);
    expect(getUser(u.id)!.lastLoginAt!.getTime()).toBeGreaterThanOrEqual(before);
  });
});

describe('database constraints', () => {
  it('an otp-kind account must have the otp role and vice versa', () => {
    const insert = (kind: 'otp' | 'local', role: 'otp' | 'admin') =>
      db().insert(users).values({ username: `${kind}-${role}`, kind, role, passwordHash: 'x', createdAt: new Date() }).run();
    expect(() => insert('otp', 'admin')).toThrow(/CHECK/);
    expect(() => insert('local', 'otp')).toThrow(/CHECK/);
  });

  it('a local account must have a password hash', () => {
    expect(() => db().insert(users).values({ username: 'nopw', kind: 'local', role: 'admin', createdAt: new Date() }).run()).toThrow(/CHECK/);
  });
});

describe('ensureOtpUser after a crash', () => {
  it('gives an unused OTP user whose password file is missing a new password, and prints it again', async () => {
    const first = await ensureOtpUser();
    fs.rmSync(otpPasswordFile());
    const second = await ensureOtpUser();
    expect(second).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(second).not.toBe(first);
    expect(fs.readFileSync(otpPasswordFile(), 'utf8').trim()).toBe(second);
    const row = findForSignIn(OTP_USERNAME)!;
    expect(await verifyPassword(second!, row.passwordHash!)).toBe(true);
    expect(await verifyPassword(first!, row.passwordHash!)).toBe(false);
    expect(countUsers()).toBe(1);
  });
});
