import type { Readable } from 'node:stream';

/**
 * What the backup engine, the storage browser, verify and restore need from
 * a storage target. Local folders, USB drives (a mounted partition) and NFS
 * shares (lib/nfs, no kernel mount) implement it. Names are paths relative
 * to the target's root, "/"-separated, never absolute and never with "..".
 */
export type StorageKind = 'local' | 'usb' | 'nfs';

export type StorageEntry = {
  name: string;
  type: 'file' | 'directory' | 'other';
  size: number;
  /** Milliseconds since 1970, or null: a number, not a Date (a folder of ten thousand entries would make ten thousand Dates, each slow to build under Next's patched Date). */
  modifiedMs: number | null;
};

export type SpaceInfo = { totalBytes: number; freeBytes: number; usedBytes: number };

export type AccessInfo = { read: boolean; write: boolean };

/** Bytes [start, end) of a file: start defaults to 0, end to the end of the file. */
export type ReadRange = { start?: number; end?: number };

/**
 * A file being written. Nothing is visible under a final name until the
 * engine renames it. `writeAt` writes at an offset (the backup writes its
 * body first and its header last), each byte at most once; it may be called again before an earlier
 * call settled, and the caller reuses `data` once its promise settled, so a
 * writer that keeps bytes past that point copies them; `commit` flushes to
 * stable storage and closes; `abort` closes and removes what was written.
 */
export type StorageWriter = {
  /** How many writeAt calls may be in flight at once (default 1: local disks serialise writes to a file anyway). */
  parallelWrites?: number;
  writeAt(offset: number, data: Buffer): Promise<void>;
  /** Makes every byte written so far visible to readers of the file (a writer may hold back partial blocks until then); commit() still makes them durable. */
  finishWrites?(): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
};

export interface StorageTarget {
  readonly kind: StorageKind;
  /** For people: "Local folder /srv/backups". */
  readonly label: string;
  /** Space of the file system holding the root, or folder `dir` inside it (an NFS server's namespace spans exports). */
  space(dir?: string): Promise<SpaceInfo>;
  /** What the console may do in the root, or in folder `dir` inside it. */
  access(dir?: string): Promise<AccessInfo>;
  list(dir?: string): Promise<StorageEntry[]>;
  stat(name: string): Promise<StorageEntry | null>;
  /** Creates a new file; fails if the name exists. */
  create(name: string): Promise<StorageWriter>;
  /**
   * The file's bytes as a stream: all of it, or the range [start, end) (end
   * exclusive; either may be left out). The stream ends early if the file
   * does; a range reads no more than its bytes from the device or server
   * (beyond what one I/O rounds up to), so a caller may read a prefix of a
   * large file cheaply.
   */
  read(name: string, range?: ReadRange): Promise<Readable>;
  /** Renames without replacing: fails if `to` exists. */
  rename(from: string, to: string): Promise<void>;
  remove(name: string): Promise<void>;
  /**
   * A check for the status panel that changes nothing (no mount): whether the
   * location is there, and its space if known without mounting. Targets
   * without it are checked with access() and space().
   */
  status?(): Promise<{ write: boolean | null; space: SpaceInfo | null }>;
  /** The file's path on this machine, for targets that have one (local folder, USB drive); lets workers read it directly. */
  localPath?(name: string): string;
  close(): Promise<void>;
}
