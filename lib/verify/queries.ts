import { and, desc, eq, inArray } from 'drizzle-orm';
import { db } from '../db/client';
import { backupVerifications, type BackupVerification } from '../db/schema';
import { registry } from './registry';
import { summarize, toVerificationView, type FileVerifications, type VerificationView } from './verification-view';

/** Reads of backup_verifications, as views (with the progress of a running one). */

const view = (row: BackupVerification): VerificationView => toVerificationView(row, registry().progress.get(row.id) ?? null);

export function getVerification(id: number): VerificationView | null {
  const row = db().select().from(backupVerifications).where(eq(backupVerifications.id, id)).get();
  return row ? view(row) : null;
}

/** The verifications of a backup of the history, newest first. */
export function verificationsOfRun(runId: number, limit = 20): VerificationView[] {
  return db().select().from(backupVerifications).where(eq(backupVerifications.backupRunId, runId)).orderBy(desc(backupVerifications.id)).limit(limit).all().map(view);
}

/** The verifications of a file in a folder (canonical folder URL, locations.ts), newest first. */
export function verificationsOfFile(location: string, fileName: string, limit = 20): VerificationView[] {
  return db()
    .select()
    .from(backupVerifications)
    .where(and(eq(backupVerifications.location, location), eq(backupVerifications.fileName, fileName)))
    .orderBy(desc(backupVerifications.id))
    .limit(limit)
    .all()
    .map(view);
}

/** The latest verifications of all files, newest first. */
export function recentVerifications(limit = 50): VerificationView[] {
  return db().select().from(backupVerifications).orderBy(desc(backupVerifications.id)).limit(limit).all().map(view);
}

/** For the history table: each run's latest verification and its latest verdict. */
export function verificationsByRun(runIds: number[]): Map<number, FileVerifications> {
  const out = new Map<number, FileVerifications>();
  if (!runIds.length) return out;
  const rows = db().select().from(backupVerifications).where(inArray(backupVerifications.backupRunId, runIds)).orderBy(desc(backupVerifications.id)).all();
  const byRun = new Map<number, VerificationView[]>();
  for (const r of rows) {
    const list = byRun.get(r.backupRunId!) ?? [];
    list.push(view(r));
    byRun.set(r.backupRunId!, list);
  }
  for (const id of runIds) out.set(id, summarize(byRun.get(id) ?? []));
  return out;
}

/** Full verifications of these runs, newest first (the scheduler decides from them). */
export function fullVerificationsOfRuns(runIds: number[]): VerificationView[] {
  if (!runIds.length) return [];
  return db()
    .select()
    .from(backupVerifications)
    .where(and(inArray(backupVerifications.backupRunId, runIds), eq(backupVerifications.level, 'full')))
    .orderBy(desc(backupVerifications.id))
    .all()
    .map(view);
}
