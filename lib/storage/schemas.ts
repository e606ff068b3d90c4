import path from 'node:path';
import { z } from 'zod';
import { NfsUrlError, parseNfsUrl } from '../nfs/nfs-url';
import { joinTypedLocation } from './location';

/**
 * Backup Storage Settings. Storage Type "None" (default), a local folder,
 * or an NFS share (v4, 4.1, 4.2, through lib/nfs); USB drives join with
 * their own issue.
 */
export const storageConfigSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }),
  z.object({ type: z.literal('local'), path: z.string() }),
  z.object({ type: z.literal('nfs'), url: z.string() }),
  /** A partition of a USB drive, known by its file system's UUID (never /dev/sdX, which changes on replug), and a folder on it. */
  z.object({ type: z.literal('usb'), uuid: z.string().min(1).max(64), path: z.string().max(1024), label: z.string().max(255).nullable().optional(), serial: z.string().max(255).nullable().optional() }),
]);

export type StorageConfig = z.infer<typeof storageConfigSchema>;

const localPathSchema = z
  .string({ error: 'Enter the folder path.' })
  .trim()
  .min(1, 'Enter the folder path.')
  .refine((p) => !/[\u0001-\u001f\u007f]/.test(p), 'The path contains an invalid character.')
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

const usbUrlSchema = z
  .string({ error: 'Enter the USB drive URL.' })
  .trim()
  .min(1, 'Enter the USB drive URL.')
  .max(1024, 'The USB drive URL has at most 1024 characters.')
  .refine((u) => u.toLowerCase().startsWith('usb://'), 'A USB drive location is written usb://<drive label or UUID>/<folder>.');

/**
 * The storage setting as the API takes it (JSON): an NFS or USB URL, or a
 * local folder path. What the form sends (the Storage Type and the rest of
 * the URL after its prefix) becomes the same through storageLocationFormSchema.
 */
export const storageFormSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }),
  z.object({ type: z.literal('local'), path: localPathSchema }),
  z.object({ type: z.literal('nfs'), url: nfsUrlSchema }),
  z.object({ type: z.literal('usb'), url: usbUrlSchema }),
], { error: 'Choose a storage type.' });

export type StorageInput = z.infer<typeof storageFormSchema>;

/**
 * Backup Storage Settings as the form sends it: the Storage Type and, beside
 * its fixed prefix (nfs://, usb://, file://), the rest of the location. A
 * whole URL pasted into the field is taken as it is. Errors are told at the
 * field "location".
 */
export const storageLocationFormSchema = z
  .object({
    type: z.enum(['none', 'nfs', 'usb', 'local'], { error: 'Choose a storage type.' }),
    location: z.string().max(2048, 'The location has at most 1024 characters.').optional().default(''),
  })
  .transform((v, ctx): StorageInput => {
    if (v.type === 'none') return { type: 'none' };
    const rest = v.location.trim();
    const full = joinTypedLocation(v.type, rest);
    const input = v.type === 'local' ? { type: 'local', path: full.slice('file://'.length) } : { type: v.type, url: rest ? full : '' };
    const parsed = storageFormSchema.safeParse(input);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: ['location'], message: issue.message });
    return z.NEVER;
  });

/** The storage browser's query (GET /api/storage/browse). */
export const browseQuerySchema = z.object({
  url: z.string({ error: 'Name the location: url=nfs://…, usb://… or file://…' }).min(1, 'Name the location: url=nfs://…, usb://… or file://…').max(2048),
  filter: z.string().max(255, 'The filter has at most 255 characters.').optional(),
  cursor: z.string().max(2048).optional(),
  limit: z.coerce.number({ error: 'limit must be a number from 1 to 10000.' }).int('limit must be a whole number.').min(1, 'limit must be from 1 to 10000.').max(10_000, 'limit must be from 1 to 10000.').optional(),
  /** kept=1: a changed remote folder's kept listing at once, marked stale, while it is read again. */
  kept: z.literal('1', { error: 'kept is 1, or left out.' }).optional(),
});

/**
 * The storage browser's cursor (base64url JSON, the client's to send back):
 * where the last page ended in the sort order (the entry's type and name,
 * only ever compared with names, never used as a path) and the id of the
 * listing that page came from.
 */
export const browseCursorSchema = z
  .object({
    t: z.enum(['directory', 'file']),
    n: z.string().min(1).max(4096),
    s: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict();
export type BrowseCursor = z.infer<typeof browseCursorSchema>;

export const locationQuerySchema = z.object({
  url: z.string({ error: 'Name the file: url=nfs://…, usb://… or file://…' }).min(1, 'Name the file: url=nfs://…, usb://… or file://…').max(2048),
});
