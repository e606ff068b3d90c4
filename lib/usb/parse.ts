import { z } from 'zod';

/**
 * Parsers for what the USB code reads from tools and the kernel: `blkid -p
 * -o export`, `dumpe2fs -h`, /proc/self/mountinfo. Pure functions (tested in
 * tests/usb/parse.test.ts); odd output is refused in words, never guessed.
 */

/** A kernel block device node: /dev/sdb1, /dev/loop3p1, /dev/mmcblk0p1, /dev/nvme0n1p2. */
export const DEVICE_PATTERN = /^\/dev\/[a-z0-9]+$/;
/**
 * A file system UUID as blkid prints it: ext4 "97ea8ed7-d82f-4b20-972e-3b580c645f0f",
 * exFAT/FAT "7F7F-EE89", NTFS "0123456789ABCDEF". Also the name of our mount folder,
 * so it may hold nothing but hex digits and dashes.
 */
export const UUID_PATTERN = /^[0-9A-Fa-f][0-9A-Fa-f-]{3,63}$/;

/**
 * `blkid -p -o export DEV` prints KEY=VALUE lines. Values are shell-escaped:
 * a backslash before a space, quote, dollar, backslash... (`LABEL=MY\ \"BK\"`).
 * On a whole disk the interesting key is PTTYPE ("gpt", "dos"); on a
 * partition TYPE ("ext4", "exfat", "vfat"), LABEL, UUID and USAGE
 * ("filesystem", "raid", "crypto"). An exFAT partition also reports
 * PTTYPE=dos (its boot sector looks like an MBR), so PTTYPE only counts on
 * the disk. Unknown keys are kept and ignored.
 */
export const blkidExportSchema = z.looseObject({
  DEVNAME: z.string().regex(DEVICE_PATTERN, 'DEVNAME is not a /dev node').optional(),
  PTTYPE: z.string().regex(/^[a-z0-9_-]{1,32}$/, 'PTTYPE is not a partition table type').optional(),
  PTUUID: z.string().max(64).optional(),
  TYPE: z.string().regex(/^[a-z0-9_-]{1,32}$/, 'TYPE is not a file system type').optional(),
  USAGE: z.string().max(32).optional(),
  LABEL: z.string().max(255).optional(),
  UUID: z.string().regex(UUID_PATTERN, 'UUID is not a file system UUID').optional(),
  PART_ENTRY_SCHEME: z.string().max(32).optional(),
});
export type BlkidExport = z.infer<typeof blkidExportSchema>;

/** Undoes blkid's shell escaping: "\x" is x for any character x. */
export function unescapeBlkidValue(raw: string): string {
  return raw.replace(/\\(.)/gs, '$1');
}

/** Parses `blkid -p -o export` output. Empty output (nothing found) is {}. */
export function parseBlkidExport(text: string): BlkidExport {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`blkid printed a line that is not KEY=VALUE: ${JSON.stringify(line.slice(0, 80))}`);
    fields[m[1]!] = unescapeBlkidValue(m[2]!);
  }
  const parsed = blkidExportSchema.safeParse(fields);
  if (!parsed.success) throw new Error(`blkid printed something unexpected: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  return parsed.data;
}

/**
 * `dumpe2fs -h DEV` prints the ext2/3/4 superblock as "Name:   value" lines.
 * Free space comes from it without a mount (the superblock's counters are
 * exact for an unmounted file system). Only the counters below are read.
 */
const count = z.coerce.number().int().nonnegative();
export const dumpe2fsHeaderSchema = z.object({
  'Block count': count,
  'Free blocks': count,
  'Reserved block count': count.default(0),
  'Block size': count.refine((n) => n >= 512 && n <= 65536 && (n & (n - 1)) === 0, 'Block size is not a power of two'),
});

export type SpaceCounters = { totalBytes: number; freeBytes: number; usedBytes: number };

/** Space from dumpe2fs: free counts like statfs's f_bavail (reserved blocks are not free for the console). */
export function parseDumpe2fsSpace(text: string): SpaceCounters {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z][A-Za-z /#-]*?):\s+(.*)$/.exec(line);
    if (m) fields[m[1]!] = m[2]!.trim();
  }
  const parsed = dumpe2fsHeaderSchema.safeParse(fields);
  if (!parsed.success) throw new Error(`dumpe2fs printed something unexpected: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const h = parsed.data;
  const bs = h['Block size'];
  const free = Math.max(0, h['Free blocks'] - h['Reserved block count']);
  return { totalBytes: h['Block count'] * bs, freeBytes: free * bs, usedBytes: (h['Block count'] - h['Free blocks']) * bs };
}

/**
 * One line of /proc/self/mountinfo (proc(5)):
 *   36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 * mount id, parent id, major:minor, root, mount point, per-mount options,
 * optional fields up to "-", then file system type, source, super options.
 * Paths escape space, tab, newline and backslash as \040 \011 \012 \134.
 */
export const mountEntrySchema = z.object({
  mountPoint: z.string().startsWith('/'),
  source: z.string(),
  fsType: z.string().min(1),
  options: z.array(z.string()),
  superOptions: z.array(z.string()),
  majorMinor: z.string().regex(/^\d+:\d+$/),
});
export type MountEntry = z.infer<typeof mountEntrySchema>;

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const parts = line.split(' ');
    const dash = parts.indexOf('-', 6);
    if (dash < 0 || parts.length < dash + 3) continue; // not a mountinfo line: skip rather than guess
    const entry = mountEntrySchema.safeParse({
      majorMinor: parts[2],
      mountPoint: unescapeMountinfo(parts[4]!),
      options: parts[5]!.split(','),
      fsType: parts[dash + 1],
      source: unescapeMountinfo(parts[dash + 2]!),
      superOptions: (parts[dash + 3] ?? '').split(',').filter(Boolean),
    });
    if (entry.success) out.push(entry.data);
  }
  return out;
}

/**
 * WEBCONF_USB_DEVICES: comma-separated /sys/block names or globs ("*" any
 * run of characters, "?" one), e.g. "loop3,loop5" or "loop*". Anything that
 * is not a plain device name pattern is refused in words.
 */
export const usbDevicePatternsSchema = z
  .string()
  .max(1024)
  .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^[a-z0-9*?]{1,32}$/, 'WEBCONF_USB_DEVICES holds names or globs of /sys/block entries like "loop3" or "loop*"')));

export function matchesDevicePattern(name: string, patterns: string[]): boolean {
  return patterns.some((p) => new RegExp(`^${p.replace(/\*/g, '[a-z0-9]*').replace(/\?/g, '[a-z0-9]')}$`).test(name));
}
