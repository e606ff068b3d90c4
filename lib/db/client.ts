import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { dataDir } from '../env';
import * as schema from './schema';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

const MIGRATIONS = path.join(process.cwd(), 'drizzle');

/** Opens (and migrates) a database file: WAL, foreign keys on, waits on locks instead of failing. */
export function openDb(file: string): Db {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = NORMAL');
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS });
  return db as Db;
}

const globalForDb = globalThis as unknown as { webconfDb?: Db; webconfDbSuspended?: string };

/** The live database file. */
export function databaseFile(): string {
  return path.join(dataDir(), 'webconf.db');
}

/** Thrown by db() while the database file is being switched (restore): the request is answered as a conflict in words. */
export class DatabaseSuspendedError extends Error {
  readonly code = 'WEBCONF_DB_SUSPENDED';
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseSuspendedError';
  }
}

/** By code, not class: the error may come from another module instance (Next's chunks, server.ts). */
export function isDbSuspendedError(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'WEBCONF_DB_SUSPENDED';
}

/** The console's database in the data folder, opened once per process. */
export function db(): Db {
  if (globalForDb.webconfDbSuspended) throw new DatabaseSuspendedError(globalForDb.webconfDbSuspended);
  if (!globalForDb.webconfDb) {
    globalForDb.webconfDb = openDb(databaseFile());
  }
  return globalForDb.webconfDb;
}

/**
 * Closes this process's connection and refuses db() until resumeDb(): a
 * restore switches the database file, and nothing may reopen (or write
 * through) the old one meanwhile. Closing the last connection checkpoints
 * the WAL into the file and removes -wal and -shm.
 */
export function suspendDb(reason: string): void {
  globalForDb.webconfDbSuspended = reason;
  const open = globalForDb.webconfDb;
  globalForDb.webconfDb = undefined;
  if (open) {
    try {
      open.$client.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      open.$client.close();
    }
  }
}

/** Lets db() open the (new) database file again, migrating it forward. */
export function resumeDb(): void {
  globalForDb.webconfDbSuspended = undefined;
}

/** Whether db() is refused right now (a restore is switching the database). */
export function dbSuspended(): string | undefined {
  return globalForDb.webconfDbSuspended;
}
