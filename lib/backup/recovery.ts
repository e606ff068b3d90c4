import fs from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { audit } from '../audit/audit';
import { db } from '../db/client';
import { backupRuns } from '../db/schema';
import { dataDir } from '../env';
import { log } from '../log';
import { openStorage } from '../storage/config';

export const INTERRUPTED_MESSAGE = 'The console stopped while this backup was running (the process ended). No backup file was published; the partial file was removed.';
const INTERRUPTED_LEFT = 'The console stopped while this backup was running (the process ended). No backup file was published; its partial file could not be removed and is still on the storage location:';

/**
 * At start: a run still marked running belongs to a process that is gone.
 * Mark it interrupted, remove the partial file it recorded on the target
 * (only that name: never anything it did not write), and clear database
 * snapshots left in the data folder.
 */
export async function recoverInterruptedBackups(): Promise<number> {
  const stale = db().select().from(backupRuns).where(eq(backupRuns.status, 'running')).all();
  const target = stale.length ? openStorage() : null;
  for (const run of stale) {
    // Only the partial file this run recorded, and only on the target it wrote to.
    let cleaned = !run.tempName;
    if (run.tempName && target && run.target === target.label) {
      try {
        if (await target.stat(run.tempName)) await target.remove(run.tempName);
        cleaned = true;
      } catch (err) {
        log.warn({ event: 'backup.recovery.cleanup-failed', run: run.id, err: (err as Error).message }, 'could not remove partial file');
      }
    }
    db()
      .update(backupRuns)
      .set({
        status: 'interrupted',
        finishedAt: new Date(),
        tempName: cleaned ? null : run.tempName,
        error: cleaned ? INTERRUPTED_MESSAGE : `${INTERRUPTED_LEFT} ${run.target ?? 'unknown'} / ${run.tempName}`,
      })
      .where(eq(backupRuns.id, run.id))
      .run();
    audit({ id: null, name: 'system', ip: null }, 'backup.recover', 'success', { target: String(run.id), detail: { cleaned } });
  }
  await target?.close().catch(() => undefined);
  const tmp = path.join(dataDir(), 'tmp');
  for (const f of fs.existsSync(tmp) ? fs.readdirSync(tmp) : []) {
    if (f.startsWith('snapshot-')) fs.rmSync(path.join(tmp, f), { force: true });
  }
  return stale.length;
}
