import path from 'node:path';
import { z } from 'zod';
import { NfsUrlError, parseNfsUrl } from '../nfs/nfs-url';

/**
 * Backup Storage Settings. Storage Type "None" (default), a local folder,
 * or an NFS share (v4, 4.1, 4.2, through lib/nfs); USB drives join with
 * their own issue.
 */
export const storageConfigSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }),
  z.object({ type: z.literal('local'), path: z.string() }),
  z.object({ type: z.literal('nfs'), url: z.string() }),
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

/** An nfs:// URL, checked before anything connects and stored in one spelling: nfs://host[:port]/path?version=4.x */
const nfsUrlSchema = z
  .string({ error: 'Enter the NFS URL.' })
  .trim()
  .min(1, 'Enter the NFS URL.')
  .max(1024, 'The NFS URL has at most 1024 characters.')
  .transform((u, ctx) => {
    try {
      const p = parseNfsUrl(u);
      return `${p.display}?version=${p.version}`;
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof NfsUrlError ? err.message : 'The NFS URL is not valid.' });
      return z.NEVER;
    }
  });

export const storageFormSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }),
  z.object({ type: z.literal('local'), path: localPathSchema }),
  z.object({ type: z.literal('nfs'), url: nfsUrlSchema }),
], { error: 'Choose a storage type.' });
