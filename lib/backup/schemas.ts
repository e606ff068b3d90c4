import { z } from 'zod';

/** Backup Filename prefix: optional; safe file-name characters only. */
export const filenamePrefixSchema = z
  .string()
  .trim()
  .max(40, 'The prefix has at most 40 characters.')
  .regex(/^([A-Za-z0-9][A-Za-z0-9._-]*)?$/, 'Use letters, digits, dot, dash or underscore, starting with a letter or digit.');

export const backupSettingsFormSchema = z.object({ filenamePrefix: filenamePrefixSchema.optional().default('') });

export const backupSettingsSchema = z.object({ filenamePrefix: z.string() });

export type BackupSettings = z.infer<typeof backupSettingsSchema>;
