import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { ConsoleClient } from '../helpers/http-client';

/**
 * The backup engine against the running console: one backup at a time, a
 * killed or stopped server mid-backup, a disk that is too small or fills up
 * during the write. Nothing may ever appear under a final name unless it was
 * verified, and partial files must go.
 */
const ADMIN = { username: 'alice', password: 'admin password 0001' };
const DMS = 'fault test domain master secret';

type Status = { current: string; running: { id: number; phase: string; bytesDone: number } | null; lastSuccessfulFile: string | null };
type Run = { id: number; status: string; error: string | null; fileName: string | null };

async function setUp(server: ConsoleServer, target: string): Promise<ConsoleClient> {
  const otp = new ConsoleClient(server.url);
  expect((await otp.signIn('otp', server.otpPassword!)).ok).toBe(true);
  expect((await otp.json('/api/users', 'POST', { ...ADMIN, role: 'admin', confirmPassword: ADMIN.password })).status).toBe(200);
  const admin = new ConsoleClient(server.url);
  expect((await admin.signIn(ADMIN.username, ADMIN.password)).ok).toBe(true);
  expect((await admin.json('/api/backup/dms', 'PUT', { dms: DMS, dmsRepeat: DMS })).status).toBe(200);
  expect((await admin.json('/api/backup/storage', 'PUT', { type: 'local', path: target })).status).toBe(200);
  return admin;
}

function bigConfig(dataDir: string, mib: number) {
  const dir = path.join(dataDir, 'appliance', 'system');
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('dd', ['if=/dev/urandom', `of=${path.join(dir, 'large.bin')}`, 'bs=1M', `count=${mib}`], { stdio: 'ignore' });
}

async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The newest run, once it has ended. */
async function finishedRun(admin: ConsoleClient): Promise<Run> {
  return waitFor(async () => {
    const r = (await admin.json<{ runs: Run[] }>('/api/backups')).body.runs[0];
    return r && r.status !== 'running' ? r : null;
  });
}

const finalNames = (dir: string) => fs.readdirSync(dir).filter((f) => !f.startsWith('.'));
const partials = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.partial'));

describe('backups under faults', () => {
  const servers: ConsoleServer[] = [];
  const cleanup: (() => void)[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop('SIGKILL')));
  });
  afterAll(() => cleanup.forEach((f) => f()));

  /** A console on `dataDir` with an admin, the DMS and `target` set, `mib` of configuration, and a backup started. */
  async function startedBackup(dataDir: string, target: string, mib: number) {
    const server = await startConsole({ dataDir });
    servers.push(server);
    const admin = await setUp(server, target);
    bigConfig(dataDir, mib);
    expect((await admin.json('/api/backups', 'POST')).status).toBe(202);
    return { server, admin };
  }

  function tempDir(prefix: string) {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    cleanup.push(() => fs.rmSync(d, { recursive: true, force: true }));
    return d;
  }

  it('starts exactly one of two concurrent backup requests', async () => {
    const target = tempDir('webconf-target-');
    const server = await startConsole();
    servers.push(server);
    const admin = await setUp(server, target);
    const [a, b] = await Promise.all([admin.json('/api/backups', 'POST'), admin.json('/api/backups', 'POST')]);
    expect([a.status, b.status].sort()).toEqual([202, 409]);
    const refused = (a.status === 409 ? a : b).body as { error: { message: string } };
    expect(refused.error.message).toMatch(/already in progress/);
    await waitFor(async () => ((await admin.json<Status>('/api/backup/status')).body.current === 'NOT RUNNING' ? true : null));
    const runs = (await admin.json<{ runs: Run[] }>('/api/backups')).body.runs;
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe('succeeded');
    expect(finalNames(target)).toEqual([runs[0]!.fileName]);
  });

  it('leaves no file under a final name when the server is killed mid-backup, and marks the run interrupted at the next start', async () => {
    const target = tempDir('webconf-target-');
    const dataDir = tempDir('webconf-data-');
    const started = await startedBackup(dataDir, target, 400);
    const admin = started.admin;
    let server = started.server;
    await waitFor(async () => {
      const s = (await admin.json<Status>('/api/backup/status')).body;
      return s.running?.phase === 'writing' && s.running.bytesDone > 0;
    });
    expect(partials(target)).toHaveLength(1);
    await server.stop('SIGKILL');
    expect(finalNames(target)).toEqual([]);

    server = await startConsole({ dataDir });
    servers.push(server);
    const again = new ConsoleClient(server.url);
    expect((await again.signIn(ADMIN.username, ADMIN.password)).ok).toBe(true);
    const runs = (await again.json<{ runs: Run[] }>('/api/backups')).body.runs;
    expect(runs[0]!.status).toBe('interrupted');
    expect(runs[0]!.error).toMatch(/stopped while this backup was running/);
    expect(fs.readdirSync(target)).toEqual([]);
    expect(fs.readdirSync(path.join(dataDir, 'tmp'))).toEqual([]);
    expect((await again.json<Status>('/api/backup/status')).body.current).toBe('NOT RUNNING');
  });

  it('aborts cleanly and records why when the server is shut down during a backup', async () => {
    const target = tempDir('webconf-target-');
    const dataDir = tempDir('webconf-data-');
    const started = await startedBackup(dataDir, target, 400);
    const admin = started.admin;
    let server = started.server;
    await waitFor(async () => (await admin.json<Status>('/api/backup/status')).body.running?.phase === 'writing');
    await server.stop('SIGTERM');
    expect(fs.readdirSync(target)).toEqual([]);
    server = await startConsole({ dataDir });
    servers.push(server);
    const again = new ConsoleClient(server.url);
    expect((await again.signIn(ADMIN.username, ADMIN.password)).ok).toBe(true);
    const run = (await again.json<{ runs: Run[] }>('/api/backups')).body.runs[0]!;
    expect(run.status).toBe('aborted');
    expect(run.error).toMatch(/shut down during the backup/);
  });

  describe('on a small disk (tmpfs)', () => {
    let mnt: string;
    beforeAll(() => {
      mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-tmpfs-'));
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', mnt]);
    });
    afterAll(() => {
      execFileSync('umount', [mnt]);
      fs.rmdirSync(mnt);
    });

    it('fails at once when the backup cannot fit, writing nothing', async () => {
      const { admin } = await startedBackup(tempDir('webconf-data-'), mnt, 100);
      const run = await finishedRun(admin);
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(/Not enough free space on Local folder .*needs about 10\d\.\d MB/);
      expect(fs.readdirSync(mnt)).toEqual([]);
    });

    it('fails with a clear message when the disk fills up during the write, removing the partial file', async () => {
      const { admin } = await startedBackup(tempDir('webconf-data-'), mnt, 40);
      await waitFor(async () => (await admin.json<Status>('/api/backup/status')).body.running?.phase === 'writing' || partials(mnt).length > 0, 30_000);
      // Someone else fills the disk while the backup writes.
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${path.join(mnt, 'filler')}`, 'bs=1M', 'count=64'], { stdio: 'ignore' });
      } catch {
        /* dd stops at ENOSPC, which is the point */
      }
      const run = await finishedRun(admin);
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(/no space left on the device/);
      expect(fs.readdirSync(mnt)).toEqual(['filler']);
    });
  });
});
