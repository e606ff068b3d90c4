import { and, eq, gte } from 'drizzle-orm';
import { z } from 'zod';
import { alertEvents } from '../alerts/events';
import { db } from '../db/client';
import { backupRuns } from '../db/schema';
import { getSetting, putSetting } from '../settings/store';
import { nextRuns } from './schedule';
import type { Schedule } from './schemas';

/**
 * Scheduled backups missed while the console was down. The scheduler leaves
 * a heartbeat (the last time it was running, at most HEARTBEAT_MS old); at
 * start, a scheduled time between that heartbeat and now with no scheduled
 * run started at or after it was missed. The scheduler does not catch it up
 * (scheduler.ts); it is reported as an alert.
 */
const KEY = 'backup.scheduler.heartbeat';
const heartbeatSchema = z.object({ at: z.string().datetime() });
export const HEARTBEAT_MS = 60_000;

export function lastHeartbeat(): Date | null {
  const v = getSetting(KEY, heartbeatSchema);
  return v ? new Date(v.at) : null;
}

export function writeHeartbeat(now: Date = new Date()): void {
  putSetting(KEY, heartbeatSchema, { at: now.toISOString() }, 'scheduler');
}

/** The first scheduled time missed between the last heartbeat and `now`, or null; reports it as an alert. */
export function checkMissedRun(schedule: Schedule, now: Date = new Date()): Date | null {
  const alive = lastHeartbeat();
  if (!alive || !schedule.enabled) return null;
  const [due] = nextRuns(schedule, 1, alive);
  if (!due || due > now) return null;
  // A run the scheduler started just before it stopped (between two heartbeats) was not missed.
  const started = db()
    .select({ id: backupRuns.id })
    .from(backupRuns)
    .where(and(eq(backupRuns.trigger, 'scheduled'), gte(backupRuns.startedAt, new Date(due.getTime() - 10_000))))
    .get();
  if (started) return null;
  alertEvents.scheduledRunMissed(due, alive);
  return due;
}
