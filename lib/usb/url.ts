import { z } from 'zod';
import { AppError } from '../errors';

/**
 * usb://<label-or-uuid>[/path]: a USB drive (its file system label or UUID)
 * and a folder on it. Each part may be percent-encoded (a label with a space:
 * usb://MY%20BACKUPS/appliance). The folder is relative to the partition's
 * root, "/"-separated, "" for the root; "..", NUL and backslashes are refused.
 */
export type UsbUrl = { drive: string; path: string };

function decode(part: string, ctx: z.RefinementCtx): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${part}" has a broken percent-encoding` });
    return null;
  }
}

export const usbUrlSchema = z
  .string({ error: 'Enter a USB location like usb://BACKUP/appliance' })
  .trim()
  .max(2048, 'The USB location is too long')
  .refine((s) => /^usb:\/\//i.test(s), 'A USB location starts with usb:// (for example usb://BACKUP/appliance)')
  .transform((s, ctx): UsbUrl => {
    const rest = s.slice('usb://'.length);
    const [rawDrive = '', ...rawParts] = rest.split('/');
    const drive = decode(rawDrive, ctx);
    const parts = rawParts.filter((p) => p !== '').map((p) => decode(p, ctx));
    if (drive === null || parts.includes(null)) return z.NEVER;
    const all = [drive, ...(parts as string[])];
    if (drive.trim() === '') ctx.addIssue({ code: 'custom', message: 'Name the USB drive after usb:// (its label or UUID)' });
    if (all.some((p) => p.includes('\0'))) ctx.addIssue({ code: 'custom', message: 'The USB location contains a NUL byte' });
    if (all.some((p) => p.includes('\\'))) ctx.addIssue({ code: 'custom', message: 'Use "/" between folders, not "\\"' });
    if (parts.some((p) => p === '..' || p === '.')) ctx.addIssue({ code: 'custom', message: 'The folder may not contain "." or ".." parts' });
    if (parts.some((p) => p!.includes('/'))) ctx.addIssue({ code: 'custom', message: 'A folder name may not contain an encoded "/"' });
    return { drive, path: (parts as string[]).join('/') };
  });

/** Parses a USB location; throws an AppError (field "url") whose message is the first problem, in words. */
export function parseUsbUrl(url: string): UsbUrl {
  const r = usbUrlSchema.safeParse(url);
  if (!r.success) throw new AppError('bad_request', `${r.error.issues[0]?.message ?? 'Not a USB location'}.`, { field: 'url' });
  return r.data;
}

export function formatUsbUrl(u: UsbUrl): string {
  const enc = (s: string) => encodeURIComponent(s);
  return `usb://${enc(u.drive)}${u.path ? `/${u.path.split('/').map(enc).join('/')}` : ''}`;
}
