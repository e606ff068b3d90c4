import { alertEvents } from '../alerts/events';
import { log } from '../log';
import { startBackup } from './engine';
import { nextRuns } from './schedule';
import type { Schedule } from './schemas';
import { HEARTBEAT_MS, checkMissedRun, writeHeartbeat } from './missed-runs';
import { getBackupSettings } from './settings';

/**
 * Runs scheduled backups. Every tick it reads the schedule from the database
 * (so a change takes effect without a restart) and starts a backup when a
 * scheduled time passed since the previous tick. Missed times while the
 * console was down are not caught up: at start, the first one is reported
 * as an alert (missed-runs.ts), from a heartbeat the scheduler leaves. A scheduled time that finds a backup
 * already running is recorded in the log and skipped: the database refuses
 * the second run. One that finds no backup possible (the USB drive not
 * attached, the share gone) is in the history as a failed run with the
 * reason (startBackup).
 */
const TICK_MS = 5_000;

/** The scheduled time that passed in (last, now], if any: the run to start at this tick. */
export function dueRun(schedule: Schedule, last: Date, now: Date): Date | null {
  if (!schedule.enabled) return null;
  const [due] = nextRuns(schedule, 1, last);
  return due && due <= now ? due : null;
}

export function startScheduler(): () => void {
  let last = new Date();
  let beat = 0;
  try {
    checkMissedRun(getBackupSettings().schedule, last);
    writeHeartbeat(last);
    beat = last.getTime();
  } catch (err) {
    log.error({ event: 'backup.scheduler.heartbeat-failed', err: (err as Error).message }, 'could not check for missed scheduled backups');
  }
  const tick = async () => {
    const now = new Date();
    if (now.getTime() - beat >= HEARTBEAT_MS) {
      writeHeartbeat(now);
      beat = now.getTime();
    }
    const due = dueRun(getBackupSettings().schedule, last, now);
    last = now;
    if (!due) return;
    try {
      const run = await startBackup('scheduled', { id: null, name: 'scheduler', ip: null });
      log.info({ event: 'backup.scheduled', run: run.id, due: due.toISOString() }, 'scheduled backup started');
      alertEvents.scheduledRunStarted();
    } catch (err) {
      log.warn({ event: 'backup.scheduled.skipped', due: due.toISOString(), reason: (err as Error).message }, 'scheduled backup not started');
    }
  };
  const timer = setInterval(() => void tick().catch(() => undefined), TICK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
