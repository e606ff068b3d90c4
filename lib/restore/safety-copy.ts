import fs from 'node:fs';
import path from 'node:path';
import { exists, fsyncDir } from './durable-fs';
import { safetyRoot } from './paths';

/**
 * The safety copies: the state before each restore (its database and
 * configuration folders, exactly as they were switched out), one folder per
 * restore under <data>/restore/safety, the last KEEP kept.
 */
export const KEEP_SAFETY_COPIES = 3;

/** Moves what the switch put aside into the safety folder (a copy where the two are on different file systems). */
export function keepAsSafetyCopy(items: { aside: string; name: string }[], dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const { aside, name } of items) {
    if (!exists(aside)) continue;
    const to = path.join(dir, name);
    try {
      fs.renameSync(aside, to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      fs.cpSync(aside, to, { recursive: true, preserveTimestamps: true });
      fs.rmSync(aside, { recursive: true, force: true });
    }
  }
  fsyncDir(dir);
  pruneSafetyCopies();
}

export function safetyCopies(): string[] {
  const root = safetyRoot();
  return exists(root) ? fs.readdirSync(root).filter((n) => !n.startsWith('.')).sort() : [];
}

export function pruneSafetyCopies(keep = KEEP_SAFETY_COPIES): void {
  const all = safetyCopies();
  for (const old of all.slice(0, Math.max(0, all.length - keep))) fs.rmSync(path.join(safetyRoot(), old), { recursive: true, force: true });
}
