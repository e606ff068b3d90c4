import { describe, expect, it } from 'vitest';
import { cronProblem, scheduleFormSchema, scheduleInputSchema } from '@/lib/backup/schemas';
import { describeSchedule, nextRuns } from '@/lib/backup/schedule';

describe('schedules', () => {
  it('turns the daily and weekly presets into cron and computes the next runs in the time zone', () => {
    const daily = scheduleFormSchema.parse({ enabled: 'on', preset: 'daily', time: '02:30', timezone: 'Asia/Tokyo', retention: '7' });
    expect(daily).toEqual({ schedule: { enabled: true, cron: '30 2 * * *', timezone: 'Asia/Tokyo' }, retention: 7 });
    const from = new Date('2026-11-22T12:00:00Z');
    // 02:30 in Tokyo is 17:30 UTC the day before.
    expect(nextRuns(daily.schedule, 2, from).map((d) => d.toISOString())).toEqual(['2026-11-22T17:30:00.000Z', '2026-11-23T17:30:00.000Z']);
    expect(describeSchedule(daily.schedule)).toBe('Daily at 02:30 (Asia/Tokyo)');
    const weekly = scheduleFormSchema.parse({ preset: 'weekly', time: '23:05', weekday: '1', timezone: 'UTC', retention: '0' });
    expect(weekly.schedule).toEqual({ enabled: false, cron: '5 23 * * 1', timezone: 'UTC' });
    expect(describeSchedule(weekly.schedule)).toBe('Weekly on Monday at 23:05 (UTC)');
  });

  it.each([
    [{ preset: 'daily', time: '25:00', timezone: 'UTC', retention: '0' }, 'time', /HH:MM/],
    [{ preset: 'daily', time: '', timezone: 'UTC', retention: '0' }, 'time', /HH:MM/],
    [{ preset: 'custom', cron: '', timezone: 'UTC', retention: '0' }, 'cron', /Enter a cron expression/],
    [{ preset: 'custom', cron: '* * * * * *', timezone: 'UTC', retention: '0' }, 'cron', /five fields/],
    [{ preset: 'custom', cron: '61 * * * *', timezone: 'UTC', retention: '0' }, 'cron', /Not a valid cron expression/],
    [{ preset: 'custom', cron: '0 2 * * *', timezone: 'Nope/Zone', retention: '0' }, 'timezone', /Unknown time zone/],
    [{ preset: 'daily', time: '02:00', timezone: 'UTC', retention: '-1' }, 'retention', /0 \(keep all\)/],
    [{ preset: 'daily', time: '02:00', timezone: 'UTC', retention: 'x' }, 'retention', /whole number/],
  ])('refuses %j with a message on %s', (input, field, words) => {
    const r = scheduleFormSchema.safeParse(input);
    expect(r.success).toBe(false);
    const issue = r.error!.issues.find((i) => i.path[0] === field);
    expect(issue?.message).toMatch(words);
  });

  it('applies the same rules to the API', () => {
    expect(scheduleInputSchema.safeParse({ enabled: true, cron: '0 2 * * *', timezone: 'Europe/Berlin' }).success).toBe(true);
    expect(scheduleInputSchema.safeParse({ enabled: true, cron: '0 2 * * *', timezone: 'Nope/Zone' }).success).toBe(false);
    expect(scheduleInputSchema.safeParse({ enabled: true, cron: '*/5 * * * * *', timezone: 'UTC' }).success).toBe(false);
    expect(scheduleInputSchema.safeParse({ enabled: true, cron: '0 2 * * *', timezone: 'UTC', extra: 1 }).success).toBe(false);
    expect(cronProblem('0 2 * * *', 'UTC')).toBeNull();
  });
});

describe('the scheduler tick', () => {
  it('starts a run exactly when a scheduled time passed since the last tick, in the schedule\'s time zone', async () => {
    const { dueRun } = await import('@/lib/backup/scheduler');
    const s = { enabled: true, cron: '30 2 * * *', timezone: 'Europe/Berlin' };
    // 02:30 in Berlin on 22 Nov 2026 (winter time, UTC+1) is 01:30 UTC.
    expect(dueRun(s, new Date('2026-11-22T01:29:58Z'), new Date('2026-11-22T01:30:03Z'))?.toISOString()).toBe('2026-11-22T01:30:00.000Z');
    expect(dueRun(s, new Date('2026-11-22T01:30:03Z'), new Date('2026-11-22T01:30:08Z'))).toBeNull();
    expect(dueRun(s, new Date('2026-11-22T01:25:00Z'), new Date('2026-11-22T01:29:59Z'))).toBeNull();
    expect(dueRun({ ...s, enabled: false }, new Date('2026-11-22T01:29:58Z'), new Date('2026-11-22T01:30:03Z'))).toBeNull();
  });
});
