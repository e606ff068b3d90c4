import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DatabaseCopy, copyFolder, integrityCheck, removeDatabaseCopyLeftovers } from '@/lib/verify/database-copy';
import { damagedDatabase } from './craft-backup';

/** The full verification's database step on its own: the 0600 copy, SQLite's check on it, its removal. */
async function sqliteFile(): Promise<Buffer> {
  const file = path.join(os.tmpdir(), `webconf-copy-${process.pid}-${Date.now()}.db`);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('create table t(id integer primary key, v text); create index t_v on t(v);');
  const ins = db.prepare('insert into t(v) values (?)');
  for (let i = 0; i < 500; i++) ins.run(`row ${i}`);
  // A copy as the engine makes one: SQLite's backup API of a database in WAL mode.
  const snap = `${file}.snap`;
  await db.backup(snap);
  db.close();
  const bytes = fs.readFileSync(snap);
  for (const f of [file, `${file}-wal`, `${file}-shm`, snap]) fs.rmSync(f, { force: true });
  return bytes;
}

async function copyOf(id: number, bytes: Buffer): Promise<DatabaseCopy> {
  const copy = await DatabaseCopy.create(id);
  const w = copy.writable(() => undefined, (err) => {
    throw err;
  });
  await new Promise<void>((resolve, reject) => {
    w.on('error', reject);
    w.end(bytes, resolve);
  });
  return copy;
}

const left = () => fs.readdirSync(copyFolder()).filter((f) => f.startsWith('verify-'));

describe('the database copy', () => {
  it('is a new 0600 file in the data folder, checked read-only by SQLite ("ok"), then removed with its side files', async () => {
    const bytes = await sqliteFile();
    const copy = await copyOf(1, bytes);
    expect(path.dirname(copy.file)).toBe(path.join(process.env.WEBCONF_DATA_DIR!, 'tmp'));
    expect(fs.statSync(copy.file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(copy.file).equals(bytes)).toBe(true);
    expect(await copy.check()).toEqual({ ok: true, result: 'ok' });
    // Read-only: the bytes are unchanged by the check.
    expect(fs.readFileSync(copy.file).equals(bytes)).toBe(true);
    await copy.remove();
    expect(left()).toEqual([]);
  });

  it('never replaces an existing file', async () => {
    fs.mkdirSync(copyFolder(), { recursive: true });
    fs.writeFileSync(path.join(copyFolder(), 'verify-2.db'), 'someone else');
    await expect(DatabaseCopy.create(2)).rejects.toThrow(/EEXIST/);
    expect(fs.readFileSync(path.join(copyFolder(), 'verify-2.db'), 'utf8')).toBe('someone else');
    fs.rmSync(path.join(copyFolder(), 'verify-2.db'));
  });

  it('of a damaged database: what SQLite found; of bytes that are no database: why it cannot read them', async () => {
    const damaged = await copyOf(3, damagedDatabase(path.join(os.tmpdir(), `webconf-dmg-${process.pid}.db`)));
    const r = await damaged.check();
    expect(r.ok).toBe(false);
    expect(r.result).toMatch(/^row 1 missing from index t_v; row 2 missing from index t_v/);
    await damaged.remove();
    const junk = await copyOf(4, Buffer.alloc(4096, 0x41));
    expect(await junk.check()).toEqual({ ok: false, result: 'file is not a database' });
    await junk.remove();
    expect(left()).toEqual([]);
  });

  it('a check that is aborted stops (its worker is ended)', async () => {
    const copy = await copyOf(5, await sqliteFile());
    const ac = new AbortController();
    const checking = integrityCheck(copy.file, ac.signal);
    ac.abort(new Error('stop'));
    await expect(checking).rejects.toThrow('stop');
    await expect(integrityCheck(copy.file, ac.signal)).rejects.toThrow('stop');
    await copy.remove();
  });

  it('leftovers (a killed process) are removed at start, nothing else', () => {
    fs.mkdirSync(copyFolder(), { recursive: true });
    for (const f of ['verify-9.db', 'verify-9.db-wal', 'snapshot-1.db']) fs.writeFileSync(path.join(copyFolder(), f), 'x');
    expect(removeDatabaseCopyLeftovers()).toBe(2);
    expect(fs.readdirSync(copyFolder())).toEqual(['snapshot-1.db']);
    fs.rmSync(path.join(copyFolder(), 'snapshot-1.db'));
  });
});
