import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { ConsoleClient } from '../helpers/http-client';

/**
 * Verify through the built console's API, as each role: support reads
 * results but may not start one, an operator verifies quick and full (a
 * backup of the history, a file by its storage URL), one at a time; a
 * damaged file fails and the Backup page says so; the scheduled verifier's
 * setting is the admin's. Then the console is stopped during a full
 * verification and started again: the stopped one says it did not finish,
 * a verification a killed process left running is marked, and the database
 * copies left in the data folder are removed.
 */
const PASSWORD = 'verify api password 01';
const DMS = 'verify api domain master secret';
const CHUNK = 65536 + 16;

type Verification = {
  id: number;
  status: 'running' | 'passed' | 'failed';
  level: string;
  trigger: string;
  requestedBy: string;
  backupRunId: number | null;
  location: string;
  fileName: string;
  error: string | null;
  interrupted: boolean;
  progress: { phase: string; bytesDone: number; bytesTotal: number | null } | null;
  result: { passed: string[]; databaseIntegrity?: string; checksumMatchesHistory?: boolean | null; dataBytes?: number } | null;
};
type Run = { id: number; status: string; fileName: string | null };

let server: ConsoleServer;
let dataDir: string;
let store: string;
const as: Record<'admin' | 'operator' | 'support', ConsoleClient> = {} as never;
let run: Run;

async function until<T>(fn: () => Promise<T | null | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function finished(c: ConsoleClient, id: number): Promise<Verification> {
  return until(async () => {
    const r = await c.json<{ verification: Verification }>(`/api/verifications/${id}`);
    expect(r.status).toBe(200);
    return r.body.verification.status === 'running' ? null : r.body.verification;
  });
}

async function start(c: ConsoleClient, body: Record<string, unknown>) {
  return c.json<{ verification: Verification; error?: { code: string; message: string } }>('/api/verifications', 'POST', body);
}

const rows = () => {
  const db = new Database(path.join(dataDir, 'webconf.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('select id, status, level, requested_by, error from backup_verifications order by id').all() as { id: number; status: string; requested_by: string; error: string | null }[];
  } finally {
    db.close();
  }
};
const copiesLeft = () => {
  const tmp = path.join(dataDir, 'tmp');
  return fs.existsSync(tmp) ? fs.readdirSync(tmp).filter((f) => f.startsWith('verify-')) : [];
};

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-verify-it-'));
  store = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-verify-store-'));
  fs.mkdirSync(path.join(dataDir, 'appliance', 'system'), { recursive: true });
  // About 2 MiB: some thirty chunks after the manifest.
  fs.writeFileSync(path.join(dataDir, 'appliance', 'system', 'large.bin'), Buffer.alloc(2 << 20, 7));
  server = await startConsole({ dataDir, keepDataDir: true });
  const otp = new ConsoleClient(server.url);
  expect((await otp.signIn('otp', server.otpPassword!)).ok).toBe(true);
  expect((await otp.json('/api/users', 'POST', { username: 'ada', role: 'admin', password: PASSWORD, confirmPassword: PASSWORD })).status).toBe(200);
  as.admin = new ConsoleClient(server.url);
  expect((await as.admin.signIn('ada', PASSWORD)).ok).toBe(true);
  for (const [name, role] of [['otto', 'operator'], ['sue', 'support']] as const) {
    expect((await as.admin.json('/api/users', 'POST', { username: name, role, password: PASSWORD, confirmPassword: PASSWORD })).status).toBe(200);
    as[role] = new ConsoleClient(server.url);
    expect((await as[role].signIn(name, PASSWORD)).ok).toBe(true);
  }
  expect((await as.admin.json('/api/backup/dms', 'PUT', { dms: DMS, dmsRepeat: DMS })).status).toBe(200);
  expect((await as.admin.json('/api/backup/storage', 'PUT', { type: 'local', path: store })).status).toBe(200);
  const started = await as.operator.json<{ run: Run }>('/api/backups', 'POST');
  expect(started.status).toBe(202);
  run = await until(async () => {
    const r = (await as.admin.json<{ run: Run }>(`/api/backups/${started.body.run.id}`)).body.run;
    return r.status === 'running' ? null : r;
  });
  expect(run.status).toBe('succeeded');
}, 180_000);

afterAll(async () => {
  await server?.stop();
  for (const d of [dataDir, store]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

describe('verify through the API', () => {
  it('support may not start a verification (403 in words, nothing recorded); an operator may, and support reads the result', async () => {
    for (const level of ['quick', 'full']) {
      const refused = await start(as.support, { level, runId: run.id });
      expect(refused.status).toBe(403);
      expect(refused.body.error).toEqual({ code: 'forbidden', message: 'The Support role cannot verify backups.' });
    }
    expect(rows()).toEqual([]);
    const ok = await start(as.operator, { level: 'quick', runId: run.id });
    expect(ok.status).toBe(202);
    expect(ok.body.verification).toMatchObject({ status: 'running', level: 'quick', trigger: 'manual', requestedBy: 'otto', backupRunId: run.id, fileName: run.fileName });
    const done = await finished(as.support, ok.body.verification.id);
    expect(done.status).toBe('passed');
    expect(done.result!.passed).toEqual(['header', 'signature', 'length', 'end']);
  });

  it('full: progress while it runs, one at a time (409 for a second), then every check passed', async () => {
    const ok = await start(as.operator, { level: 'full', runId: run.id });
    expect(ok.status).toBe(202);
    const id = ok.body.verification.id;
    const second = await start(as.admin, { level: 'quick', runId: run.id });
    expect(second.status).toBe(409);
    expect(second.body.error!.message).toMatch(/^Another verification is running: a full verification of .* \(started by otto at /);
    // While it runs, its progress is in bytes of the manifest's total.
    const seen = await until(async () => {
      const v = (await as.support.json<{ verification: Verification }>(`/api/verifications/${id}`)).body.verification;
      return v.status !== 'running' || v.progress?.bytesTotal ? v : null;
    });
    if (seen.status === 'running') expect(seen.progress!.bytesTotal).toBeGreaterThan(2 << 20);
    const done = await finished(as.support, id);
    expect(done.error).toBeNull();
    expect(done.result).toMatchObject({ passed: ['header', 'signature', 'length', 'end', 'chunks', 'members', 'checksum', 'database'], databaseIntegrity: 'ok', checksumMatchesHistory: true });
    expect(copiesLeft()).toEqual([]);
  });

  it('a file by its storage URL (the browser), recorded against its run; the run and the URL list the same verifications', async () => {
    const url = `file://${store}/${encodeURIComponent(run.fileName!)}`;
    const ok = await start(as.operator, { level: 'quick', url });
    expect(ok.status).toBe(202);
    const done = await finished(as.operator, ok.body.verification.id);
    expect(done).toMatchObject({ status: 'passed', backupRunId: run.id, location: `file://${store}` });
    const byRun = (await as.support.json<{ latest: Verification; verdict: Verification; history: Verification[] }>(`/api/verifications?runId=${run.id}`)).body;
    const byUrl = (await as.support.json<{ latest: Verification; history: Verification[] }>(`/api/verifications?url=${encodeURIComponent(url)}`)).body;
    expect(byRun.latest.id).toBe(done.id);
    expect(byRun.verdict.id).toBe(done.id);
    expect(byRun.history.map((v) => v.id)).toEqual(byUrl.history.map((v) => v.id));
    expect(byRun.history.map((v) => v.level)).toEqual(['quick', 'full', 'quick']);
  });

  it('bad requests are refused in words and record nothing', async () => {
    const before = rows().length;
    expect((await start(as.operator, { level: 'thorough', runId: run.id })).status).toBe(422);
    expect((await start(as.operator, { level: 'quick' })).status).toBe(422);
    const missing = await start(as.operator, { level: 'quick', runId: 99_999 });
    expect(missing.status).toBe(404);
    expect(missing.body.error!.message).toBe('There is no backup #99999.');
    const gone = await start(as.operator, { level: 'quick', url: `file://${store}/nothing-here.tar.age` });
    expect(gone.status).toBe(404);
    expect((await as.operator.json('/api/verifications/99999')).status).toBe(404);
    expect(rows().length).toBe(before);
  });

  it('a damaged file fails full (quick does not read that chunk), and the Backup page shows it in red for support too', async () => {
    const file = path.join(store, run.fileName!);
    const original = fs.readFileSync(file);
    const damaged = Buffer.from(original);
    const at = original.length - 10 * CHUNK;
    damaged[at]! ^= 0x40;
    fs.writeFileSync(file, damaged);
    try {
      const quick = await finished(as.operator, (await start(as.operator, { level: 'quick', runId: run.id })).body.verification.id);
      expect(quick.status).toBe('passed');
      const full = await finished(as.operator, (await start(as.operator, { level: 'full', runId: run.id })).body.verification.id);
      expect(full.status).toBe('failed');
      expect(full.error).toMatch(/^The backup file is damaged: chunk \d+ failed authentication\.$/);
      const html = await (await as.support.fetch('/backup')).text();
      expect(html).toContain('data-testid="verify-failures"');
      expect(html).toContain('Verify failed:');
      expect(html).toContain('failed authentication');
      expect(copiesLeft()).toEqual([]);
    } finally {
      fs.writeFileSync(file, original);
    }
  });

  it("the scheduled verifier's setting: read by all, changed by the admin only, checked per field", async () => {
    expect((await as.support.json('/api/backup/verify-schedule')).body).toEqual({ schedule: { enabled: false, everyDays: 30 } });
    const refused = await as.operator.json<{ error: { message: string } }>('/api/backup/verify-schedule', 'PUT', { enabled: true, everyDays: 7 });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toBe('The Operator role cannot change backup settings.');
    const bad = await as.admin.json<{ error: { fields: Record<string, string[]> } }>('/api/backup/verify-schedule', 'PUT', { enabled: true, everyDays: 0 });
    expect(bad.status).toBe(422);
    expect(bad.body.error.fields.everyDays).toEqual(['Enter at least 1 day.']);
    const ok = await as.admin.json('/api/backup/verify-schedule', 'PUT', { enabled: false, everyDays: 7 });
    expect(ok).toEqual({ status: 200, body: { schedule: { enabled: false, everyDays: 7 } } });
    expect((await as.support.json('/api/backup/verify-schedule')).body).toEqual({ schedule: { enabled: false, everyDays: 7 } });
  });

  it('every start and end is audited, with who asked', async () => {
    const events = (await as.admin.json<{ entries: { action: string; outcome: string; who: string }[] }>('/api/audit?limit=500')).body.entries;
    const verifies = events.filter((e) => e.action === 'backup.verify.start' && e.outcome === 'success');
    expect(verifies.length).toBe(rows().length);
    expect(new Set(verifies.map((e) => e.who))).toEqual(new Set(['otto']));
    expect(events.filter((e) => e.action === 'backup.verify.finish').length).toBe(rows().length);
    expect(events.some((e) => e.action === 'api.verifications.start' && e.outcome === 'denied' && e.who === 'sue')).toBe(true);
  });

  it('a shutdown during a full verification stops it (no verdict); at the next start, a verification left running and database copies left behind are cleaned up', async () => {
    const id = (await start(as.operator, { level: 'full', runId: run.id })).body.verification.id;
    await server.stop();
    const after = rows().find((r) => r.id === id)!;
    expect(after).toMatchObject({ status: 'failed', error: 'The console was shut down during the verification; it did not finish.' });
    expect(copiesLeft()).toEqual([]);
    // As a killed process leaves them: a row still running, and a copy of a database in the data folder.
    const db = new Database(path.join(dataDir, 'webconf.db'));
    const stale = db
      .prepare("insert into backup_verifications (location, file_name, level, trigger, requested_by, status, started_at) values (?, ?, 'full', 'manual', 'otto', 'running', ?)")
      .run(`file://${store}`, run.fileName, Date.now()).lastInsertRowid as number;
    db.close();
    fs.mkdirSync(path.join(dataDir, 'tmp'), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'tmp', `verify-${stale}.db`), 'SQLite format 3\0 left by a killed process', { mode: 0o600 });
    server = await startConsole({ dataDir, keepDataDir: true });
    expect(copiesLeft()).toEqual([]);
    expect(rows().find((r) => r.id === stale)).toMatchObject({ status: 'failed', error: 'The console stopped while this verification was running; it did not finish.' });
    expect(server.output()).toContain('"event":"verify.recovered"');
    // The console's log never holds the DMS.
    expect(server.output()).not.toContain(DMS);
  });
});
