import { eq } from 'drizzle-orm';
import { audit } from '../audit/audit';
import { db } from '../db/client';
import { backupVerifications } from '../db/schema';
import { removeDatabaseCopyLeftovers } from './database-copy';
import type { VerificationResult } from './schemas';

export const VERIFY_INTERRUPTED_MESSAGE = 'The console stopped while this verification was running; it did not finish.';

/**
 * At start, before anything can verify: a verification still marked
 * running belongs to a process that is gone. It is recorded as failed
 * without a verdict (result.interrupted), and the database copies such a
 * process left in the data folder are removed (nothing else is touched).
 */
export function recoverInterruptedVerifications(): { verifications: number; copiesRemoved: number } {
  const stale = db().select().from(backupVerifications).where(eq(backupVerifications.status, 'running')).all();
  for (const v of stale) {
    const result: VerificationResult = { level: v.level, passed: [], interrupted: true };
    db()
      .update(backupVerifications)
      .set({ status: 'failed', finishedAt: new Date(), error: VERIFY_INTERRUPTED_MESSAGE, result: JSON.stringify(result) })
      .where(eq(backupVerifications.id, v.id))
      .run();
    audit({ id: null, name: 'system', ip: null }, 'backup.verify.recover', 'success', { target: v.fileName, detail: { verification: v.id } });
  }
  return { verifications: stale.length, copiesRemoved: removeDatabaseCopyLeftovers() };
}
