import path from 'node:path';
import { z } from 'zod';

/**
 * Backup Storage Settings. Storage Type "None" (default) or a local folder
 * for now; NFS and USB drives join with their own issue.
 */
export const storageConfigSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }),
  z.object({ type: z.literal('local'), path: z.string() }),
]);

export type StorageConfig = z.infer<typeof storageConfigSchema>;

const localPathSchema = z
  .string({ error: 'Enter the folder path.' })
  .trim()
  .min(1, 'Enter the folder path.')
  .max(1024, 'The path has at most 1024 characters.')
  .refine((p) => path.isAbsolute(p), 'Enter an absolute path, starting with /.')
  .refine((p) => !p.includes('\0'), 'The path contains an invalid character.')
  .transform((p) => path.resolve(p));

export const storageFormSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }),
  z.object({ type: z.literal('local'), path: localPathSchema }),
], { error: 'Choose a storage type.' });
