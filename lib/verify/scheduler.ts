import { eq } from 'drizzle-orm';
import type { Actor } from '../audit/audit';
import { storageState } from '../backup/engine';
import { isDmsSet } from '../backup/dms';
import { keptBackupsOn, runningBackup } from '../backup/runs';
import { db } from '../db/client';
import { restoreRuns, type BackupRun } from '../db/schema';
import { log } from '../log';
import { processState } from '../process-state';
import { configuredLocation } from './locations';
import { fullVerificationsOfRuns } from './queries';
import { runningVerification, waitForVerification } from './registry';
import type { VerifySchedule } from './schemas';
import { getVerifySchedule } from './settings';
import { isVerdict } from './verification-view';
import { startVerification } from './verify-backup';

/**
 * The scheduled verifier. When the setting "verifySchedule" is on, it fully
 * verifies, one at a time, each backup kept on the configured storage
 * (a successful run of this console whose file retention has not removed)
 * whose last passed full verification, manual or scheduled, is older than
 * `everyDays` days, or that has none. Backups never verified come first,
 * newest first; then the longest ago verified.
 *
 * It never runs while a backup or a restore runs, nor beside another
 * verification of this process: such a tick is skipped and the next one
 * tries again; a backup that starts during a scheduled verification stops
 * it (recorded as interrupted, no verdict) and it is tried again later.
 * Nor while the storage is unavailable (the USB drive not attached, the
 * share gone): that is the status panel's to say, not one failure per
 * backup. A backup whose verification failed is tried again after a day
 * (or `everyDays`, if shorter), not at every tick; its failure stays what
 * the history shows until then.
 */
const TICK_MS = 60_000;
const FIRST_TICK_MS = 15_000;
const WATCH_MS = 2_000;
const DAY_MS = 24 * 3600_000;
export const RETRY_FAILED_MS = DAY_MS;
export const YIELD_MESSAGE = 'A backup started, so the scheduled verification stopped; it is tried again after the backup.';

const SCHEDULER: Actor = { id: null, name: 'scheduler', ip: null };

/** The kept backups due for a scheduled full verification at `now`, in the order they are verified. */
export function dueBackups(schedule: VerifySchedule, now = new Date()): BackupRun[] {
  const configured = configuredLocation();
  if (!configured) return [];
  const runs = keptBackupsOn(configured.label);
  const verifications = fullVerificationsOfRuns(runs.map((r) => r.id));
  const every = schedule.everyDays * DAY_MS;
  const retry = Math.min(RETRY_FAILED_MS, every);
  const due: { run: BackupRun; passedAt: number }[] = [];
  for (const run of runs) {
    const mine = verifications.filter((v) => v.backupRunId === run.id);
    const passed = mine.find((v) => v.status === 'passed');
    const passedAt = passed?.finishedAt ? Date.parse(passed.finishedAt) : -Infinity;
    if (now.getTime() - passedAt < every) continue;
    if (mine.some((v) => v.status === 'running')) continue;
    // A failure after the last pass waits `retry` before the next attempt.
    const failed = mine.find((v) => isVerdict(v) && v.status === 'failed');
    if (failed && failed.id > (passed?.id ?? 0) && failed.finishedAt && now.getTime() - Date.parse(failed.finishedAt) < retry) continue;
    due.push({ run, passedAt });
  }
  // keptBackupsOn is newest first, and sort is stable: never verified (newest first), then the longest ago.
  return due.sort((a, b) => a.passedAt - b.passedAt).map((d) => d.run);
}

function restoreRunning(): boolean {
  return Boolean(db().select({ id: restoreRuns.id }).from(restoreRuns).where(eq(restoreRuns.status, 'running')).get());
}

/** Why the scheduled verifier waits now, or null. */
async function waitReason(): Promise<string | null> {
  if (!getVerifySchedule().enabled) return 'turned off';
  if (!isDmsSet()) return 'no Domain Master Secret';
  if (runningBackup()) return 'a backup is running';
  if (restoreRunning()) return 'a restore is running';
  if (runningVerification()) return 'another verification is running';
  const blocker = (await storageState()).blocker;
  return blocker ? `storage unavailable: ${blocker}` : null;
}

/**
 * One pass: verifies the due backups one after another until none is due
 * or the verifier must wait. Returns the ids of the verifications it ran.
 */
export async function runDueVerifications(opts: { now?: () => Date; /** How often a running verification looks for a backup that started (tests). */ watchMs?: number } = {}): Promise<number[]> {
  const now = opts.now ?? (() => new Date());
  const ran: number[] = [];
  const tried = new Set<number>();
  for (;;) {
    const why = await waitReason();
    if (why) {
      if (why !== 'turned off') log.debug({ event: 'verify.scheduled.wait', reason: why }, 'scheduled verification waits');
      return ran;
    }
    const run = dueBackups(getVerifySchedule(), now()).find((r) => !tried.has(r.id));
    if (!run) return ran;
    tried.add(run.id);
    // A backup starting meanwhile stops this verification (it is tried again after the backup).
    const yieldTo = new AbortController();
    const watch = setInterval(() => {
      if (runningBackup()) yieldTo.abort(new Error(YIELD_MESSAGE));
    }, opts.watchMs ?? WATCH_MS);
    watch.unref();
    try {
      const v = await startVerification({ fileName: run.fileName!, backupRunId: run.id, level: 'full', trigger: 'scheduled', actor: SCHEDULER, signal: yieldTo.signal });
      log.info({ event: 'verify.scheduled', verification: v.id, run: run.id, file: run.fileName }, 'scheduled verification started');
      ran.push(v.id);
      await waitForVerification(v.id);
    } catch (err) {
      // Refused (a backup or a verification got in first): the next tick tries again.
      log.warn({ event: 'verify.scheduled.skipped', run: run.id, reason: (err as Error).message }, 'scheduled verification not started');
      return ran;
    } finally {
      clearInterval(watch);
    }
    if (yieldTo.signal.aborted) return ran;
  }
}

/** Starts the ticks (server.ts); returns a function that stops them. */
export function startVerifyScheduler(): () => void {
  const state = processState('verify.scheduler', () => ({ busy: false }));
  const tick = async () => {
    if (state.busy) return;
    state.busy = true;
    try {
      await runDueVerifications();
    } catch (err) {
      log.error({ event: 'verify.scheduler.error', err: (err as Error).message }, 'scheduled verification failed to run');
    } finally {
      state.busy = false;
    }
  };
  const first = setTimeout(() => void tick(), FIRST_TICK_MS);
  const timer = setInterval(() => void tick(), TICK_MS);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
