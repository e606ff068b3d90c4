import { Cron } from 'croner';
import type { Schedule } from './schemas';

/** The next times a schedule fires, computed by croner in the schedule's time zone. */
export function nextRuns(schedule: Schedule, count = 1, from = new Date()): Date[] {
  try {
    const job = new Cron(schedule.cron, { paused: true, timezone: schedule.timezone });
    return job.nextRuns(count, from);
  } catch {
    return [];
  }
}

/** Words for a cron expression built from a preset, for the settings form. */
export function describeSchedule(schedule: Schedule): string {
  const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
  const m = /^(\d{1,2}) (\d{1,2}) \* \* (\*|[0-6])$/.exec(schedule.cron);
  if (!m) return `cron "${schedule.cron}" (${schedule.timezone})`;
  const time = `${m[2]!.padStart(2, '0')}:${m[1]!.padStart(2, '0')}`;
  return m[3] === '*' ? `Daily at ${time} (${schedule.timezone})` : `Weekly on ${days[Number(m[3])]} at ${time} (${schedule.timezone})`;
}
