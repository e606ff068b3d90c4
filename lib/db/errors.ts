/**
 * SQLite constraint errors, as better-sqlite3 reports them: code
 * SQLITE_CONSTRAINT_<KIND> (UNIQUE, PRIMARYKEY, CHECK, TRIGGER for RAISE(ABORT), ...).
 * Without a kind, any constraint.
 */
export function isConstraintViolation(err: unknown, kind?: 'UNIQUE' | 'PRIMARYKEY' | 'CHECK' | 'TRIGGER'): boolean {
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  return kind ? code === `SQLITE_CONSTRAINT_${kind}` : code.startsWith('SQLITE_CONSTRAINT');
}
