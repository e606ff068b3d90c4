import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { ConsoleClient } from '../helpers/http-client';

describe('first start and restart', () => {
  let server: ConsoleServer;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-start-'));

  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates the OTP user, prints its password once and writes it to a 0600 file', async () => {
    server = await startConsole({ dataDir });
    expect(server.otpPassword).toMatch(/^[A-Za-z0-9]{20}$/);
    const file = path.join(dataDir, 'otp-password.txt');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(server.otpPassword);
    // The password appears in the output exactly once: in the banner.
    expect(server.output().split(server.otpPassword!).length - 1).toBe(1);
    const client = new ConsoleClient(server.url);
    expect((await client.signIn('otp', server.otpPassword!)).ok).toBe(true);
    expect((await client.json('/api/me')).body).toMatchObject({ username: 'otp', role: 'otp' });
  });

  it('logs one JSON object per line, apart from the first-start banner', () => {
    const lines = server.output().split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(2);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    expect(lines.map((l) => JSON.parse(l).event)).toContain('server.ready');
  });

  it('keeps its database in WAL mode with foreign keys, migrated', () => {
    const sqlite = new Database(path.join(dataDir, 'webconf.db'), { readonly: true });
    try {
      expect(sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
      const tables = sqlite.prepare("select name from sqlite_master where type='table'").all().map((r) => (r as { name: string }).name);
      expect(tables).toEqual(expect.arrayContaining(['users', 'sessions', 'audit_events', 'login_failures', 'settings', '__drizzle_migrations']));
      const fk = sqlite.prepare('select * from pragma_foreign_key_list(\'sessions\')').all();
      expect(fk.length).toBe(1);
    } finally {
      sqlite.close();
    }
  });

  it('does not create another OTP user or print a password on restart', async () => {
    const first = server.otpPassword!;
    await server.stop();
    server = await startConsole({ dataDir });
    expect(server.otpPassword).toBeNull();
    expect(server.output()).not.toContain(first);
    const client = new ConsoleClient(server.url);
    expect((await client.signIn('otp', first)).ok).toBe(true);
  });

  it('refuses to start with a bad environment, in words and without a stack trace', async () => {
    await expect(startConsole({ env: { WEBCONF_HTTP_PORT: 'eighty' }, timeoutMs: 20_000 })).rejects.toThrow(/WEBCONF_HTTP_PORT/);
    try {
      await startConsole({ env: { WEBCONF_HTTP_PORT: 'eighty' }, timeoutMs: 20_000 });
    } catch (err) {
      expect(String(err)).not.toMatch(/\n\s+at /);
    }
  });
});

describe('sign-in, sessions and cross-site requests', () => {
  let server: ConsoleServer;
  let admin: ConsoleClient;
  const adminPassword = 'admin password 0001';
  const bobPassword = 'bob password never shown 0042';

  beforeAll(async () => {
    server = await startConsole({ keepDataDir: true, env: { WEBCONF_LOGIN_MAX_FAILURES_PER_ADDRESS: '150' } });
    const otp = new ConsoleClient(server.url);
    expect((await otp.signIn('otp', server.otpPassword!)).ok).toBe(true);
    const created = await otp.json('/api/users', 'POST', { username: 'alice', role: 'admin', password: adminPassword, confirmPassword: adminPassword });
    expect(created.status).toBe(200);
    admin = new ConsoleClient(server.url);
    expect((await admin.signIn('alice', adminPassword)).ok).toBe(true);
  });
  afterAll(async () => {
    await server?.stop();
    if (server) fs.rmSync(server.dataDir, { recursive: true, force: true });
  });

  function db() {
    return new Database(path.join(server.dataDir, 'webconf.db'));
  }

  it('sets the session cookie httpOnly, SameSite=Lax, path /', async () => {
    const c = new ConsoleClient(server.url);
    await c.signIn('alice', adminPassword);
    const cookie = c.lastSetCookies.find((s) => s.startsWith('webconf.session='));
    expect(cookie).toBeDefined();
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\//);
  });

  it('throttles sign-in after 100 failures an hour for one account, with a clear message', async () => {
    const attacker = new ConsoleClient(server.url);
    for (let i = 0; i < 100; i++) {
      const r = await attacker.signIn('otp', `wrong-${i}`);
      expect(r.error).toBe('CredentialsSignin');
    }
    const blocked = await attacker.signIn('otp', server.otpPassword!);
    expect(blocked.ok).toBe(false);
    expect(blocked.error).toBe('ThrottledAccount');
    // The sign-in page words the code; it never shows text taken from the link.
    const shown = async (query: string) => /data-testid="login-error"[^>]*>(?:<[^>]+>)*([^<]*)</.exec(await (await attacker.fetch(`/login?${query}`)).text())?.[1];
    expect(await shown('error=ThrottledAccount')).toBe('Too many failed sign-ins for this account. Try again in an hour.');
    expect(await shown('error=Your%20appliance%20is%20infected%2C%20call%20555')).toBe('Sign-in failed. Try again.');
    // Another account from the same address is not affected by the account limit.
    expect((await new ConsoleClient(server.url).signIn('alice', adminPassword)).ok).toBe(true);
  });

  it('throttles per address too', async () => {
    const attacker = new ConsoleClient(server.url);
    for (let i = 0; i < 50; i++) await attacker.signIn(`nobody${i}`, 'wrong password');
    const r = await new ConsoleClient(server.url).signIn('alice', adminPassword);
    expect(r.ok).toBe(false);
    expect(r.error).toBe('ThrottledAddress');
    const sqlite = db();
    sqlite.prepare('delete from login_failures').run();
    sqlite.close();
  });

  it('ends a session after 30 idle minutes', async () => {
    const c = new ConsoleClient(server.url);
    expect((await c.signIn('alice', adminPassword)).ok).toBe(true);
    expect((await c.json('/api/me')).status).toBe(200);
    const sqlite = db();
    // Every session of alice's has been idle for 31 minutes, the admin's own included.
    sqlite.prepare('update sessions set last_seen_at = ?').run(Date.now() - 31 * 60 * 1000);
    sqlite.close();
    expect((await c.json('/api/me')).status).toBe(401);
    const page = await c.fetch('/backup');
    expect(page.status).toBe(307);
    expect(page.headers.get('location')).toMatch(/\/login/);
    expect((await admin.signIn('alice', adminPassword)).ok).toBe(true);
  });

  it('does not count the status panel\'s polling as activity', async () => {
    const c = new ConsoleClient(server.url);
    expect((await c.signIn('alice', adminPassword)).ok).toBe(true);
    const sqlite = db();
    const idle = Date.now() - 29 * 60 * 1000;
    sqlite.prepare('update sessions set last_seen_at = ? where rowid = (select max(rowid) from sessions)').run(idle);
    expect((await c.json('/api/backup/status')).status).toBe(200);
    const seen = () => (sqlite.prepare('select last_seen_at as t from sessions where rowid = (select max(rowid) from sessions)').get() as { t: number }).t;
    expect(seen()).toBe(idle);
    // A real request is activity.
    expect((await c.json('/api/me')).status).toBe(200);
    expect(seen()).toBeGreaterThan(idle);
    sqlite.close();
  });

  it('ends a session 12 hours after sign-in even when active', async () => {
    const c = new ConsoleClient(server.url);
    expect((await c.signIn('alice', adminPassword)).ok).toBe(true);
    const sqlite = db();
    sqlite.prepare('update sessions set created_at = ?, last_seen_at = ? where rowid = (select max(rowid) from sessions)').run(Date.now() - 12 * 3600 * 1000 - 1000, Date.now());
    sqlite.close();
    expect((await c.json('/api/me')).status).toBe(401);
  });

  it('revokes the session at sign-out: the old cookie no longer works', async () => {
    const c = new ConsoleClient(server.url);
    expect((await c.signIn('alice', adminPassword)).ok).toBe(true);
    const saved = new Map(c.cookies);
    const csrf = (await (await c.fetch('/api/auth/csrf')).json()) as { csrfToken: string };
    await c.fetch('/api/auth/signout', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      body: new URLSearchParams({ csrfToken: csrf.csrfToken, json: 'true' }).toString(),
    });
    const replay = new ConsoleClient(server.url);
    for (const [k, v] of saved) replay.cookies.set(k, v);
    expect((await replay.json('/api/me')).status).toBe(401);
  });

  it('refuses state-changing route handlers from another site and changes nothing', async () => {
    const before = (await admin.json<{ filenamePrefix: string }>('/api/backup/settings')).body.filenamePrefix;
    const evil = await admin.json('/api/backup/settings', 'PUT', { filenamePrefix: 'evil' }, { origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    const crossSite = await admin.json('/api/backup/settings', 'PUT', { filenamePrefix: 'evil' }, { 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    const noOrigin = await admin.fetch('/api/backup/settings', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"filenamePrefix":"evil"}' });
    expect(noOrigin.status).toBe(403);
    expect((await admin.json<{ filenamePrefix: string }>('/api/backup/settings')).body.filenamePrefix).toBe(before);
    const ok = await admin.json('/api/backup/settings', 'PUT', { filenamePrefix: 'site-a' });
    expect(ok.status).toBe(200);
    expect((await admin.json<{ filenamePrefix: string }>('/api/backup/settings')).body.filenamePrefix).toBe('site-a');
  });

  it('answers bad API input with 422 and per-field messages, changing nothing', async () => {
    const bad = await admin.json<{ error: { fields: Record<string, string[]> } }>('/api/backup/settings', 'PUT', { filenamePrefix: '../etc/passwd' });
    expect(bad.status).toBe(422);
    expect(bad.body.error.fields.filenamePrefix?.[0]).toMatch(/letters, digits/);
    const notJson = await admin.fetch('/api/backup/settings', { method: 'PUT', headers: { 'content-type': 'application/json', origin: server.url }, body: '{oops' });
    expect(notJson.status).toBe(400);
    expect(await notJson.text()).not.toMatch(/at .*\.js/);
    expect((await admin.json<{ filenamePrefix: string }>('/api/backup/settings')).body.filenamePrefix).toBe('site-a');
    const users = await admin.json<{ users: unknown[] }>('/api/users');
    const dup = await admin.json('/api/users', 'POST', { username: 'alice', role: 'support', password: 'another password 1', confirmPassword: 'another password 1' });
    expect(dup.status).toBe(409);
    expect((await admin.json<{ users: unknown[] }>('/api/users')).body.users.length).toBe(users.body.users.length);
  });

  it('records an audit trail with who, what, where and the outcome', async () => {
    const events = (await admin.json<{ entries: { who: string; action: string; outcome: string; from: string }[] }>('/api/audit?limit=500')).body.entries;
    expect(events.some((e) => e.action === 'account.create' && e.who === 'otp' && e.outcome === 'success')).toBe(true);
    expect(events.some((e) => e.action === 'auth.sign-in' && e.outcome === 'failure' && e.from === '127.0.0.1')).toBe(true);
    expect(events.some((e) => e.action === 'api.backup.settings.save' && e.outcome === 'denied')).toBe(true);
  });

  it('never writes a password to the log or the database', async () => {
    const res = await admin.json('/api/users', 'POST', { username: 'bob', role: 'support', password: bobPassword, confirmPassword: bobPassword });
    expect(res.status).toBe(200);
    await server.stop();
    const files = fs.readdirSync(server.dataDir).filter((f) => f.startsWith('webconf.db'));
    const dbBytes = Buffer.concat(files.map((f) => fs.readFileSync(path.join(server.dataDir, f)))).toString('latin1');
    for (const secret of [adminPassword, bobPassword]) {
      expect(server.output()).not.toContain(secret);
      expect(dbBytes).not.toContain(secret);
    }
  });
});

describe('HTTPS', () => {
  let server: ConsoleServer;
  afterAll(() => server?.stop());

  it('makes a self-signed certificate for the appliance names at first start and serves TLS', async () => {
    server = await startConsole({ https: true, env: { WEBCONF_HOSTNAMES: 'appliance.test,localhost' } });
    const certPem = fs.readFileSync(path.join(server.dataDir, 'tls', 'cert.pem'), 'utf8');
    expect(fs.statSync(path.join(server.dataDir, 'tls', 'key.pem')).mode & 0o777).toBe(0o600);
    const peer = await new Promise<tls.PeerCertificate>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: certPem }, () => {
        resolve(s.getPeerCertificate());
        s.end();
      });
      s.on('error', reject);
    });
    expect(peer.subjectaltname).toContain('DNS:appliance.test');
    expect(peer.subjectaltname).toContain('DNS:localhost');
    expect(peer.subjectaltname).toContain('IP Address:127.0.0.1');
  });

  it('sets the session cookie with the __Host- prefix and Secure behind TLS', async () => {
    const certPem = fs.readFileSync(path.join(server.dataDir, 'tls', 'cert.pem'), 'utf8');
    const agent = new https.Agent({ ca: certPem });
    const get = (p: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
      new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
        const req = https.request(`${server.url}${p}`, { agent, method: init.method ?? 'GET', headers: init.headers }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        });
        req.on('error', reject);
        req.end(init.body);
      });
    const csrfRes = await get('/api/auth/csrf');
    const csrfCookies = (csrfRes.headers['set-cookie'] as string[]).map((c) => c.split(';')[0]).join('; ');
    expect(csrfCookies).toContain('__Host-webconf.csrf-token=');
    const { csrfToken } = JSON.parse(csrfRes.body) as { csrfToken: string };
    const res = await get('/api/auth/callback/credentials', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookies, origin: server.url },
      body: new URLSearchParams({ csrfToken, username: 'otp', password: server.otpPassword!, json: 'true' }).toString(),
    });
    const session = (res.headers['set-cookie'] as string[]).find((c) => c.startsWith('__Host-webconf.session='));
    expect(session).toBeDefined();
    expect(session).toMatch(/; Secure/i);
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/Path=\//);
    expect(session).not.toMatch(/Domain=/i);
  });

  it('offers plain HTTP only on loopback', async () => {
    const other = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    const s = await startConsole({ env: {} });
    try {
      const reachable = (host: string) =>
        new Promise<boolean>((resolve) => {
          const sock = net.connect({ host, port: s.port }, () => {
            sock.end();
            resolve(true);
          });
          sock.on('error', () => resolve(false));
        });
      expect(await reachable('127.0.0.1')).toBe(true);
      // The kernel's own table: the one listening socket on this port is bound to 127.0.0.1 (hex 0100007F), not to 0.0.0.0 or ::.
      const port = s.port.toString(16).toUpperCase().padStart(4, '0');
      const listening = ['/proc/net/tcp', '/proc/net/tcp6']
        .flatMap((f) => fs.readFileSync(f, 'utf8').split('\n').slice(1))
        .map((l) => l.trim().split(/\s+/))
        .filter((c) => c[1]?.endsWith(`:${port}`) && c[3] === '0A')
        .map((c) => c[1]);
      expect(listening).toEqual([`0100007F:${port}`]);
      // And from another address of this machine, where there is one, nothing answers.
      if (other) expect(await reachable(other)).toBe(false);
    } finally {
      await s.stop();
    }
  });
});
