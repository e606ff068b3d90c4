import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { dataDir } from '../env';

/**
 * The one plaintext a full verification writes to disk: the backup's
 * database member, copied while it is hashed, so that SQLite can check it
 * (PRAGMA integrity_check needs a file). The copy is a new file, mode 0600,
 * in the data folder's tmp/ (where the live database already is, never on
 * the storage target), named verify-<verification id>.db; SQLite's side
 * files (-wal, -shm, -journal) go with it. It is removed when the
 * verification ends, whatever the outcome; a process killed meanwhile
 * leaves it, and the next start removes every verify-* file
 * (removeDatabaseCopyLeftovers, server.ts).
 */
export const COPY_PREFIX = 'verify-';

export function copyFolder(): string {
  return path.join(dataDir(), 'tmp');
}

const sideFiles = (file: string) => [file, `${file}-wal`, `${file}-shm`, `${file}-journal`];

/** A copy being written, then checked, then removed. */
export class DatabaseCopy {
  private handle: fsp.FileHandle | null = null;
  private position = 0;

  private constructor(readonly file: string) {}

  /** Creates the empty copy file (fails if the name exists: never another file's bytes). */
  static async create(verificationId: number): Promise<DatabaseCopy> {
    await fsp.mkdir(copyFolder(), { recursive: true, mode: 0o700 });
    const copy = new DatabaseCopy(path.join(copyFolder(), `${COPY_PREFIX}${verificationId}.db`));
    copy.handle = await fsp.open(copy.file, 'wx', 0o600);
    return copy;
  }

  /**
   * A stream into the copy (the verification's sink for the database
   * member); `counted` sees every chunk's length. It never fails its writer:
   * a write that fails (the data folder full) is told to `failed` once and
   * the rest is only counted, so the verification still checks every byte
   * of the backup and then says why the database was not checked.
   */
  writable(counted: (bytes: number) => void, failed: (err: Error) => void): Writable {
    let broken = false;
    const write = async (chunk: Buffer) => {
      const h = this.handle;
      if (broken || !h) return;
      for (let off = 0; off < chunk.length; ) {
        const { bytesWritten } = await h.write(chunk, off, chunk.length - off, this.position);
        off += bytesWritten;
        this.position += bytesWritten;
      }
    };
    const fail = (err: unknown) => {
      if (broken) return;
      broken = true;
      failed(err as Error);
    };
    return new Writable({
      highWaterMark: 1 << 20,
      write: (chunk: Buffer, _enc, cb) =>
        void write(chunk)
          .catch(fail)
          .finally(() => {
            counted(chunk.length);
            cb();
          }),
      final: (cb) => void this.close().catch(fail).finally(() => cb()),
      destroy: (err, cb) => void this.close().catch(() => undefined).finally(() => cb(err)),
    });
  }

  private async close(): Promise<void> {
    const h = this.handle;
    this.handle = null;
    await h?.close();
  }

  /** PRAGMA integrity_check of the copy, read-only, on a worker thread (a large database takes a while; the console keeps serving). */
  check(signal?: AbortSignal): Promise<IntegrityResult> {
    return integrityCheck(this.file, signal);
  }

  /** Closes and removes the copy and SQLite's side files. */
  async remove(): Promise<void> {
    await this.close().catch(() => undefined);
    for (const f of sideFiles(this.file)) await fsp.rm(f, { force: true });
  }
}

export type IntegrityResult = { ok: boolean; result: string };

/**
 * SQLite's own check of a database file, opened read-only. "ok" when it
 * finds nothing; otherwise what it found (up to SQLite's 100 messages), or
 * the error that kept it from reading the file at all ("file is not a
 * database", "database disk image is malformed").
 */
const CHECK_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require('better-sqlite3');
let db;
try {
  db = new Database(workerData.file, { readonly: true, fileMustExist: true });
  const rows = db.pragma('integrity_check');
  const text = rows.map((r) => String(r.integrity_check)).join('; ');
  parentPort.postMessage({ ok: text === 'ok', result: text });
} catch (e) {
  parentPort.postMessage({ ok: false, result: String(e && e.message || e) });
} finally {
  try { db && db.close(); } catch {}
}
`;

export function integrityCheck(file: string, signal?: AbortSignal): Promise<IntegrityResult> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    // Evaluated from source, so that no bundler needs to know about a worker file; better-sqlite3 resolves from the app's folder.
    const worker = new Worker(CHECK_SOURCE, { eval: true, workerData: { file } });
    let settled = false;
    const onAbort = () => {
      settle(() => reject(signal!.reason));
      void worker.terminate();
    };
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (m: IntegrityResult) => settle(() => resolve({ ok: Boolean(m.ok), result: String(m.result) })));
    worker.once('error', (err) => settle(() => reject(err)));
    worker.once('exit', (code) => settle(() => reject(new Error(`the integrity check stopped (exit ${code})`))));
  });
}

/** At start: copies left by a process that was killed mid-verification. Returns how many files were removed. */
export function removeDatabaseCopyLeftovers(): number {
  const dir = copyFolder();
  let removed = 0;
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (!f.startsWith(COPY_PREFIX)) continue;
    fs.rmSync(path.join(dir, f), { force: true });
    removed++;
  }
  return removed;
}
