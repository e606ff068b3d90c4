import fs from 'node:fs';
import { z } from 'zod';
import { writeFileDurable } from './durable-fs';
import { journalFile, restoreRoot } from './paths';

/**
 * The restore journal: one small JSON file, written atomically
 * (durable-fs.ts), that says what a restore is doing to the live state. It
 * exists from the moment the staged state is complete until the switch is
 * committed or rolled back; at start-up (recovery.ts) it decides, alone,
 * whether the console comes back with the old state or the new one:
 *
 *   staged     the backup is staged beside the live data; nothing live was touched yet   -> old state
 *   switching  renames of the items below are under way                                   -> old state (rolled back)
 *   switched   every item is switched; the post-check has not passed yet                  -> old state (rolled back)
 *   committed  the post-check passed; the new state is the state                          -> new state (clean-up finishes)
 *
 * Each item is one thing switched by rename(2): `live` (the path the console
 * uses), `staged` (the new one, beside it), `aside` (where the old one goes);
 * `hadLive` says whether there was an old one. Every path is absolute and
 * lies inside the data folder or the appliance root.
 */
export const journalItemSchema = z.object({
  live: z.string().min(1),
  staged: z.string().min(1),
  aside: z.string().min(1),
  hadLive: z.boolean(),
});

export const journalSchema = z.object({
  version: z.literal(1),
  id: z.string().regex(/^[0-9a-z-]+$/),
  phase: z.enum(['staged', 'switching', 'switched', 'committed']),
  at: z.string(),
  fileName: z.string(),
  sourceLabel: z.string(),
  requestedBy: z.string(),
  /** The restore's row in the live database before the switch, and in the staged one. */
  oldRowId: z.number().int().nullable(),
  newRowId: z.number().int().nullable(),
  items: z.array(journalItemSchema),
  /** Where the old state goes once committed (the safety copy). */
  safety: z.string().min(1),
});

export type Journal = z.infer<typeof journalSchema>;
export type JournalItem = z.infer<typeof journalItemSchema>;

export function writeJournal(j: Journal): void {
  fs.mkdirSync(restoreRoot(), { recursive: true, mode: 0o700 });
  writeFileDurable(journalFile(), JSON.stringify({ ...j, at: new Date().toISOString() }, null, 2));
}

/** The journal, or null when none; a journal that does not parse is an error in words (never guessed at). */
export function readJournal(): Journal | null {
  let text: string;
  try {
    text = fs.readFileSync(journalFile(), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  const parsed = journalSchema.safeParse(json);
  if (!parsed.success) throw new Error(`The restore journal ${journalFile()} is damaged; it was left in place for support to read.`);
  return parsed.data;
}

export function removeJournal(): void {
  fs.rmSync(journalFile(), { force: true });
}
