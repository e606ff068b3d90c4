import { eq } from 'drizzle-orm';
import { audit } from '../audit/audit';
import { db } from '../db/client';
import { backupRuns } from '../db/schema';
import type { StorageTarget } from '../storage/types';
import { keptBackupsOn } from './runs';

/**
 * Keeps the N most recent successful backups on the target (0 keeps all).
 * Only files this console wrote and recorded are candidates, so it never
 * deletes anything else; N >= 1 means the newest good backup always stays.
 */
export async function applyRetention(target: StorageTarget, keep: number): Promise<number> {
  if (keep <= 0) return 0;
  const kept = keptBackupsOn(target.label);
  let removed = 0;
  for (const run of kept.slice(keep)) {
    if (!run.fileName) continue;
    const entry = await target.stat(run.fileName);
    if (entry && entry.size === run.sizeBytes) {
      await target.remove(run.fileName);
      removed++;
      db().update(backupRuns).set({ prunedAt: new Date() }).where(eq(backupRuns.id, run.id)).run();
      audit({ id: null, name: 'system', ip: null }, 'backup.retention.remove', 'success', { target: run.fileName, detail: { run: run.id, keep } });
    } else if (!entry) {
      // Already gone (removed by someone else): no longer a kept backup.
      db().update(backupRuns).set({ prunedAt: new Date() }).where(eq(backupRuns.id, run.id)).run();
      audit({ id: null, name: 'system', ip: null }, 'backup.retention.missing', 'success', { target: run.fileName, detail: { run: run.id } });
    } else {
      // A file of another size under that name is not the one we wrote: never touched.
      audit({ id: null, name: 'system', ip: null }, 'backup.retention.skip', 'failure', { target: run.fileName, detail: { run: run.id, reason: 'size differs from the recorded backup' } });
    }
  }
  return removed;
}
