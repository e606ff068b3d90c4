import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createFileWriter } from './direct-file';
import { StorageError, storageError } from './errors';
import { safeRelative } from './paths';
import { checkRange } from './read-range';
import type { AccessInfo, ReadRange, SpaceInfo, StorageEntry, StorageKind, StorageTarget, StorageWriter } from './types';

/**
 * A folder on a disk attached to the appliance (and the mounted partition of
 * a USB drive). New files are written with direct I/O where possible
 * (direct-file.ts) and fsync'ed before commit; renames never replace an existing file; the folder is fsync'ed after
 * a rename so the new name survives a power loss.
 */
export class LocalFolderTarget implements StorageTarget {
  readonly label: string;
  constructor(
    readonly root: string,
    readonly kind: StorageKind = 'local',
    label?: string,
  ) {
    this.label = label ?? `Local folder ${root}`;
  }

  private abs(name: string): string {
    return path.join(this.root, safeRelative(this.label, name));
  }

  private async wrap<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw storageError(this.label, operation, err);
    }
  }

  space(dir = ''): Promise<SpaceInfo> {
    // The folder's own file system: under file:/// a folder may be another disk's mount point.
    return this.wrap('read free space', () => folderSpace(this.abs(dir)));
  }

  access(dir = ''): Promise<AccessInfo> {
    return folderAccess(this.abs(dir));
  }

  list(dir = ''): Promise<StorageEntry[]> {
    return this.wrap(`list ${dir || '/'}`, async () => {
      const out = await listFolderEntries(this.abs(dir));
      return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }

  async stat(name: string): Promise<StorageEntry | null> {
    try {
      const st = await fsp.lstat(this.abs(name));
      return { name: path.posix.basename(name), type: st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other', size: st.size, modifiedMs: Math.round(st.mtimeMs) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw storageError(this.label, `stat ${name}`, err);
    }
  }

  create(name: string): Promise<StorageWriter> {
    return this.wrap(`create ${name}`, async () => {
      // Direct I/O where the file system allows it (direct-file.ts): a backup does not go through the page cache.
      return createFileWriter(this.abs(name), {
        write: (err) => storageError(this.label, `write ${name}`, err),
        flush: (err) => storageError(this.label, `flush ${name}`, err),
      });
    });
  }

  read(name: string, range: ReadRange = {}): Promise<Readable> {
    return this.wrap(`read ${name}`, async () => {
      const { start, end } = checkRange(range);
      const handle = await fsp.open(this.abs(name), 'r');
      if (end !== undefined && end <= start) {
        // An empty range (Node's streams cannot express it: their `end` is inclusive).
        await handle.close();
        return Readable.from([]);
      }
      // A short range reads in pieces of its own size, not 1 MiB.
      const highWaterMark = end === undefined ? 1 << 20 : Math.min(1 << 20, end - start);
      return handle.createReadStream({ highWaterMark, start, end: end === undefined ? undefined : end - 1 });
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.wrap(`rename ${from} to ${to}`, async () => {
      const src = this.abs(from);
      const dst = this.abs(to);
      try {
        // link + unlink: atomic, and refuses to replace an existing file.
        await fsp.link(src, dst);
        await fsp.unlink(src);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw err;
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
        // File systems without hard links (exFAT): check, then rename.
        if (await this.stat(to)) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
        await fsp.rename(src, dst);
      }
      await syncDir(path.dirname(dst));
    });
  }

  remove(name: string): Promise<void> {
    return this.wrap(`remove ${name}`, async () => {
      await fsp.rm(this.abs(name));
    });
  }

  localPath(name: string): string {
    return this.abs(name);
  }

  async close(): Promise<void> {}
}

/**
 * A folder's file-system space, access and entries by its path on this
 * machine: the target's folders, the storage browser's pinned folders
 * (/proc/self/fd/N) and a USB drive's mount all use these.
 */
export async function folderSpace(dir: string): Promise<SpaceInfo> {
  const s = await fsp.statfs(dir);
  const totalBytes = s.blocks * s.bsize;
  return { totalBytes, freeBytes: s.bavail * s.bsize, usedBytes: totalBytes - s.bfree * s.bsize };
}

export async function folderAccess(dir: string): Promise<AccessInfo> {
  const can = (mode: number) => fsp.access(dir, mode).then(() => true, () => false);
  return { read: await can(fs.constants.R_OK | fs.constants.X_OK), write: await can(fs.constants.W_OK | fs.constants.X_OK) };
}

/** The entries, unsorted; an entry gone between readdir and lstat is not listed. */
export async function listFolderEntries(dir: string): Promise<StorageEntry[]> {
  const names = await fsp.readdir(dir);
  const out: StorageEntry[] = [];
  // lstat in batches: ten thousand entries are not ten thousand trips to the thread pool one after another.
  for (let i = 0; i < names.length; i += 64) {
    const batch = names.slice(i, i + 64);
    const stats = await Promise.all(batch.map((name) => fsp.lstat(path.join(dir, name)).catch(() => null)));
    stats.forEach((st, j) => {
      if (st) out.push({ name: batch[j]!, type: st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other', size: st.size, modifiedMs: Math.round(st.mtimeMs) });
    });
  }
  return out;
}

async function syncDir(dir: string): Promise<void> {
  const h = await fsp.open(dir, 'r').catch(() => null);
  if (!h) return;
  try {
    await h.sync();
  } catch {
    /* some file systems cannot fsync a folder */
  } finally {
    await h.close();
  }
}

export { StorageError };
