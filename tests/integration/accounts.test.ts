/**
 * Account management against the built console and its real SQLite: an
 * admin's role change, password reset and disabling each end the account's
 * sessions (the old cookie is refused by the console itself), enabling lets
 * it sign in again, one's own password needs the current one, the last
 * enabled admin cannot be demoted, disabled or deleted, and bad input at
 * every field gets a message and changes nothing (the database read after).
 *
 * Build first: WEBCONF_DIST_DIR=.next npx next build
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { ConsoleClient } from '../helpers/http-client';

const PASSWORD = 'accounts-password-1234';
const NEW_PASSWORD = 'accounts-new-password-5678';
let server: ConsoleServer;
let admin: ConsoleClient;
let sqlite: Database.Database;
let seq = 0;

type Row = { id: number; username: string; role: string; password_hash: string; disabled_at: number | null; disabled_by: string | null; last_login_at: number | null; last_login_ip: string | null; password_changed_at: number | null };
const row = (username: string) => sqlite.prepare('select * from users where username = ?').get(username) as Row;
/** Everything an account change could touch: accounts and sessions. */
const snapshot = () => JSON.stringify([sqlite.prepare('select * from users order by id').all(), sqlite.prepare('select id_hash, user_id, created_at, revoked_at from sessions order by id_hash').all()]);
const auditOf = (action: string) => sqlite.prepare('select actor_name, target, outcome, detail from audit_events where action = ? order by id').all(action) as { actor_name: string; target: string | null; outcome: string; detail: string | null }[];

async function createUser(role: 'admin' | 'operator' | 'support'): Promise<{ id: number; username: string }> {
  const username = `acc-${role}-${++seq}`;
  const r = await admin.json<{ user: { id: number; username: string } }>('/api/users', 'POST', { username, role, password: PASSWORD, confirmPassword: PASSWORD });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.user;
}

async function signedIn(username: string, password = PASSWORD): Promise<ConsoleClient> {
  const c = new ConsoleClient(server.url);
  expect(await c.signIn(username, password)).toMatchObject({ ok: true });
  expect((await c.json('/api/me')).status).toBe(200);
  return c;
}

/** The old cookie is refused: the API says 401, a page sends it to sign-in saying why. */
async function expectSessionEnded(c: ConsoleClient): Promise<void> {
  expect((await c.json('/api/me')).status).toBe(401);
  const page = await c.fetch('/backup');
  expect(page.status).toBe(307);
  const to = new URL(page.headers.get('location')!, server.url);
  expect(to.pathname).toBe('/login');
  expect(to.searchParams.get('error')).toBe('SessionRevoked');
  const login = await (await fetch(to)).text();
  expect(login).toContain('Your session was ended: an admin changed your account');
}

const patch = (c: ConsoleClient, id: number | string, body: unknown) => c.json<any>(`/api/users/${id}`, 'PATCH', body);

beforeAll(async () => {
  server = await startConsole();
  sqlite = new Database(path.join(server.dataDir, 'webconf.db'), { readonly: true });
  const otp = new ConsoleClient(server.url);
  expect(await otp.signIn('otp', server.otpPassword!)).toMatchObject({ ok: true });
  expect((await otp.json('/api/users', 'POST', { username: 'acc-root', role: 'admin', password: PASSWORD, confirmPassword: PASSWORD })).status).toBe(200);
  admin = await signedIn('acc-root');
}, 120_000);

afterAll(async () => {
  sqlite?.close();
  await server?.stop();
});

describe('last sign-in', () => {
  it('records the time and the client address, and lists them', async () => {
    const before = Date.now();
    const u = await createUser('support');
    await signedIn(u.username);
    const r = row(u.username);
    expect(r.last_login_at).toBeGreaterThanOrEqual(before);
    expect(r.last_login_ip).toBe('127.0.0.1');
    const listed = (await admin.json<{ users: { username: string; lastLoginIp: string | null }[] }>('/api/users')).body.users.find((x) => x.username === u.username);
    expect(listed?.lastLoginIp).toBe('127.0.0.1');
    expect(JSON.stringify(listed)).not.toContain('scrypt');
  });
});

describe('changes end the account sessions', () => {
  it('a role change ends every session; the next sign-in has the new role', async () => {
    const u = await createUser('support');
    const [a, b] = [await signedIn(u.username), await signedIn(u.username)];
    const r = await patch(admin, u.id, { role: 'operator' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ changed: true, sessionsEnded: 2, user: { role: 'operator' } });
    await expectSessionEnded(a);
    await expectSessionEnded(b);
    expect(row(u.username).role).toBe('operator');
    const again = await signedIn(u.username);
    expect((await again.json<{ role: string }>('/api/me')).body.role).toBe('operator');
    expect(auditOf('user.role.change').at(-1)).toMatchObject({ actor_name: 'acc-root', target: u.username, outcome: 'success' });
    expect(JSON.parse(auditOf('user.role.change').at(-1)!.detail!)).toMatchObject({ from: 'support', to: 'operator', sessionsEnded: 2 });
  });

  it('the same role again changes nothing and ends nothing', async () => {
    const u = await createUser('support');
    const c = await signedIn(u.username);
    const before = snapshot();
    const r = await patch(admin, u.id, { role: 'support' });
    expect(r.body).toMatchObject({ changed: false, sessionsEnded: 0 });
    expect((await c.json('/api/me')).status).toBe(200);
    expect(snapshot()).toBe(before);
  });

  it('a password reset ends the sessions; the old password stops working, the new one works', async () => {
    const u = await createUser('operator');
    const c = await signedIn(u.username);
    const oldHash = row(u.username).password_hash;
    const r = await patch(admin, u.id, { password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    await expectSessionEnded(c);
    expect(row(u.username).password_hash).not.toBe(oldHash);
    expect(row(u.username).password_changed_at).toBeGreaterThan(0);
    expect(await new ConsoleClient(server.url).signIn(u.username, PASSWORD)).toMatchObject({ ok: false, error: 'CredentialsSignin' });
    await signedIn(u.username, NEW_PASSWORD);
    expect(auditOf('user.password.reset').at(-1)).toMatchObject({ actor_name: 'acc-root', target: u.username, outcome: 'success' });
    expect(JSON.stringify(sqlite.prepare('select * from audit_events').all())).not.toContain(NEW_PASSWORD);
    expect(server.output()).not.toContain(NEW_PASSWORD);
  });

  it('disabling ends the sessions and refuses sign-in in words; enabling lets it sign in again', async () => {
    const u = await createUser('support');
    const c = await signedIn(u.username);
    const r = await patch(admin, u.id, { disabled: true });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    await expectSessionEnded(c);
    expect(row(u.username)).toMatchObject({ disabled_by: 'acc-root' });
    expect(row(u.username).disabled_at).toBeGreaterThan(0);
    // The right password is told the account is disabled; a wrong one reads as any wrong password.
    expect(await new ConsoleClient(server.url).signIn(u.username, PASSWORD)).toMatchObject({ ok: false, error: 'AccountDisabled' });
    expect(await new ConsoleClient(server.url).signIn(u.username, 'not-the-password-000')).toMatchObject({ ok: false, error: 'CredentialsSignin' });
    const login = await (await fetch(new URL('/login?error=AccountDisabled', server.url))).text();
    expect(login).toContain('This account is disabled. Ask an admin to enable it.');
    expect(auditOf('auth.sign-in').some((e) => e.outcome === 'denied' && e.detail?.includes('account disabled'))).toBe(true);

    expect((await patch(admin, u.id, { disabled: false })).status).toBe(200);
    expect(row(u.username)).toMatchObject({ disabled_at: null, disabled_by: null });
    await signedIn(u.username);
    expect(auditOf('user.disable').at(-1)).toMatchObject({ target: u.username, outcome: 'success' });
    expect(auditOf('user.enable').at(-1)).toMatchObject({ target: u.username, outcome: 'success' });
  });
});

describe('one’s own password', () => {
  it('needs the current password; the other sessions end, this one stays', async () => {
    const u = await createUser('support');
    const [mine, other] = [await signedIn(u.username), await signedIn(u.username)];
    const before = snapshot();
    const wrong = await mine.json<any>('/api/me/password', 'POST', { currentPassword: 'wrong-password-0000', password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
    expect(wrong.status).toBe(422);
    expect(wrong.body.error.fields.currentPassword).toEqual(['The current password is wrong.']);
    expect(snapshot()).toBe(before);

    const ok = await mine.json<any>('/api/me/password', 'POST', { currentPassword: PASSWORD, password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toEqual({ sessionsEnded: 1 });
    expect((await mine.json('/api/me')).status).toBe(200);
    await expectSessionEnded(other);
    expect(await new ConsoleClient(server.url).signIn(u.username, PASSWORD)).toMatchObject({ ok: false });
    await signedIn(u.username, NEW_PASSWORD);
    expect(auditOf('api.me.password').map((e) => e.outcome)).toContain('failure');
  });

  it('an API token has no password to change', async () => {
    const t = await admin.json<{ token: string }>('/api/tokens', 'POST', { name: `acc-token-${++seq}`, role: 'admin' });
    const res = await fetch(new URL('/api/me/password', server.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${t.body.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ currentPassword: PASSWORD, password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD }),
    });
    expect(res.status).toBe(403);
  });
});

describe('the last enabled admin stays', () => {
  it('is not demoted, disabled or deleted (an admin API token tries); nothing changes', async () => {
    // acc-root is the only enabled admin: a disabled admin does not count.
    const spare = await createUser('admin');
    expect((await patch(admin, spare.id, { disabled: true })).status).toBe(200);
    const t = await admin.json<{ token: string }>('/api/tokens', 'POST', { name: `acc-last-${++seq}`, role: 'admin' });
    const rootId = row('acc-root').id;
    const asToken = (method: string, body?: unknown) =>
      fetch(new URL(`/api/users/${rootId}`, server.url), {
        method,
        headers: { authorization: `Bearer ${t.body.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const before = snapshot();
    const demote = await asToken('PATCH', { role: 'operator' });
    expect(demote.status).toBe(409);
    expect(demote.body.error.message).toBe('"acc-root" is the last enabled admin: make another account an admin first.');
    const disable = await asToken('PATCH', { disabled: true });
    expect(disable.status).toBe(409);
    expect(disable.body.error.message).toMatch(/is the last enabled admin and cannot be disabled/);
    const del = await asToken('DELETE');
    expect(del.status).toBe(409);
    expect(del.body.error.message).toMatch(/last enabled admin account cannot be deleted/);
    expect(snapshot()).toBe(before);
    expect((await admin.json('/api/me')).status).toBe(200);
    // With a second enabled admin, the first may be demoted.
    expect((await patch(admin, spare.id, { disabled: false })).status).toBe(200);
    expect((await asToken('PATCH', { role: 'operator' })).status).toBe(200);
    expect(row('acc-root').role).toBe('operator');
    expect((await admin.json('/api/me')).status).toBe(401);
    // Back as it was, for the tests after.
    expect((await asToken('PATCH', { role: 'admin' })).status).toBe(200);
    admin = await signedIn('acc-root');
  });

  it('an admin does not demote, disable, reset or delete their own account', async () => {
    const me = row('acc-root').id;
    const before = snapshot();
    for (const body of [{ role: 'support' }, { disabled: true }, { password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD }]) {
      const r = await patch(admin, me, body);
      expect(r.status, JSON.stringify(body)).toBe(409);
      expect(r.body.error.message).toMatch(/^You cannot .* the account you are signed in with\. Ask another admin\.$/);
    }
    expect((await admin.json<any>(`/api/users/${me}`, 'DELETE')).status).toBe(409);
    expect(snapshot()).toBe(before);
  });
});

describe('bad input at every field changes nothing', () => {
  it('the admin routes', async () => {
    const u = await createUser('support');
    const c = await signedIn(u.username);
    const cases: [id: number | string, body: unknown, status: number, field: string, message: RegExp][] = [
      [u.id, { role: 'root' }, 422, 'role', /Choose a role: admin, operator or support\./],
      [u.id, { role: '' }, 422, 'role', /Choose a role/],
      [u.id, { disabled: 'yes' }, 422, 'disabled', /disabled is true or false\./],
      [u.id, { password: 'short', confirmPassword: 'short' }, 422, 'password', /at least 12 characters/],
      [u.id, { password: '', confirmPassword: '' }, 422, 'password', /Enter a password\./],
      [u.id, { password: 'x'.repeat(129), confirmPassword: 'x'.repeat(129) }, 422, 'password', /at most 128 characters/],
      [u.id, { password: NEW_PASSWORD, confirmPassword: 'something-else-000' }, 422, 'confirmPassword', /The passwords do not match\./],
      [u.id, { password: NEW_PASSWORD }, 422, 'confirmPassword', /The passwords do not match\./],
      [u.id, {}, 422, '_form', /Send one change/],
      [u.id, { role: 'operator', disabled: true }, 422, '_form', /Send one change/],
      [u.id, { role: 'operator', admin: true }, 422, '_form', /./],
      ['abc', { role: 'operator' }, 422, 'id', /Unknown user\./],
      ['-3', { role: 'operator' }, 422, 'id', /Unknown user\./],
    ];
    const before = snapshot();
    for (const [id, body, status, field, message] of cases) {
      const r = await patch(admin, id, body);
      const where = `${id} ${JSON.stringify(body)}`;
      expect(r.status, where).toBe(status);
      expect(Object.values(r.body.error.fields ?? {}).flat().join(' ') + (field === '_form' ? r.body.error.message : ''), where).toMatch(message);
      if (field !== '_form') expect(r.body.error.fields[field], where).toBeDefined();
    }
    const gone = await patch(admin, 999999, { role: 'operator' });
    expect(gone.status).toBe(404);
    expect(gone.body.error.message).toBe('That account does not exist (any more).');
    const notJson = await admin.fetch(`/api/users/${u.id}`, { method: 'PATCH', headers: { origin: server.url, 'content-type': 'application/json' }, body: '{role' });
    expect(notJson.status).toBe(400);
    expect(snapshot()).toBe(before);
    expect((await c.json('/api/me')).status).toBe(200);
  });

  it('one’s own password form', async () => {
    const u = await createUser('operator');
    const c = await signedIn(u.username);
    const cases: [body: Record<string, unknown>, field: string, message: RegExp][] = [
      [{ currentPassword: '', password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD }, 'currentPassword', /Enter your current password\./],
      [{ password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD }, 'currentPassword', /Enter your current password\./],
      [{ currentPassword: PASSWORD, password: 'short', confirmPassword: 'short' }, 'password', /at least 12 characters/],
      [{ currentPassword: PASSWORD, password: '', confirmPassword: '' }, 'password', /Enter a password\./],
      [{ currentPassword: PASSWORD, password: 'y'.repeat(129), confirmPassword: 'y'.repeat(129) }, 'password', /at most 128 characters/],
      [{ currentPassword: PASSWORD, password: NEW_PASSWORD, confirmPassword: '' }, 'confirmPassword', /Repeat the new password\./],
      [{ currentPassword: PASSWORD, password: NEW_PASSWORD, confirmPassword: 'another-one-0000' }, 'confirmPassword', /The passwords do not match\./],
      [{ currentPassword: PASSWORD, password: PASSWORD, confirmPassword: PASSWORD }, 'password', /different from the current one/],
    ];
    const before = snapshot();
    for (const [body, field, message] of cases) {
      const r = await c.json<any>('/api/me/password', 'POST', body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect((r.body.error.fields[field] ?? []).join(' '), JSON.stringify(body)).toMatch(message);
    }
    expect(snapshot()).toBe(before);
    expect((await c.json('/api/me')).status).toBe(200);
  });
});
