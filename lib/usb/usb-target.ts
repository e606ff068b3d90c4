import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LocalFolderTarget } from '../storage/local-folder';
import { StorageError } from '../storage/errors';
import { safeRelative } from '../storage/paths';
import type { AccessInfo, ReadRange, SpaceInfo, StorageEntry, StorageTarget, StorageWriter } from '../storage/types';
import { attachDrive, beginWrite, probeUsbDrives, releaseDrive, spaceWithoutMount } from './drives';
import { mountPointFor } from './mount';
import { UUID_PATTERN } from './parse';


export type UsbTargetConfig = { uuid: string; path: string; label?: string | null; serial?: string | null };

/** "USB drive BACKUP (1234-ABCD)", or "USB drive 1234-ABCD" without a label. */
export function usbDriveLabel(c: { uuid: string; label?: string | null }): string {
  return c.label ? `USB drive ${c.label} (${c.uuid})` : `USB drive ${c.uuid}`;
}

/** The drive and the folder on it, for people: "USB drive BACKUP (1234-ABCD), folder appliance/site-a". */
export function usbLocationLabel(c: UsbTargetConfig): string {
  const folder = c.path.replace(/^\/+|\/+$/g, '');
  return `${usbDriveLabel(c)}${folder ? `, folder ${folder}` : ''}`;
}

/**
 * The folder on the partition: relative, "/"-separated; "..", "." parts, NUL
 * and backslashes are refused (not silently clamped at the root).
 */
function usbFolder(label: string, folder: string): string {
  const parts = folder.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '..' || p === '.')) throw new StorageError(label, 'resolve', 'the folder may not contain "." or ".." parts');
  if (folder.includes('\\')) throw new StorageError(label, 'resolve', 'use "/" between folders, not "\\"');
  return safeRelative(label, parts.join('/'));
}

/**
 * A folder on a USB drive's partition, known by the file system UUID. Every
 * operation first probes for that UUID (not the 3-minute list: a fresh,
 * cheap sysfs + blkid look) and mounts it on demand at <mount root>/<uuid>,
 * then delegates to a LocalFolderTarget rooted at <mount>/<path>, so writes
 * take the same direct-I/O path as a local disk (exFAT over FUSE refuses
 * O_DIRECT and falls back by itself). A drive that is not attached fails in
 * words; one that comes back (same UUID, any /dev name) just works again.
 * The target holds one use of the mount from its first operation until
 * close(); the last user's close unmounts.
 */
export class UsbTarget implements StorageTarget {
  readonly kind = 'usb' as const;
  readonly label: string;
  private readonly uuid: string;
  private readonly folder: string;
  private retained = false;
  private closed = false;

  constructor(readonly config: UsbTargetConfig) {
    this.uuid = config.uuid;
    this.label = usbDriveLabel(config);
    this.folder = usbFolder(this.label, config.path ?? '');
  }

  /** Attached and mounted now: the LocalFolderTarget for this operation. */
  private async local(operation: string): Promise<LocalFolderTarget> {
    if (!UUID_PATTERN.test(this.uuid)) throw new StorageError(this.label, operation, `"${this.uuid}" is not a file system UUID`);
    if (this.closed) throw new StorageError(this.label, operation, 'the storage location was closed');
    let dir: string;
    const retain = !this.retained;
    if (retain) this.retained = true;
    try {
      dir = await attachDrive(this.uuid, this.label, { serial: this.config.serial ?? null, retain });
    } catch (err) {
      if (retain) this.retained = false;
      throw new StorageError(this.label, operation, (err as Error).message);
    }
    const root = path.join(dir, this.folder);
    if (this.folder) await this.checkInside(dir, root, operation);
    return new LocalFolderTarget(root, 'usb', this.label);
  }

  /**
   * The folder's real path must lie on the drive. ext4 is mounted with
   * nosymfollow (mount.ts), so the kernel follows no link on it; this is the
   * second line, for a folder reached through a link all the same.
   */
  private async checkInside(mount: string, folder: string, operation: string): Promise<void> {
    let real: string;
    try {
      real = await fsp.realpath(folder);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // the operation says "does not exist"
      throw new StorageError(this.label, operation, 'the folder cannot be resolved on the drive', (err as NodeJS.ErrnoException).code);
    }
    const rel = path.relative(await fsp.realpath(mount), real);
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new StorageError(this.label, operation, `the folder ${this.folder} leads outside the drive (a symbolic link)`, 'EXDEV');
  }

  /**
   * For the status panel: attached (a fresh probe), and the space without
   * mounting (spaceWithoutMount). A drive an admin ejected stays unmounted
   * while the Backup page polls; whether it is writable is known once a
   * backup or the browser mounts it (write: null until then).
   */
  async status(): Promise<{ write: boolean | null; space: SpaceInfo | null }> {
    const { partitions } = await probeUsbDrives();
    const p = partitions.find((x) => x.uuid?.toLowerCase() === this.uuid.toLowerCase());
    if (!p) throw new StorageError(this.label, 'check', `the ${this.label} is not attached`);
    if (!p.supported) throw new StorageError(this.label, 'check', `the ${this.label} cannot hold backups: ${p.unsupportedReason}`);
    if (p.mountPoint === mountPointFor(this.uuid)) {
      const local = await this.local('check');
      return { write: (await local.access()).write, space: await local.space() };
    }
    return { write: null, space: await spaceWithoutMount(p) };
  }

  async space(dir = ''): Promise<SpaceInfo> {
    return (await this.local('read free space')).space(dir);
  }

  async access(dir = ''): Promise<AccessInfo> {
    const local = await this.local('check access');
    const st = await local.stat(dir);
    const where = [this.folder, dir].filter(Boolean).join('/');
    if (!st || st.type !== 'directory') throw new StorageError(this.label, 'check access', `the folder ${where || '/'} does not exist on the drive`);
    return local.access(dir);
  }

  async list(dir = ''): Promise<StorageEntry[]> {
    return (await this.local(`list ${dir || '/'}`)).list(dir);
  }

  async stat(name: string): Promise<StorageEntry | null> {
    return (await this.local(`stat ${name}`)).stat(name);
  }

  /** The writer counts as a backup writing to the drive (an eject is refused) until it commits or aborts. */
  async create(name: string): Promise<StorageWriter> {
    const local = await this.local(`create ${name}`);
    const done = beginWrite(this.uuid);
    let inner: StorageWriter;
    try {
      inner = await local.create(name);
    } catch (err) {
      done();
      throw err;
    }
    const writer: StorageWriter = {
      parallelWrites: inner.parallelWrites,
      writeAt: (offset, data) => inner.writeAt(offset, data),
      commit: () => inner.commit().finally(done),
      abort: () => inner.abort().finally(done),
    };
    if (inner.finishWrites) writer.finishWrites = () => inner.finishWrites!();
    return writer;
  }

  async read(name: string, range?: ReadRange): Promise<Readable> {
    return (await this.local(`read ${name}`)).read(name, range);
  }

  async rename(from: string, to: string): Promise<void> {
    return (await this.local(`rename ${from} to ${to}`)).rename(from, to);
  }

  async remove(name: string): Promise<void> {
    return (await this.local(`remove ${name}`)).remove(name);
  }

  /** Where the file is while the drive is mounted (the mount folder is fixed per UUID). */
  localPath(name: string): string {
    return path.join(mountPointFor(this.uuid), this.folder, safeRelative(this.label, name));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (!this.retained) return;
    this.retained = false;
    await releaseDrive(this.uuid);
  }
}
