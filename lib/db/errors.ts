/**
 * SQLite constraint errors, as better-sqlite3 reports them: code
 * SQLITE_CONSTRAINT_<KIND> (UNIQUE, PRIMARYKEY, CHECK, TRIGGER for RAISE(ABORT), ...).
 * Without a kind, any constraint.
 */
export function isConstraintViolation(err: unknown, kind?: 'UNIQUE' | 'PRIMARYKEY' | 'CHECK' | 'TRIGGER'): boolean {
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  return kind ? code === `SQLITE_CONSTRAINT_${kind}` : code.startsWith('SQLITE_CONSTRAINT');
}

/** The words every refusal by the restore triggers (drizzle/0004) ends up as. */
export const RESTORE_IN_PROGRESS = 'A restore is in progress: nothing can be changed until it has finished. Try again in a moment.';
export const BACKUP_IN_PROGRESS_FOR_RESTORE = 'A backup is in progress. Wait until it has finished, then restore.';

/** Which exclusive operation a trigger named when it refused a write (drizzle/0004), or null. */
export function exclusiveOperationRefusal(err: unknown): 'restore' | 'backup' | null {
  if (!isConstraintViolation(err, 'TRIGGER')) return null;
  const message = String((err as Error).message);
  if (message.includes('webconf: a restore is in progress')) return 'restore';
  if (message.includes('webconf: a backup is in progress')) return 'backup';
  return null;
}
