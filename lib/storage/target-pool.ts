import { processState } from '../process-state';
import type { StorageTarget } from './types';

/**
 * Storage targets the storage browser keeps open between requests, one per
 * location root: an NFS share costs a connection, a client id and a session
 * to open, a USB partition a mount. A target unused for IDLE_MS is closed
 * (an NFS session ended, a USB partition unmounted when nothing else uses
 * it). A target whose operation failed is dropped, so the next request
 * opens afresh (the server restarted, the drive came back).
 */
const IDLE_MS = 60_000;

/** Errors about one folder or file, not about the connection or the drive. */
const FOLDER_LEVEL = new Set(['ENOENT', 'EACCES', 'EPERM', 'ENOTDIR', 'EISDIR', 'ELOOP', 'NFS4ERR_NOENT', 'NFS4ERR_ACCESS', 'NFS4ERR_PERM', 'NFS4ERR_NOTDIR', 'NFS4ERR_SYMLINK', 'NFS4ERR_ISDIR', 'NFS4ERR_NAMETOOLONG', 'not_found', 'unprocessable', 'forbidden']);

type Pooled = { target: StorageTarget; users: number; dead: boolean; timer: ReturnType<typeof setTimeout> | null };
const pool = () => processState('storage.target-pool', () => new Map<string, Pooled>());

/** Runs `work` with the pooled target for `key`, opening it with `open` when there is none. */
export async function withPooledTarget<T>(key: string, open: () => StorageTarget, work: (t: StorageTarget) => Promise<T>): Promise<T> {
  const p = pool();
  let e = p.get(key);
  if (!e) {
    e = { target: open(), users: 0, dead: false, timer: null };
    p.set(key, e);
  }
  const entry = e;
  if (entry.timer) clearTimeout(entry.timer);
  entry.timer = null;
  entry.users++;
  try {
    return await work(entry.target);
  } catch (err) {
    // Not kept: the next request opens afresh (the server restarted, the drive came back). A refusal about one folder keeps it.
    if (!FOLDER_LEVEL.has((err as { code?: string }).code ?? '')) {
      entry.dead = true;
      if (p.get(key) === entry) p.delete(key);
    }
    throw err;
  } finally {
    entry.users--;
    if (entry.users === 0) {
      if (entry.dead) void entry.target.close().catch(() => undefined);
      else {
        entry.timer = setTimeout(() => {
          if (entry.users > 0) return;
          entry.dead = true;
          if (p.get(key) === entry) p.delete(key);
          void entry.target.close().catch(() => undefined);
        }, IDLE_MS);
        entry.timer.unref?.();
      }
    }
  }
}

/** Closes every pooled target whose key matches (eject, shutdown, tests). */
export async function closePooledTargets(match: (key: string) => boolean = () => true): Promise<void> {
  const p = pool();
  const closing: Promise<void>[] = [];
  for (const [key, e] of p) {
    if (!match(key)) continue;
    p.delete(key);
    e.dead = true;
    if (e.timer) clearTimeout(e.timer);
    if (e.users === 0) closing.push(e.target.close().catch(() => undefined));
  }
  await Promise.all(closing);
}
