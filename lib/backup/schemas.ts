import { Cron } from 'croner';
import { z } from 'zod';

/** Backup Filename prefix: optional; safe file-name characters only. */
export const filenamePrefixSchema = z
  .string()
  .trim()
  .max(40, 'The prefix has at most 40 characters.')
  .regex(/^([A-Za-z0-9][A-Za-z0-9._-]*)?$/, 'Use letters, digits, dot, dash or underscore, starting with a letter or digit.');

export const backupSettingsFormSchema = z.object({ filenamePrefix: filenamePrefixSchema.optional().default('') });

/**
 * What is wrong with a schedule, or null: exactly five cron fields (minute,
 * hour, day of month, month, day of week: no seconds field, which would start
 * a backup every few seconds) that croner accepts, and a time zone in which
 * it can compute the next run (croner only notices a bad zone then).
 */
export function cronProblem(pattern: string, timezone: string): string | null {
  if (pattern.trim().split(/\s+/).length !== 5) return 'use five fields: minute hour day-of-month month day-of-week';
  if (!validTimezone(timezone)) return `unknown time zone ${timezone}`;
  try {
    new Cron(pattern, { paused: true, timezone }).nextRun();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

export const scheduleSchema = z.object({
  enabled: z.boolean(),
  cron: z.string(),
  timezone: z.string(),
});

export const backupSettingsSchema = z.object({
  filenamePrefix: z.string(),
  schedule: scheduleSchema.default({ enabled: false, cron: '0 2 * * *', timezone: 'UTC' }),
  retention: z.number().int().min(0).default(0),
});

export type BackupSettings = z.infer<typeof backupSettingsSchema>;
export type Schedule = z.infer<typeof scheduleSchema>;

const timeSchema = z
  .string()
  .trim()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'Enter a time as HH:MM, 00:00 to 23:59.');

export function validTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * The Automated Backup Schedule form: a preset (daily at a time, weekly on a
 * day at a time) or a cron expression, in a time zone. Turned into one cron
 * expression.
 */
export const scheduleFormSchema = z
  .object({
    enabled: z.union([z.literal('on'), z.literal('off'), z.undefined()]).transform((v) => v === 'on'),
    preset: z.enum(['daily', 'weekly', 'custom'], { error: 'Choose daily, weekly or custom.' }),
    time: z.string().optional().default(''),
    weekday: z.string().optional().default('0'),
    cron: z.string().trim().max(100, 'A cron expression has at most 100 characters.').optional().default(''),
    timezone: z
      .string()
      .trim()
      .min(1, 'Choose a time zone.')
      .max(64, 'At most 64 characters.')
      .refine(validTimezone, 'Unknown time zone. Use an IANA name such as UTC or Europe/Berlin.'),
    retention: z.coerce
      .number({ error: 'Enter a whole number.' })
      .int('Enter a whole number.')
      .min(0, 'Enter 0 (keep all) or more.')
      .max(1000, 'At most 1000.'),
  })
  .superRefine((v, ctx) => {
    if (v.preset !== 'custom') {
      const t = timeSchema.safeParse(v.time);
      if (!t.success) ctx.addIssue({ code: 'custom', path: ['time'], message: t.error.issues[0]!.message });
    }
    if (v.preset === 'weekly' && !/^[0-6]$/.test(v.weekday)) {
      ctx.addIssue({ code: 'custom', path: ['weekday'], message: 'Choose a day of the week.' });
    }
    if (v.preset === 'custom') {
      if (!v.cron) ctx.addIssue({ code: 'custom', path: ['cron'], message: 'Enter a cron expression, e.g. 30 2 * * 1-5.' });
      else if (!/^[0-9A-Za-z*/,\-? #LW]+$/.test(v.cron)) ctx.addIssue({ code: 'custom', path: ['cron'], message: 'A cron expression has digits, letters, * / , - ? # and spaces only.' });
      else {
        const problem = cronProblem(v.cron, validTimezone(v.timezone) ? v.timezone : 'UTC');
        if (problem) ctx.addIssue({ code: 'custom', path: ['cron'], message: `Not a valid cron expression: ${problem}.` });
      }
    }
  })
  .transform((v) => {
    const [hh, mm] = v.time.split(':').map(Number);
    const cron = v.preset === 'daily' ? `${mm} ${hh} * * *` : v.preset === 'weekly' ? `${mm} ${hh} * * ${v.weekday}` : v.cron;
    return { schedule: { enabled: v.enabled, cron, timezone: v.timezone }, retention: v.retention };
  });

/** The schedule as the API takes it (JSON): the same rules as the form. */
export const scheduleInputSchema = z
  .object({
    enabled: z.boolean({ error: 'enabled must be true or false.' }),
    cron: z.string().trim().min(1, 'Enter a cron expression.').max(100, 'A cron expression has at most 100 characters.'),
    timezone: z.string().trim().min(1, 'Choose a time zone.').max(64, 'At most 64 characters.').refine(validTimezone, 'Unknown time zone. Use an IANA name such as UTC or Europe/Berlin.'),
    retention: z.number().int().min(0, 'Enter 0 (keep all) or more.').max(1000, 'At most 1000.').optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (!validTimezone(v.timezone)) return;
    const problem = cronProblem(v.cron, v.timezone);
    if (problem) ctx.addIssue({ code: 'custom', path: ['cron'], message: `Not a valid cron expression: ${problem}.` });
  });

/** Set Domain Master Secret: entered twice, at least 8 characters. */
export const dmsFormSchema = z
  .object({
    dms: z
      .string({ error: 'Enter the Domain Master Secret.' })
      .min(1, 'Enter the Domain Master Secret.')
      .min(8, 'Domain Master Secret must be at least 8 characters long!')
      .max(1024, 'The Domain Master Secret has at most 1024 characters.'),
    dmsRepeat: z.string({ error: 'Repeat the Domain Master Secret.' }).min(1, 'Repeat the Domain Master Secret.'),
  })
  .refine((v) => v.dms === v.dmsRepeat, { path: ['dmsRepeat'], message: 'The two entries do not match.' });
