import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import { promisify } from 'node:util';
import { AppError } from '../errors';
import { processState } from '../process-state';
import { formatSize } from '../storage/format-size';
import { folderSpace } from '../storage/local-folder';
import type { SpaceInfo } from '../storage/types';
import { listUsbDisks, probeDevice } from './discovery';
import { MountBusyError, mountAt, mountPartition, mountPointFor, readMounts, unmountPartition, type MountFsType } from './mount';
import { parseDumpe2fsSpace, type BlkidExport } from './parse';

/**
 * USB drives as the console sees them: every partition of every USB disk,
 * known by its file system UUID (never by /dev/sdX, which changes on every
 * plug), with why it can or cannot hold backups.
 *
 * - Supported: a GPT-partitioned disk; a partition with ext4 or exFAT and a UUID.
 * - Hidden (supported, but not offered): a full partition, one with less than
 *   1 MiB or less than 0.1% of its size available (a backup could not even
 *   start there).
 * - Free space of a partition nobody mounted: ext4 from its superblock
 *   (`dumpe2fs -h`, no mount at all); exFAT has no such counter in a header
 *   we trust, so it is mounted read-only on its folder under the mount root
 *   for a statfs and unmounted right after (unless something uses it).
 *
 * The list is kept 3 minutes ("Webconf will fetch the USB drive every 3
 * minutes"); `refresh` probes afresh. Opening a target (UsbTarget) never uses
 * the cache: it probes the drive it needs.
 *
 * Mounts are per UUID at <mount root>/<uuid>, shared by everyone in this
 * process: `retain`/`release` count users (the storage browser and a backup
 * do not unmount under each other), writers are counted apart so an eject
 * can refuse while a backup writes. A per-UUID lock orders mount, unmount
 * and probe-then-mount steps.
 */

const run = promisify(execFile);
const CACHE_MS = 3 * 60_000;
export const FULL_BELOW_BYTES = 1 << 20;
export const FULL_BELOW_FRACTION = 0.001;

export type UsbPartition = {
  /** The file system UUID: the partition's identity. Null when it has no file system. */
  uuid: string | null;
  label: string | null;
  /** blkid's TYPE: "ext4", "exfat", "vfat"...; null when none was found. */
  fsType: string | null;
  /** Today's device node (changes on replug; never stored). */
  device: string;
  disk: string;
  sizeBytes: number;
  serial: string | null;
  vendor: string | null;
  model: string | null;
  supported: boolean;
  unsupportedReason: string | null;
  space: SpaceInfo | null;
  /** Why a supported partition is not offered as a backup location (e.g. full); null when offered. */
  hiddenReason: string | null;
  mounted: boolean;
  mountPoint: string | null;
};

export type UsbDisk = {
  name: string;
  device: string;
  sizeBytes: number;
  vendor: string | null;
  model: string | null;
  serial: string | null;
  /** blkid's PTTYPE on the disk: "gpt", "dos"...; null when it has none. */
  partitionTable: string | null;
  supported: boolean;
  unsupportedReason: string | null;
};

export type UsbDriveList = { checkedAt: Date; disks: UsbDisk[]; partitions: UsbPartition[] };

// ---- locks and use counts (module state: one per process) ----

// One per process, not per bundled copy of this module (process-state.ts): the browser's routes, the pages' server actions and the engine share them.
const state = processState('usb.drives', () => ({
  locks: new Map<string, Promise<unknown>>(),
  users: new Map<string, number>(),
  writers: new Map<string, number>(),
  cache: null as { at: number; value: Promise<UsbDriveList> } | null,
}));
const { locks, users, writers } = state;

/** Runs fn after every earlier step for this UUID finished. */
export function withDriveLock<T>(uuid: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(uuid) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const tail = next.catch(() => {});
  locks.set(uuid, tail);
  void tail.then(() => {
    if (locks.get(uuid) === tail) locks.delete(uuid);
  });
  return next;
}

export function retainDrive(uuid: string): void {
  users.set(uuid, (users.get(uuid) ?? 0) + 1);
}

/** One user fewer; the last one out unmounts (a busy file system stays mounted until the next release or eject). */
export async function releaseDrive(uuid: string): Promise<void> {
  const n = Math.max(0, (users.get(uuid) ?? 0) - 1);
  if (n === 0) users.delete(uuid);
  else users.set(uuid, n);
  if (n > 0 || (writers.get(uuid) ?? 0) > 0) return;
  await withDriveLock(uuid, async () => {
    if ((users.get(uuid) ?? 0) > 0) return;
    await unmountPartition(mountPointFor(uuid)).catch(() => {});
  });
}

export function beginWrite(uuid: string): () => void {
  writers.set(uuid, (writers.get(uuid) ?? 0) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const n = (writers.get(uuid) ?? 1) - 1;
    if (n <= 0) writers.delete(uuid);
    else writers.set(uuid, n);
  };
}

export function driveUsers(uuid: string): { users: number; writers: number } {
  return { users: users.get(uuid) ?? 0, writers: writers.get(uuid) ?? 0 };
}

// ---- discovery ----

function tableName(pttype: string): string {
  return pttype === 'dos' ? 'an MBR (DOS)' : `a ${pttype}`;
}

function isSupportedFs(t: string | null | undefined): t is MountFsType {
  return t === 'ext4' || t === 'exfat';
}

export function fullReason(space: SpaceInfo | null): string | null {
  if (!space) return null;
  if (space.freeBytes < FULL_BELOW_BYTES || space.freeBytes < space.totalBytes * FULL_BELOW_FRACTION) {
    return `The drive is full: ${formatSize(space.freeBytes)} free`;
  }
  return null;
}



/** Free space of one partition (see the module comment for how, mounted or not). Null when it cannot be read. */
/**
 * Free space without mounting anything: statfs of our mount when it is
 * mounted, the ext4 superblock (dumpe2fs) otherwise; null for an unmounted
 * exFAT partition (its free count needs a mount). For status checks that
 * run every few seconds and must not mount a drive an admin just ejected.
 */
export async function spaceWithoutMount(p: UsbPartition): Promise<SpaceInfo | null> {
  if (!p.mountPoint && p.fsType !== 'ext4') return null;
  return partitionSpace(p);
}

async function partitionSpace(p: UsbPartition): Promise<SpaceInfo | null> {
  try {
    if (p.mountPoint) return await folderSpace(p.mountPoint);
    if (p.fsType === 'ext4') {
      const { stdout } = await run('dumpe2fs', ['-h', p.device], { timeout: 15_000 });
      return parseDumpe2fsSpace(stdout);
    }
    if (p.fsType === 'exfat' && p.uuid) {
      const uuid = p.uuid;
      return await withDriveLock(uuid, async () => {
        const dir = mountPointFor(uuid);
        const existing = await mountAt(dir);
        if (existing) return folderSpace(dir);
        await mountPartition({ device: p.device, dir, fsType: 'exfat', readOnly: true });
        try {
          return await folderSpace(dir);
        } finally {
          await unmountPartition(dir).catch(() => {});
        }
      });
    }
  } catch {
    /* unreadable space: the partition is listed without it */
  }
  return null;
}

/** Probes every USB disk and partition now. withSpace also reads free space (may mount exFAT briefly). */
export async function probeUsbDrives(opts: { withSpace?: boolean } = {}): Promise<UsbDriveList> {
  const disks: UsbDisk[] = [];
  const partitions: UsbPartition[] = [];
  const mounts = await readMounts();
  for (const d of await listUsbDisks()) {
    let probeError: string | null = null;
    const probe: BlkidExport = await probeDevice(d.device).catch((err: Error) => {
      probeError = err.message;
      return {};
    });
    const table = probe.PTTYPE ?? null;
    const wholeDiskFs = probe.TYPE ?? null;
    let diskReason: string | null = null;
    if (probeError) diskReason = probeError;
    else if (table !== 'gpt') {
      diskReason = table ? `not GPT partitioned (it has ${tableName(table)} partition table)` : wholeDiskFs ? `not GPT partitioned (the whole disk holds a ${wholeDiskFs} file system)` : 'not GPT partitioned (it has no partition table)';
    } else if (d.partitions.length === 0) diskReason = 'it has no partitions';
    disks.push({ name: d.name, device: d.device, sizeBytes: d.sizeBytes, vendor: d.vendor, model: d.model, serial: d.serial, partitionTable: table, supported: diskReason === null, unsupportedReason: diskReason });
    for (const part of d.partitions) {
      let partError = '';
      const fs: BlkidExport | null = await probeDevice(part.device).catch((err: Error) => {
        partError = err.message;
        return null;
      });
      let reason: string | null = null;
      if (table !== 'gpt') reason = 'the drive is not GPT partitioned';
      else if (!fs) reason = partError;
      else if (fs.USAGE && fs.USAGE !== 'filesystem') reason = `it holds ${fs.TYPE ?? fs.USAGE} data, not a file system (use ext4 or exFAT)`;
      else if (!fs.TYPE) reason = 'it holds no file system (format it with ext4 or exFAT)';
      else if (!isSupportedFs(fs.TYPE)) reason = `${fs.TYPE} is not supported (use ext4 or exFAT)`;
      else if (!fs.UUID) reason = 'its file system has no UUID';
      const mount = mounts.filter((m) => m.source === part.device).at(-1) ?? null;
      partitions.push({
        uuid: fs?.UUID ?? null,
        label: fs?.LABEL ?? null,
        fsType: fs?.TYPE ?? null,
        device: part.device,
        disk: d.name,
        sizeBytes: part.sizeBytes,
        serial: d.serial,
        vendor: d.vendor,
        model: d.model,
        supported: reason === null,
        unsupportedReason: reason,
        space: null,
        hiddenReason: null,
        mounted: mount !== null,
        mountPoint: mount?.mountPoint ?? null,
      });
    }
  }
  // Two partitions with one UUID (a cloned drive): neither can be told apart, so neither is used.
  const seen = new Map<string, number>();
  for (const p of partitions) if (p.uuid) seen.set(p.uuid, (seen.get(p.uuid) ?? 0) + 1);
  for (const p of partitions) {
    if (p.uuid && (seen.get(p.uuid) ?? 0) > 1 && p.supported) {
      p.supported = false;
      p.unsupportedReason = `another attached partition has the same file system UUID ${p.uuid} (a cloned drive); attach only one of them`;
    }
  }
  if (opts.withSpace) {
    for (const p of partitions) {
      if (!p.supported) continue;
      p.space = await partitionSpace(p);
      p.hiddenReason = fullReason(p.space);
    }
  }
  return { checkedAt: new Date(), disks, partitions };
}

/** The USB drives, kept 3 minutes; `refresh: true` probes afresh. Concurrent callers share one probe. */
export async function listUsbDrives(opts: { refresh?: boolean } = {}): Promise<UsbDriveList> {
  if (!opts.refresh && state.cache && Date.now() - state.cache.at < CACHE_MS) return state.cache.value;
  const value = probeUsbDrives({ withSpace: true });
  state.cache = { at: Date.now(), value };
  value.catch(() => {
    if (state.cache?.value === value) state.cache = null;
  });
  return value;
}

/** Forgets the cached list (after an eject, a mount, a format). */
export function invalidateUsbDriveList(): void {
  state.cache = null;
}

function describe(p: { label: string | null; uuid: string | null }): string {
  return p.label ? `USB drive ${p.label} (${p.uuid})` : `USB drive ${p.uuid}`;
}

/**
 * The supported partition with this UUID (case-insensitive) or label (exact),
 * with its free space and hiddenReason. A label that several drives carry is
 * an error in words (choose by UUID); so are nothing found and an unsupported
 * partition (AppError). Probes afresh, not the 3-minute list.
 */
export async function findUsbPartition(labelOrUuid: string): Promise<UsbPartition & { uuid: string }> {
  const wanted = labelOrUuid.trim();
  if (!wanted) throw new AppError('bad_request', 'Name the USB drive by its label or file system UUID.');
  const { partitions } = await probeUsbDrives();
  const byUuid = partitions.filter((p) => p.uuid && p.uuid.toLowerCase() === wanted.toLowerCase());
  const byLabel = partitions.filter((p) => p.label === wanted);
  const found = byUuid.length ? byUuid : byLabel;
  if (found.length === 0) throw new AppError('not_found', `No USB drive with the label or UUID ${wanted} is attached.`);
  if (found.length > 1) {
    throw new AppError('conflict', `${found.length} attached USB drives are labelled ${wanted} (${found.map((p) => p.uuid ?? p.device).join(', ')}); choose one by its UUID.`);
  }
  const p = found[0]!;
  if (!p.supported || !p.uuid) throw new AppError('unprocessable', `${describe(p)} cannot hold backups: ${p.unsupportedReason}.`);
  // Space for this one partition only (ext4: its superblock; exFAT: a short read-only mount).
  p.space = await partitionSpace(p);
  p.hiddenReason = fullReason(p.space);
  return { ...p, uuid: p.uuid };
}

/**
 * Makes sure the partition with this UUID is attached and mounted at
 * <mount root>/<uuid>; returns the mount folder. A mount left by a drive
 * that was pulled (its device gone, or now another file system) is
 * unmounted first (never lazily). Where both serials are known, a drive
 * whose serial differs is refused (a copied file system). `retain` counts
 * one more user inside the lock. Errors are plain sentences (the target
 * wraps them): "the USB drive ... is not attached".
 */
export async function attachDrive(uuid: string, name: string, opts: { serial?: string | null; retain?: boolean } = {}): Promise<string> {
  return withDriveLock(uuid, async () => {
    const dir = mountPointFor(uuid);
    const { partitions } = await probeUsbDrives();
    const p = partitions.find((x) => x.uuid === uuid) ?? null;
    if (p && opts.serial && p.serial && p.serial !== opts.serial) {
      // Same file system UUID on another drive (a copied image): not the drive that was configured.
      throw new Error(`the attached drive with file system ${uuid} has serial ${p.serial}, not ${opts.serial}: it is another drive with a copy of the file system`);
    }
    const mounted = await mountAt(dir);
    if (mounted && (!p || mounted.source !== p.device)) {
      // Stale: the drive went away under its mount. Unmount it before saying anything else.
      try {
        await unmountPartition(dir);
      } catch (err) {
        if (err instanceof MountBusyError) throw new Error(`${name} was pulled out while in use and its old mount is still busy; close what uses it and try again`);
        throw err;
      }
      invalidateUsbDriveList();
    }
    if (!p) throw new Error(`the ${name} is not attached`);
    if (!p.supported) throw new Error(`the ${name} cannot hold backups: ${p.unsupportedReason}`);
    if (!mounted || mounted.source !== p.device) {
      if (p.mounted && p.fsType === 'exfat') {
        // Two FUSE daemons on one exFAT device would corrupt it.
        throw new Error(`the ${name} is mounted elsewhere (${p.mountPoint}); unmount it there first`);
      }
      await mountPartition({ device: p.device, dir, fsType: p.fsType as MountFsType });
      invalidateUsbDriveList();
    }
    // Counted inside the lock: a release cannot unmount between this mount and its first use.
    if (opts.retain) retainDrive(uuid);
    return dir;
  });
}

/**
 * Unmounts the drive so it can be pulled. Refused in words while a backup
 * writes to it (counted writers, or the caller's `busy` check) and when the
 * file system is busy; never a lazy unmount.
 */
export async function ejectUsbDrive(uuid: string, opts: { busy?: () => string | null } = {}): Promise<{ unmounted: boolean; message: string }> {
  let dir: string;
  try {
    dir = mountPointFor(uuid);
  } catch {
    throw new AppError('bad_request', `${JSON.stringify(uuid)} is not a file system UUID.`);
  }
  const name = `USB drive ${uuid}`;
  return withDriveLock(uuid, async () => {
    if ((writers.get(uuid) ?? 0) > 0) throw new AppError('conflict', `A backup is being written to the ${name}; eject it when the backup has finished.`);
    const busy = opts.busy?.();
    if (busy) throw new AppError('conflict', `The ${name} cannot be ejected now: ${busy}`);
    if (!(await mountAt(dir))) return { unmounted: false, message: `The ${name} is not mounted; it can be pulled out.` };
    try {
      await unmountPartition(dir);
    } catch (err) {
      if (err instanceof MountBusyError) throw new AppError('conflict', `The ${name} is busy (a file or folder on it is still open); it stays mounted. Try again when nothing uses it.`);
      throw new AppError('internal', `The ${name} could not be unmounted: ${(err as Error).message}.`);
    } finally {
      invalidateUsbDriveList();
    }
    return { unmounted: true, message: `The ${name} was unmounted; it can be pulled out.` };
  });
}
