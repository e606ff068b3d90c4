import { eq } from 'drizzle-orm';
import { audit } from '../audit/audit';
import { db } from '../db/client';
import { fleetRuns } from '../db/schema';
import { cancelOpenTasks } from './run';

export const FLEET_INTERRUPTED = 'The console stopped while this run was going on (the process ended). Nothing half-written was kept: incomplete uploads are removed at the start of the next run.';

/**
 * At start: a run still marked running belongs to a process that is gone.
 * It is marked cancelled with the reason, and so are its tasks that had not
 * ended. Incomplete multipart uploads (or .partial files) it left are swept
 * when the next run starts (run.ts), when the storage is known to answer.
 */
export function recoverInterruptedFleetRuns(): number {
  const stale = db().select().from(fleetRuns).where(eq(fleetRuns.status, 'running')).all();
  for (const run of stale) {
    cancelOpenTasks(run.id, FLEET_INTERRUPTED);
    db().update(fleetRuns).set({ status: 'cancelled', finishedAt: new Date(), error: FLEET_INTERRUPTED }).where(eq(fleetRuns.id, run.id)).run();
    audit({ id: null, name: 'system', ip: null }, 'fleet.run.recover', 'success', { target: String(run.id) });
  }
  return stale.length;
}
