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

const globalForDb = globalThis as unknown as { webconfDb?: Db };

/** The console's database in the data folder, opened once per process. */
export function db(): Db {
  if (!globalForDb.webconfDb) {
    globalForDb.webconfDb = openDb(path.join(dataDir(), 'webconf.db'));
  }
  return globalForDb.webconfDb;
}
