import { and, desc, eq, inArray } from 'drizzle-orm';
import { db } from '../db/client';
import { backupVerifications, type BackupVerification } from '../db/schema';
import { log } from '../log';
import { recordedFolderUrl, splitFileUrl } from './locations';
import { registry } from './registry';
import { verificationResultSchema, type VerificationResult } from './schemas';
import { summarize, type FileVerifications, type VerificationProgress, type VerificationView } from './verification-view';

/** Reads of backup_verifications, as views (with the progress of a running one). */

/** The stored result, parsed with its schema; one that does not parse is reported and shown as none. */
function parseResult(row: BackupVerification): VerificationResult | null {
  if (!row.result) return null;
  try {
    const parsed = verificationResultSchema.safeParse(JSON.parse(row.result));
    if (parsed.success) return parsed.data;
  } catch {
    /* below */
  }
  log.error({ event: 'verify.result-invalid', verification: row.id }, 'stored verification result does not match its schema');
  return null;
}

export function toVerificationView(row: BackupVerification, progress: VerificationProgress | null = null): VerificationView {
  const result = parseResult(row);
  return {
    ...row,
    startedAt: row.startedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
    result,
    interrupted: row.status === 'failed' && result?.interrupted === true,
    progress: row.status === 'running' ? progress : null,
  };
}

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

/** What the console shows of one file: its latest verification, its verdict, and its history. */
export type FileVerificationHistory = FileVerifications & { history: VerificationView[] };

export function fileVerificationsOfRun(runId: number, limit = 20): FileVerificationHistory {
  const history = verificationsOfRun(runId, limit);
  return { ...summarize(history), history };
}

/** The verifications of the file a storage browser URL names. */
export async function fileVerificationsAt(url: string, limit = 20): Promise<FileVerificationHistory> {
  const { folder, fileName } = splitFileUrl(url);
  const history = verificationsOfFile(await recordedFolderUrl(folder), fileName, limit);
  return { ...summarize(history), history };
}
