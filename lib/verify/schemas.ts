import { z } from 'zod';
import { VERIFY_LEVELS } from '../db/schema';

/**
 * Verification's boundaries: the scheduled verifier's setting (stored, the
 * form, the API), a request to verify one backup, the queries for results,
 * and the result JSON kept in backup_verifications.result.
 */

export const DEFAULT_VERIFY_EVERY_DAYS = 30;

/** The stored setting "verifySchedule": fully verify each backup on the target again after `everyDays` days. */
export const verifyScheduleSchema = z.object({
  enabled: z.boolean(),
  everyDays: z.number().int().min(1).max(365),
});

export type VerifySchedule = z.infer<typeof verifyScheduleSchema>;

/** The Scheduled Verification form: a checkbox and a number of days. */
export const verifyScheduleFormSchema = z
  .object({
    verifyEnabled: z.union([z.literal('on'), z.literal('off'), z.undefined()]).transform((v) => v === 'on'),
    everyDays: z
      .string({ error: 'Enter a number of days.' })
      .trim()
      .min(1, 'Enter a number of days.')
      .regex(/^\d+$/, 'Enter a whole number of days.')
      .transform(Number)
      .pipe(z.number().int().min(1, 'Enter at least 1 day.').max(365, 'At most 365 days.')),
  })
  .transform((v): VerifySchedule => ({ enabled: v.verifyEnabled, everyDays: v.everyDays }));

/** The same setting as the API takes it (JSON). */
export const verifyScheduleInputSchema = z
  .object({
    enabled: z.boolean({ error: 'enabled must be true or false.' }),
    everyDays: z.number({ error: 'everyDays must be a whole number of days.' }).int('everyDays must be a whole number of days.').min(1, 'Enter at least 1 day.').max(365, 'At most 365 days.'),
  })
  .strict();

export const verifyLevelSchema = z.enum(VERIFY_LEVELS, { error: 'Choose the level: quick or full.' });
export type VerifyLevel = z.infer<typeof verifyLevelSchema>;

const locationUrlField = z.string({ error: 'Name the backup file by its URL.' }).trim().min(1, 'Name the backup file by its URL.').max(2048, 'The URL has at most 2048 characters.');

/**
 * POST /api/verifications: a backup of the history (its run) or a file in a
 * storage location (its URL, as the storage browser names it), and a level.
 */
export const verifyStartSchema = z.union(
  [
    z.object({ level: verifyLevelSchema, runId: z.number({ error: 'runId must be a backup number.' }).int().positive() }).strict(),
    z.object({ level: verifyLevelSchema, url: locationUrlField }).strict(),
  ],
  { error: 'Send { level, runId } for a backup of the history or { level, url } for a file in a storage location.' },
);

/** GET /api/verifications: the verifications of one backup (run or file URL), or the latest of all. */
export const verifyListQuerySchema = z
  .object({
    runId: z.coerce.number({ error: 'runId must be a backup number.' }).int().positive().optional(),
    url: locationUrlField.optional(),
    limit: z.coerce.number().int().min(1).max(200).optional(),
  })
  .strict()
  .refine((q) => !(q.runId !== undefined && q.url !== undefined), { message: 'Ask for a runId or a url, not both.' });

export const verifyIdSchema = z.object({ id: z.coerce.number({ error: 'Not a verification number.' }).int().positive() });

/**
 * What a verification checked, as kept in backup_verifications.result (JSON).
 * Quick: header MAC, signed manifest, exact length, last chunk. Full: also
 * every chunk, every member's SHA-256, the file's checksum against the one
 * recorded when it was written, the database copy's integrity check.
 */
export const verificationResultSchema = z.object({
  level: verifyLevelSchema,
  /** The file's size as stored, and what its manifest says it must be. */
  sizeBytes: z.number().int().nonnegative().optional(),
  expectedSizeBytes: z.number().int().nonnegative().optional(),
  /** From the manifest. */
  createdAt: z.string().optional(),
  appliance: z.string().optional(),
  members: z.number().int().nonnegative().optional(),
  dataBytes: z.number().int().nonnegative().optional(),
  /** The checks that passed, in the order they ran. */
  passed: z.array(z.string()).default([]),
  /** Full: members whose SHA-256 matched, and their bytes. */
  membersVerified: z.number().int().nonnegative().optional(),
  bytesVerified: z.number().int().nonnegative().optional(),
  /** Full: SHA-256 of the file as stored; whether it is the one the backup history recorded (null: none recorded). */
  checksum: z.string().optional(),
  checksumMatchesHistory: z.boolean().nullable().optional(),
  /** Full: PRAGMA integrity_check of the database copy ("ok", or what SQLite found). */
  databaseIntegrity: z.string().optional(),
  durationMs: z.number().int().nonnegative().optional(),
  /** The verification did not finish (the console stopped, a backup started): no verdict on the file. */
  interrupted: z.boolean().optional(),
});

export type VerificationResult = z.infer<typeof verificationResultSchema>;
