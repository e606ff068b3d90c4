import type { BackupVerification } from '../db/schema';
import type { VerificationResult } from './schemas';

/** Types and pure helpers only: the Backup page's client components use them too. */

/** How far a running verification is, kept in memory by the process that runs it (verify-backup.ts). */
export type VerificationProgress = {
  phase: 'reading' | 'decrypting' | 'database';
  /** Full: member bytes decrypted and hashed so far, of the manifest's total. */
  bytesDone: number;
  bytesTotal: number | null;
};

/** A verification as routes and pages show it: times as ISO strings, the result parsed, the progress while it runs. */
export type VerificationView = Omit<BackupVerification, 'startedAt' | 'finishedAt' | 'result'> & {
  startedAt: string;
  finishedAt: string | null;
  result: VerificationResult | null;
  /** Failed without a verdict on the file: the console stopped, or a backup started during a scheduled verification. */
  interrupted: boolean;
  progress: VerificationProgress | null;
};

/**
 * What the console shows for one backup file: the latest verification (it
 * may be running or interrupted) and the latest with a verdict (passed or
 * failed), which is the file's state.
 */
export type FileVerifications = { latest: VerificationView | null; verdict: VerificationView | null };

/** A verdict on the file: passed, or failed for a reason found in the file (not interrupted). */
export function isVerdict(v: Pick<VerificationView, 'status' | 'interrupted'>): boolean {
  return v.status === 'passed' || (v.status === 'failed' && !v.interrupted);
}

/**
 * The verdict after a newer verification `v`: a verdict replaces the one
 * before, except that a passed quick verification does not clear a failed
 * full one (quick does not read the chunks that failed).
 */
export function nextVerdict(current: VerificationView | null, v: VerificationView): VerificationView | null {
  if (!isVerdict(v)) return current;
  if (v.status === 'passed' && v.level === 'quick' && current?.status === 'failed' && current.level === 'full') return current;
  return v;
}

/** Latest and verdict of a file's verifications, newest first (the verdict as nextVerdict folds them, oldest first). */
export function summarize(newestFirst: VerificationView[]): FileVerifications {
  let verdict: VerificationView | null = null;
  for (let i = newestFirst.length - 1; i >= 0; i--) verdict = nextVerdict(verdict, newestFirst[i]!);
  return { latest: newestFirst[0] ?? null, verdict };
}
