import { z } from 'zod';
import { ACTION_GROUPS } from './phrases';

const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `At most ${max} characters.`)
    .optional()
    .transform((v) => (v ? v : undefined));

/** A date-time from the filter form (datetime-local, read as UTC) or ISO 8601 with its zone. */
const instantSchema = z
  .string()
  .trim()
  .optional()
  .transform((v, ctx) => {
    if (!v) return undefined;
    // A time without a zone (what datetime-local sends) is UTC, as the page labels it and shows every time.
    const ms = Date.parse(/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(v) ? `${v}Z` : v);
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: 'custom', message: 'Enter a date and time, e.g. 2026-12-01T08:00.' });
      return z.NEVER;
    }
    return new Date(ms);
  });

/**
 * The audit trail's filter, from the page's query string or the API's.
 * action is an exact code (backup.dms.set) or a group (backup, or backup.*).
 * before is the keyset cursor: the id of the last entry of the previous page.
 */
export const auditFilterSchema = z
  .object({
    user: optionalText(200),
    action: optionalText(100).refine((v) => v === undefined || /^[a-z0-9._*-]+$/i.test(v), 'Use an action code such as backup.dms.set or a group such as backup.'),
    outcome: z.enum(['success', 'denied', 'failure']).optional().or(z.literal('').transform(() => undefined)),
    from: instantSchema,
    to: instantSchema,
    before: z.coerce.number().int().positive().optional().or(z.literal('').transform(() => undefined)),
    limit: z.coerce.number().int().min(1).max(500).optional().or(z.literal('').transform(() => undefined)),
  })
  .refine((f) => !f.from || !f.to || f.from <= f.to, { path: ['to'], message: 'The end is before the start.' });

export type AuditFilter = z.infer<typeof auditFilterSchema>;

export const actionGroupSchema = z.enum(Object.keys(ACTION_GROUPS) as [keyof typeof ACTION_GROUPS, ...(keyof typeof ACTION_GROUPS)[]]);
