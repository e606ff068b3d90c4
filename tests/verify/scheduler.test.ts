import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applianceRoot } from '@/lib/backup/appliance';
import { setDms } from '@/lib/backup/dms';
import { startBackup, waitForBackup } from '@/lib/backup/engine';
import { getBackupRun } from '@/lib/backup/runs';
import { db } from '@/lib/db/client';
import { backupRuns, backupVerifications, type BackupRun } from '@/lib/db/schema';
import { saveStorageConfig } from '@/lib/storage/config';
import { getVerification } from '@/lib/verify/queries';
import { waitForVerification } from '@/lib/verify/registry';
import { RETRY_FAILED_MS, YIELD_MESSAGE, dueBackups, runDueVerifications } from '@/lib/verify/scheduler';
import { getVerifySchedule, saveVerifySchedule } from '@/lib/verify/settings';

/**
 * The scheduled verifier on real backups (three written by the engine to a
 * local folder): which are due after N days, in which order, never while a
 * backup runs, yielding to a backup that starts, and the rows it records.
 * Earlier verifications are rows of backup_verifications dated in the past.
 */
const DMS = 'scheduler test domain master secret';
const actor = { id: 1, name: 'admin', ip: null };
const DAY = 24 * 3600_000;
let dir: string;
let runs: BackupRun[];

const ago = (ms: number) => new Date(Date.now() - ms);
function past(run: BackupRun, status: 'passed' | 'failed', at: Date, extra: { level?: 'quick' | 'full'; interrupted?: boolean } = {}) {
  db()
    .insert(backupVerifications)
    .values({
      backupRunId: run.id,
      location: `file://${dir}`,
      fileName: run.fileName!,
      level: extra.level ?? 'full',
      trigger: 'scheduled',
      requestedBy: 'scheduler',
      status,
      startedAt: new Date(at.getTime() - 1000),
      finishedAt: at,
      result: JSON.stringify({ level: extra.level ?? 'full', passed: [], ...(extra.interrupted ? { interrupted: true } : {}) }),
      error: status === 'failed' ? 'something' : null,
    })
    .run();
}
const ids = (list: BackupRun[]) => list.map((r) => r.id);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-verify-sched-'));
  fs.mkdirSync(path.join(applianceRoot(), 'system'), { recursive: true });
  fs.writeFileSync(path.join(applianceRoot(), 'system', 'a.conf'), 'a = 1\n');
  await setDms(actor, DMS);
  await saveStorageConfig(actor, { type: 'local', path: dir });
  runs = [];
  for (let i = 0; i < 3; i++) {
    const r = await startBackup('manual', actor);
    await waitForBackup(r.id);
    runs.push(getBackupRun(r.id)!);
  }
  expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
}, 60_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  db().delete(backupVerifications).run();
  saveVerifySchedule(actor, { enabled: false, everyDays: 30 });
});

describe('which backups are due', () => {
  it('the setting is off, every 30 days, until changed', () => {
    db().delete(backupVerifications).run();
    expect(getVerifySchedule()).toEqual({ enabled: false, everyDays: 30 });
  });

  it('never verified: all, newest first', () => {
    expect(ids(dueBackups({ enabled: true, everyDays: 30 }))).toEqual(ids([...runs].reverse()));
  });

  it('a passed full verification counts for N days; quick ones and interrupted ones do not; the longest ago comes after the never verified', () => {
    const [a, b, c] = runs as [BackupRun, BackupRun, BackupRun];
    past(a, 'passed', ago(40 * DAY));
    past(b, 'passed', ago(5 * DAY));
    past(c, 'passed', ago(1 * DAY), { level: 'quick' });
    past(c, 'failed', ago(2 * DAY), { interrupted: true });
    expect(ids(dueBackups({ enabled: true, everyDays: 30 }))).toEqual([c.id, a.id]);
    expect(ids(dueBackups({ enabled: true, everyDays: 3 }))).toEqual([c.id, a.id, b.id]);
    // Each again after N days: 26 days on, b is due too.
    expect(ids(dueBackups({ enabled: true, everyDays: 30 }, new Date(Date.now() + 26 * DAY)))).toEqual([c.id, a.id, b.id]);
  });

  it('a failed verification is tried again after a day, not at every tick', () => {
    const [a, b] = runs as [BackupRun, BackupRun];
    past(a, 'passed', ago(40 * DAY));
    past(a, 'failed', ago(2 * 3600_000));
    past(b, 'failed', ago(RETRY_FAILED_MS + 3600_000));
    expect(ids(dueBackups({ enabled: true, everyDays: 30 }))).not.toContain(a.id);
    expect(ids(dueBackups({ enabled: true, everyDays: 30 }))).toContain(b.id);
    expect(ids(dueBackups({ enabled: true, everyDays: 30 }, new Date(Date.now() + DAY)))).toContain(a.id);
  });

  it('a backup removed by retention, or on another storage location, is not due', () => {
    const [a, b] = runs as [BackupRun, BackupRun];
    db().update(backupRuns).set({ prunedAt: new Date() }).where(eq(backupRuns.id, a.id)).run();
    db().update(backupRuns).set({ target: 'Local folder /elsewhere' }).where(eq(backupRuns.id, b.id)).run();
    try {
      expect(ids(dueBackups({ enabled: true, everyDays: 30 }))).toEqual([runs[2]!.id]);
    } finally {
      db().update(backupRuns).set({ prunedAt: null }).where(eq(backupRuns.id, a.id)).run();
      db().update(backupRuns).set({ target: b.target }).where(eq(backupRuns.id, b.id)).run();
    }
  });
});

describe('running the due verifications', () => {
  it('turned off: nothing runs, nothing is recorded', async () => {
    expect(await runDueVerifications()).toEqual([]);
    expect(db().select().from(backupVerifications).all()).toEqual([]);
  });

  it('turned on: each due backup fully verified, one after the other, recorded as scheduled; then none is due until N days later', async () => {
    saveVerifySchedule(actor, { enabled: true, everyDays: 30 });
    const [a] = runs as [BackupRun];
    past(a, 'passed', ago(3 * DAY));
    const ran = await runDueVerifications();
    expect(ran).toHaveLength(2);
    const rows = ran.map((id) => getVerification(id)!);
    expect(rows.map((v) => v.backupRunId)).toEqual([runs[2]!.id, runs[1]!.id]);
    for (const v of rows) expect(v).toMatchObject({ level: 'full', trigger: 'scheduled', requestedBy: 'scheduler', status: 'passed', fileName: expect.stringMatching(/\.tar\.age$/) });
    // One at a time: each started after the one before had finished.
    expect(Date.parse(rows[1]!.startedAt)).toBeGreaterThanOrEqual(Date.parse(rows[0]!.finishedAt!));
    expect(await runDueVerifications()).toEqual([]);
    // 31 days on, all three again, the longest ago verified first.
    expect(ids(dueBackups(getVerifySchedule(), new Date(Date.now() + 31 * DAY)))).toEqual([a.id, runs[2]!.id, runs[1]!.id]);
  });

  it('never while a backup runs: the tick is skipped, nothing recorded', async () => {
    saveVerifySchedule(actor, { enabled: true, everyDays: 30 });
    const running = db().insert(backupRuns).values({ trigger: 'scheduled', requestedBy: 'scheduler', status: 'running', phase: 'writing', startedAt: new Date() }).returning().get();
    try {
      expect(await runDueVerifications()).toEqual([]);
      expect(db().select().from(backupVerifications).all()).toEqual([]);
    } finally {
      db().delete(backupRuns).where(eq(backupRuns.id, running.id)).run();
    }
  });

  it('a backup that starts during a scheduled verification stops it (interrupted, no verdict); it is verified on a later pass', async () => {
    saveVerifySchedule(actor, { enabled: true, everyDays: 30 });
    const pass = runDueVerifications({ watchMs: 20 });
    // As soon as the first verification is recorded, a backup "starts".
    let running: { id: number } | undefined;
    for (let i = 0; i < 500 && !running; i++) {
      if (db().select().from(backupVerifications).all().length) {
        running = db().insert(backupRuns).values({ trigger: 'scheduled', requestedBy: 'scheduler', status: 'running', phase: 'writing', startedAt: new Date() }).returning().get();
      } else await new Promise((r) => setTimeout(r, 5));
    }
    expect(running).toBeDefined();
    let ran: number[];
    try {
      ran = await pass;
    } finally {
      db().delete(backupRuns).where(eq(backupRuns.id, running!.id)).run();
    }
    expect(ran).toHaveLength(1);
    await waitForVerification(ran[0]!);
    expect(getVerification(ran[0]!)).toMatchObject({ status: 'failed', interrupted: true, error: YIELD_MESSAGE });
    // Not a verdict: the same backup is the first due again, and the next pass verifies all three.
    expect(dueBackups(getVerifySchedule())[0]!.id).toBe(getVerification(ran[0]!)!.backupRunId);
    const next = await runDueVerifications();
    expect(next.map((id) => getVerification(id)!.status)).toEqual(['passed', 'passed', 'passed']);
  });
});
