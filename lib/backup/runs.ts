import { and, desc, eq, isNull } from 'drizzle-orm';
import { db } from '../db/client';
import { backupRuns, type BackupRun } from '../db/schema';

/** Reads of backup history. */
export function runningBackup(): BackupRun | undefined {
  return db().select().from(backupRuns).where(eq(backupRuns.status, 'running')).get();
}

export function lastSuccessfulBackup(): BackupRun | undefined {
  return db().select().from(backupRuns).where(eq(backupRuns.status, 'succeeded')).orderBy(desc(backupRuns.finishedAt)).limit(1).get();
}

export function backupHistory(limit = 50): BackupRun[] {
  return db().select().from(backupRuns).orderBy(desc(backupRuns.id)).limit(limit).all();
}

export function getBackupRun(id: number): BackupRun | undefined {
  return db().select().from(backupRuns).where(eq(backupRuns.id, id)).get();
}

/** Successful runs whose file is still on the given target, newest first. */
export function keptBackupsOn(target: string): BackupRun[] {
  return db()
    .select()
    .from(backupRuns)
    .where(and(eq(backupRuns.status, 'succeeded'), eq(backupRuns.target, target), isNull(backupRuns.prunedAt)))
    .orderBy(desc(backupRuns.finishedAt), desc(backupRuns.id))
    .all();
}

/** The successful run that wrote a file of this name and size (file names carry the appliance and a timestamp). */
export function runWithFile(fileName: string, sizeBytes: number): BackupRun | undefined {
  return db()
    .select()
    .from(backupRuns)
    .where(and(eq(backupRuns.status, 'succeeded'), eq(backupRuns.fileName, fileName), eq(backupRuns.sizeBytes, sizeBytes)))
    .orderBy(desc(backupRuns.id))
    .limit(1)
    .get();
}
