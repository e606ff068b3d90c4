/**
 * API tokens and the `webconf backup` command line against the built console:
 * a token issued by an admin, used as "Authorization: Bearer" on JSON routes
 * with its own role, revoked and then refused with nothing changed; bearer
 * requests need no same-origin proof while cookie writes still do; pages
 * stay cookie-only. Then every `webconf backup` command, its table and its
 * --json, against simulated SSH devices (tests/helpers/ssh-devices.ts) and
 * the console's own storage folder, and the exit codes (3 for a refused
 * token or role, 4 for a console that is not there).
 *
 * Build first: WEBCONF_DIST_DIR=.next npx next build
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startConsole, type ConsoleServer } from '../helpers/console-server';
import { ConsoleClient } from '../helpers/http-client';
import { webconf } from '../helpers/restore-cli';
import { startDevices, type SimulatedFleet } from '../helpers/ssh-devices';

const PASSWORD = 'tokens-password-1234';
let server: ConsoleServer;
let admin: ConsoleClient;
let tmp: string;
let store: string;
let fleet: SimulatedFleet | undefined;

type TokenView = { id: number; name: string; role: string; prefix: string; lastUsedAt: string | null; revokedAt: string | null; token?: string };
type Answer<T = any> = { status: number; body: T };

/** A request with a bearer token only: no cookie, no Origin, as a script sends it. */
async function bearer<T = any>(token: string, pathname: string, method = 'GET', body?: unknown, extra: Record<string, string> = {}): Promise<Answer<T>> {
  const res = await fetch(new URL(pathname, server.url), {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...extra },
    body: body === undefined ? undefined : JSON.stringify(body),
    redirect: 'manual',
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed as T };
}

async function issue(name: string, role: 'admin' | 'operator' | 'support'): Promise<TokenView & { token: string }> {
  const r = await admin.json<TokenView & { token: string }>('/api/tokens', 'POST', { name, role });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}
const tokensNow = async () => (await admin.json<{ tokens: TokenView[] }>('/api/tokens')).body.tokens;
const auditNow = async () => (await admin.json<{ entries: { who: string; action: string; outcome: string; reason: string; sentence: string }[] }>('/api/audit?limit=500')).body.entries;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-tokens-it-'));
  store = path.join(tmp, 'store');
  fs.mkdirSync(store);
  server = await startConsole();
  const otp = new ConsoleClient(server.url);
  expect((await otp.signIn('otp', server.otpPassword!)).ok).toBe(true);
  expect((await otp.json('/api/users', 'POST', { username: 'ada', role: 'admin', password: PASSWORD, confirmPassword: PASSWORD })).status).toBe(200);
  admin = new ConsoleClient(server.url);
  expect((await admin.signIn('ada', PASSWORD)).ok).toBe(true);
}, 180_000);

afterAll(async () => {
  await fleet?.close();
  await server?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('API tokens', () => {
  it('an admin issues a token: the answer holds it once, the list and the database never', async () => {
    const t = await issue('ci', 'support');
    expect(t.token).toMatch(/^wct_[A-Za-z0-9_-]{43}$/);
    expect(t).toMatchObject({ name: 'ci', role: 'support', prefix: t.token.slice(0, 12), lastUsedAt: null, revokedAt: null });
    const listed = await tokensNow();
    expect(listed.map((x) => x.name)).toEqual(['ci']);
    expect(JSON.stringify(listed)).not.toContain(t.token);
    expect(fs.readFileSync(path.join(server.dataDir, 'webconf.db')).includes(t.token.slice(12))).toBe(false);
    expect(server.output()).not.toContain(t.token.slice(12));
    // Bad input: per-field errors, nothing added.
    const bad = await admin.json<{ error: { fields: Record<string, string[]> } }>('/api/tokens', 'POST', { name: 'has space', role: 'root' });
    expect(bad.status).toBe(422);
    expect(Object.keys(bad.body.error.fields).sort()).toEqual(['name', 'role']);
    const dup = await admin.json<{ error: { message: string } }>('/api/tokens', 'POST', { name: 'ci', role: 'admin' });
    expect(dup.status).toBe(409);
    expect((await tokensNow()).length).toBe(1);
  });

  it("acts with the token's role on every JSON route, named token:<name>", async () => {
    const sup = await issue('reader', 'support');
    const op = await issue('runner', 'operator');
    const adm = await issue('root-script', 'admin');
    expect((await bearer(sup.token, '/api/me')).body).toEqual({ username: 'token:reader', role: 'support', kind: 'token' });
    expect((await bearer(op.token, '/api/me')).body).toMatchObject({ username: 'token:runner', role: 'operator' });
    expect((await bearer(sup.token, '/api/backup/status')).status).toBe(200);
    expect((await bearer(sup.token, '/api/fleet/status')).status).toBe(200);
    const refused = await bearer(sup.token, '/api/fleet/config', 'PUT', { retention: 3 });
    expect(refused).toMatchObject({ status: 403, body: { error: { message: 'The Support role cannot change managed devices, their keys or the organisation backup configuration.' } } });
    expect((await bearer(op.token, '/api/tokens')).status).toBe(403);
    expect((await bearer(op.token, '/api/users')).status).toBe(403);
    expect((await bearer(adm.token, '/api/tokens')).status).toBe(200);
    // Even an admin's token cannot issue tokens: revoking a leaked one must end its access.
    const minted = await bearer(adm.token, '/api/tokens', 'POST', { name: 'replacement', role: 'admin' });
    expect(minted).toMatchObject({ status: 403, body: { error: { message: expect.stringMatching(/^New API tokens are issued by a signed-in admin/) } } });
    expect((await tokensNow()).some((t) => t.name === 'replacement')).toBe(false);
    expect((await admin.json<{ retention: number }>('/api/fleet/config')).body.retention).toBe(5);
    const denied = (await auditNow()).find((e) => e.who === 'token:reader' && e.outcome === 'denied');
    expect(denied).toMatchObject({ action: 'api.fleet.config.save' });
  });

  it('a bearer write needs no Origin (a browser never adds the header), while a cross-site cookie write is still refused', async () => {
    const adm = (await tokensNow()).find((t) => t.name === 'root-script')!;
    const scriptToken = await issue('writer', 'admin');
    const r = await bearer(scriptToken.token, '/api/fleet/config', 'PUT', { retention: 4 }, { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect((await admin.json<{ retention: number; updatedBy: string }>('/api/fleet/config')).body).toMatchObject({ retention: 4, updatedBy: 'token:writer' });
    const before = (await tokensNow()).length;
    const variants: Record<string, string>[] = [{ origin: 'https://evil.example' }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }];
    for (const headers of variants) {
      const res = await admin.fetch('/api/tokens', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ name: 'csrf', role: 'admin' }) });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { message: string } }).error.message).toBe('Cross-site request refused.');
    }
    const noOrigin = await admin.fetch(`/api/tokens/${adm.id}`, { method: 'DELETE' });
    expect(noOrigin.status).toBe(403);
    expect((await tokensNow()).length).toBe(before);
    expect((await tokensNow()).find((t) => t.id === adm.id)!.revokedAt).toBeNull();
  });

  it('a revoked token is refused with 401 in words, nothing changed, audited under its name', async () => {
    const t = await issue('leaked', 'admin');
    expect((await bearer(t.token, '/api/fleet/config', 'PUT', { retention: 6 })).status).toBe(200);
    const revoke = await admin.json<{ token: TokenView }>(`/api/tokens/${t.id}`, 'DELETE');
    expect(revoke.status).toBe(200);
    expect(revoke.body.token.revokedAt).not.toBeNull();
    const r = await bearer(t.token, '/api/fleet/config', 'PUT', { retention: 2 });
    expect(r.status).toBe(401);
    expect(r.body.error.message).toMatch(/^The API token "leaked" was revoked \(.* UTC\)\. Ask an admin for a new one\.$/);
    expect((await bearer(t.token, '/api/me')).status).toBe(401);
    expect((await admin.json<{ retention: number }>('/api/fleet/config')).body.retention).toBe(6);
    const events = (await auditNow()).filter((e) => e.who === 'token:leaked' && e.outcome === 'denied');
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events[0]!.reason).toMatch(/revoked/);
    expect(events[0]!.sentence).toMatch(/^token:leaked /);
    expect((await admin.json(`/api/tokens/${t.id}`, 'DELETE')).status).toBe(409);
  });

  it('unknown and malformed tokens are 401 in words; the proxy lets them reach the handler, which refuses', async () => {
    expect((await bearer(`wct_${'x'.repeat(43)}`, '/api/fleet/status')).body.error.message).toBe('The API token is not known to this console. Ask an admin for a new one.');
    const r = await fetch(new URL('/api/fleet/status', server.url), { headers: { authorization: 'Basic YTpi' } });
    expect(r.status).toBe(401);
    expect(((await r.json()) as { error: { message: string } }).error.message).toBe('Send the API token as "Authorization: Bearer <token>".');
    expect((await bearer('nonsense', '/api/fleet/status')).status).toBe(401);
    expect((await fetch(new URL('/api/fleet/status', server.url))).status).toBe(401);
  });

  it('pages stay cookie-only: a bearer token opens no page', async () => {
    const t = await issue('pages', 'admin');
    for (const page of ['/backup', '/settings/tokens']) {
      const res = await fetch(new URL(page, server.url), { headers: { authorization: `Bearer ${t.token}` }, redirect: 'manual' });
      expect(res.status, page).toBe(307);
      expect(res.headers.get('location')).toContain('/login');
    }
    const page = await admin.fetch('/settings/tokens');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('>API tokens</h1>');
    expect(html).toContain('data-testid="token-pages"');
    expect(html).not.toContain(t.token);
  });

  it('records the last use', async () => {
    const t = await issue('used', 'support');
    expect((await tokensNow()).find((x) => x.id === t.id)!.lastUsedAt).toBeNull();
    await bearer(t.token, '/api/me');
    expect((await tokensNow()).find((x) => x.id === t.id)!.lastUsedAt).not.toBeNull();
  });
});

describe('webconf backup (the command line)', () => {
  let env: Record<string, string>;
  let supportToken: string;
  let names: string[];

  beforeAll(async () => {
    const t = await issue('cli-admin', 'admin');
    supportToken = (await issue('cli-support', 'support')).token;
    env = { WEBCONF_URL: server.url, WEBCONF_TOKEN: t.token };
    fleet = await startDevices([{ kind: 'opnsense' }, { kind: 'cisco' }, { kind: 'opnsense', behaviour: 'refuse-password' }]);
    names = ['fw-hq', 'sw-core', 'fw-wrong-pass'];
    expect((await admin.json('/api/backup/storage', 'PUT', { type: 'local', path: store })).status).toBe(200);
    for (const [i, d] of fleet.devices.entries()) {
      const name = names[i]!;
      const added = await bearer(t.token, '/api/devices', 'POST', { name, host: d.host, port: d.port, username: d.username, password: d.password, model: d.kind === 'cisco' ? 'cisco-ios' : 'opnsense' });
      expect(added.status, JSON.stringify(added.body)).toBe(201);
      expect(added.body.hostKey.presented).toBe(d.fingerprint);
      expect((await bearer(t.token, `/api/devices/${name}/host-key`, 'POST', { fingerprint: d.fingerprint })).status).toBe(200);
      expect((await bearer(t.token, `/api/devices/${name}/approve`, 'POST')).status).toBe(200);
    }
    // A schedule that does not fire while the test runs (29 February), so every run here is one the test started.
    const saved = await bearer(t.token, '/api/fleet/config', 'PUT', { enabled: true, storage: { kind: 'console' }, schedule: { cron: '0 3 29 2 *', timezone: 'UTC' } });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  }, 120_000);

  it('usage and help: exit 2, the exit codes documented, nothing sent', async () => {
    const help = await webconf(['backup', '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
    expect(help.stdout).toMatch(/3 +not authorised/);
    expect(help.stdout).toMatch(/4 +the console cannot be reached/);
    const r = await webconf(['backup', 'status', '--token', env.WEBCONF_TOKEN!], { WEBCONF_URL: server.url });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^A token on the command line can be read by every user/);
  });

  it('encryption-key set --generate writes the identity to a 0600 file, never replacing one; the config shows the key', async () => {
    const file = path.join(tmp, 'org-identity.txt');
    const r = await webconf(['backup', 'encryption-key', 'set', '--generate', '--identity-out', file], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('AGE-SECRET-KEY');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const recipient = execFileSync('age-keygen', ['-y', file], { encoding: 'utf8' }).trim();
    expect(r.stdout).toContain(`The organisation encrypts its backups to ${recipient}.`);
    const again = await webconf(['backup', 'encryption-key', 'set', '--generate', '--identity-out', file], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists already; webconf never replaces a file\. Name a new one\. Nothing was changed\./);
    const show = await webconf(['backup', 'config', 'show'], env);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^Status: +● ENABLED$/m);
    expect(show.stdout).toMatch(/^Storage: +The console's own backup storage location$/m);
    expect(show.stdout).toMatch(/^Schedule: +0 3 29 2 \* \(UTC\)$/m);
    expect(show.stdout).toMatch(/^Encryption Key: +● Configured$/m);
    expect(show.stdout).toContain(`Recipient:      ${recipient}`);
    expect(show.stdout).toMatch(/^Updated: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by token:cli-admin$/m);
    const json = await webconf(['backup', 'config', 'show', '--json'], env);
    expect(JSON.parse(json.stdout)).toEqual((await admin.json('/api/fleet/config')).body);
  });

  it('encryption-key set for a device (--recipient, --clear), enable and disable, seen in the status table', async () => {
    const recipient = execFileSync('sh', ['-c', 'age-keygen 2>/dev/null | age-keygen -y'], { encoding: 'utf8' }).trim();
    const set = await webconf(['backup', 'encryption-key', 'set', '--device', 'sw-core', '--recipient', recipient], env);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe(`Device sw-core encrypts its backups to ${recipient}.\n`);
    expect((await webconf(['backup', 'disable', '--device', 'fw-hq'], env)).stdout).toBe('Backup disabled for fw-hq.\n');
    let status = await webconf(['backup', 'status'], env);
    expect(status.stdout).toMatch(/│ fw-hq +│ Disabled │ - +│ Never +│ - +│/);
    expect(status.stdout).toMatch(/│ sw-core +│ Enabled +│ device │ Never +│ - +│/);
    expect(status.stdout).toContain('Total: 3 devices (2 with backup enabled)');
    expect((await webconf(['backup', 'enable', '--device', 'fw-hq'], env)).code).toBe(0);
    expect((await webconf(['backup', 'encryption-key', 'set', '--device', 'sw-core', '--clear'], env)).stdout).toBe('Device sw-core now uses the organisation key.\n');
    status = await webconf(['backup', 'status'], env);
    expect(status.stdout).toMatch(/│ sw-core +│ Enabled +│ org +│/);
    expect(status.stdout).toContain('Total: 3 devices (3 with backup enabled)');
    const unknown = await webconf(['backup', 'enable', '--device', 'fw-nowhere'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.length).toBeGreaterThan(0);
  });

  it('run --wait: one row per device, exit 1 when one failed; status shows ● SUCCESS and ● FAILED with the reason', async () => {
    const r = await webconf(['backup', 'run', '--wait'], env);
    expect(r.code, r.stderr + r.stdout).toBe(1);
    expect(r.stdout).toMatch(/│ fw-hq +│ ● SUCCEEDED │ Stored +│/);
    expect(r.stdout).toMatch(/│ sw-core +│ ● SUCCEEDED │ Stored +│/);
    expect(r.stdout).toMatch(/│ fw-wrong-pass │ ● FAILED +│ .+│/);
    expect(r.stdout).toMatch(/^Run \d+ partial: 2 succeeded, 1 failed$/m);
    const status = await webconf(['backup', 'status'], env);
    expect(status.code).toBe(0);
    const lines = status.stdout.split('\n');
    expect(lines[0]).toMatch(/^╭─+┬─+┬─+┬─+┬─+╮$/);
    expect(lines[1]).toMatch(/^│ Device +│ Backup +│ Key │ Last Backup │ Status +│$/);
    expect(status.stdout).toMatch(/│ fw-hq +│ Enabled +│ org +│ \d+s +│ ● SUCCESS │/);
    expect(status.stdout).toMatch(/│ fw-wrong-pass │ Enabled +│ org +│ \d+s +│ ● FAILED +│/);
    expect(status.stdout).toMatch(/^Failed:\n {2}fw-wrong-pass: .+$/m);
    const json = await webconf(['backup', 'status', '--json'], env);
    expect(JSON.parse(json.stdout)).toEqual((await admin.json('/api/fleet/status')).body);
  });

  it('run --device --wait --json prints the run; without --wait it only starts it', async () => {
    const r = await webconf(['backup', 'run', '--device', 'fw-hq', '--wait', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout);
    expect(run).toMatchObject({ status: 'succeeded', tasks: [{ device: 'fw-hq', status: 'SUCCEEDED', unchanged: true }] });
    const started = await webconf(['backup', 'run', '--device', 'sw-core', '--json'], env);
    expect(started.code, started.stderr).toBe(0);
    const { runId } = JSON.parse(started.stdout);
    for (let i = 0; i < 100; i++) {
      const v = await admin.json<{ status: string }>(`/api/fleet/runs/${runId}`);
      if (v.body.status !== 'running') break;
      await new Promise((res) => setTimeout(res, 200));
    }
  });

  it('the identity the command line wrote decrypts a device backup with the stock age tool', async () => {
    const backups = (await admin.json<{ backups: { id: number }[] }>('/api/devices/fw-hq/backups')).body.backups;
    expect(backups.length).toBeGreaterThan(0);
    const res = await admin.fetch(`/api/devices/fw-hq/backups/${backups[0]!.id}/download`);
    expect(res.status).toBe(200);
    const enc = path.join(tmp, 'fw-hq.age');
    fs.writeFileSync(enc, Buffer.from(await res.arrayBuffer()));
    const plain = execFileSync('age', ['-d', '-i', path.join(tmp, 'org-identity.txt'), enc]);
    expect(plain.toString('utf8')).toMatch(/<opnsense>/);
  });

  it('the token from a file or standard input; a support token refused a change with exit 3; a revoked token exit 3', async () => {
    const file = path.join(tmp, 'token');
    fs.writeFileSync(file, `${supportToken}\n`, { mode: 0o600 });
    const fromFile = await webconf(['backup', 'status', '--token-file', file, '--url', server.url], {});
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const fromStdin = await webconf(['backup', 'status', '--token-file', '-'], { WEBCONF_URL: server.url }, { input: supportToken });
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    const refused = await webconf(['backup', 'disable', '--device', 'fw-hq'], { WEBCONF_URL: server.url, WEBCONF_TOKEN: supportToken });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toBe('The Support role cannot change managed devices, their keys or the organisation backup configuration.\n');
    const id = (await tokensNow()).find((t) => t.name === 'cli-support')!.id;
    expect((await admin.json(`/api/tokens/${id}`, 'DELETE')).status).toBe(200);
    const revoked = await webconf(['backup', 'status'], { WEBCONF_URL: server.url, WEBCONF_TOKEN: supportToken });
    expect(revoked.code).toBe(3);
    expect(revoked.stderr).toMatch(/^The API token "cli-support" was revoked/);
    expect(revoked.stdout).toBe('');
  });

  it('a console that is not there: exit 4 in words', async () => {
    const port = await freePort();
    const r = await webconf(['backup', 'status'], { ...env, WEBCONF_URL: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(`The console at http://127.0.0.1:${port} cannot be reached: connection refused (is the console running, and is the port right?).\n`);
  });
});
