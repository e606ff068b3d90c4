import { nextRuns } from '../backup/schedule';
import { log } from '../log';
import { getFleetConfig } from './config';
import { startFleetRun } from './run';

/**
 * Runs device backups on the organisation's cron schedule (in its time
 * zone), as lib/backup/scheduler.ts does for the appliance: every tick the
 * configuration is read again, a scheduled time that passed since the
 * previous tick starts a run; missed times while the console was down are
 * not caught up; a time that finds a run going on is skipped (logged); one
 * that finds no run possible is in the history as a failed run (startFleetRun).
 */
const TICK_MS = 5_000;

export function dueFleetRun(schedule: { cron: string; timezone: string }, last: Date, now: Date): Date | null {
  const [due] = nextRuns({ enabled: true, ...schedule }, 1, last);
  return due && due <= now ? due : null;
}

export function startFleetScheduler(): () => void {
  let last = new Date();
  const tick = async () => {
    const now = new Date();
    const config = getFleetConfig();
    const due = config?.enabled ? dueFleetRun(config.schedule, last, now) : null;
    last = now;
    if (!due) return;
    try {
      const run = await startFleetRun({ id: null, name: 'scheduler', ip: null }, { trigger: 'schedule' });
      log.info({ event: 'fleet.scheduled', run: run.id, due: due.toISOString() }, 'scheduled device backup run started');
    } catch (err) {
      log.warn({ event: 'fleet.scheduled.skipped', due: due.toISOString(), reason: (err as Error).message }, 'scheduled device backup run not started');
    }
  };
  const timer = setInterval(() => void tick().catch(() => undefined), TICK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
