import { execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { envSchema } from '../env';
import { DEVICE_PATTERN, UUID_PATTERN, parseMountinfo, type MountEntry } from './parse';

/**
 * The ONLY place that runs mount and umount (the privileged boundary: it can
 * later move behind a helper running as root with the same checks). It
 * accepts nothing but:
 *
 *   mount -t ext4 -o nosuid,nodev,noexec,nosymfollow[,ro] /dev/<name> <root>/<uuid>
 *     (nosymfollow: a symbolic link on a drive someone plugged in is never followed, so nothing
 *     the console writes or reads through the mount can land outside it; exFAT has no links)
 *   mount -t exfat -o nosuid,nodev,noexec,uid=U,gid=G,umask=077[,ro] /dev/<name> <root>/<uuid>   (kernel driver, if /proc/filesystems lists exfat)
 *   mount.exfat-fuse -o nosuid,nodev,noexec,uid=U,gid=G,umask=077[,ro] /dev/<name> <root>/<uuid>  (otherwise)
 *     then mount -o remount,bind,nosuid,nodev,noexec[,ro] <root>/<uuid>
 *     (libfuse 2 drops noexec from its options; a bind remount sets the per-mount flags)
 *   umount <root>/<uuid>        (never -l: a busy file system is reported busy)
 *
 * <root> is WEBCONF_USB_MOUNT_ROOT (default /run/webconf/usb), <uuid> the
 * file system's UUID: one folder per partition, whatever /dev name it has today.
 * U/G are the console's own uid/gid. Every command goes through execFile with
 * an argument array; requests are checked by `mountCommand`/`unmountCommand`
 * before anything runs, so the checks are unit-testable without root.
 */

const run = promisify(execFile);

export class MountRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MountRequestError';
  }
}

export type MountFsType = 'ext4' | 'exfat';
export type MountRequest = { device: string; dir: string; fsType: MountFsType; readOnly?: boolean };
export type Command = { file: string; args: string[] };

/** The mount root, read from the environment on every call (tests point it at a temp folder). */
export function mountRoot(): string {
  const parsed = envSchema.shape.WEBCONF_USB_MOUNT_ROOT.safeParse(process.env.WEBCONF_USB_MOUNT_ROOT);
  return path.resolve(parsed.success ? parsed.data : '/run/webconf/usb');
}

/** <root>/<uuid>: the one folder a partition is ever mounted on. */
export function mountPointFor(uuid: string): string {
  if (!UUID_PATTERN.test(uuid)) throw new MountRequestError(`${JSON.stringify(uuid)} is not a file system UUID.`);
  return path.join(mountRoot(), uuid);
}

function checkDir(dir: string): string {
  if (typeof dir !== 'string' || dir.includes('\0')) throw new MountRequestError('The mount folder is not a path.');
  const root = mountRoot();
  if (path.resolve(dir) !== dir || path.dirname(dir) !== root || !UUID_PATTERN.test(path.basename(dir))) {
    throw new MountRequestError(`The mount folder ${dir} is not <mount root>/<file system UUID> under ${root}.`);
  }
  return dir;
}

function checkDevice(device: string): string {
  if (typeof device !== 'string' || !DEVICE_PATTERN.test(device)) throw new MountRequestError(`${JSON.stringify(device)} is not a block device under /dev.`);
  return device;
}

function firstExisting(candidates: string[]): string {
  return candidates.find((c) => fs.existsSync(c)) ?? candidates[0]!;
}
const MOUNT = () => firstExisting(['/usr/bin/mount', '/bin/mount']);
const UMOUNT = () => firstExisting(['/usr/bin/umount', '/bin/umount']);
const EXFAT_FUSE = () => firstExisting(['/usr/sbin/mount.exfat-fuse', '/sbin/mount.exfat-fuse']);

export function kernelHasExfat(filesystems = readFileOr('/proc/filesystems')): boolean {
  return filesystems.split('\n').some((l) => l.trim().split(/\s+/).pop() === 'exfat');
}

function readFileOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The commands a mount request runs, in order; throws MountRequestError for anything outside the allowed list. */
export function mountCommands(req: MountRequest, opts: { kernelExfat?: boolean; uid?: number; gid?: number } = {}): Command[] {
  const device = checkDevice(req.device);
  const dir = checkDir(req.dir);
  const ro = req.readOnly === true ? ['ro'] : [];
  if (req.readOnly !== undefined && typeof req.readOnly !== 'boolean') throw new MountRequestError('readOnly must be true or false.');
  const base = ['nosuid', 'nodev', 'noexec'];
  if (req.fsType === 'ext4') return [{ file: MOUNT(), args: ['-t', 'ext4', '-o', [...base, 'nosymfollow', ...ro].join(','), device, dir] }];
  if (req.fsType === 'exfat') {
    const uid = opts.uid ?? process.getuid?.() ?? 0;
    const gid = opts.gid ?? process.getgid?.() ?? 0;
    if (!Number.isInteger(uid) || uid < 0 || !Number.isInteger(gid) || gid < 0) throw new MountRequestError('uid and gid must be whole numbers.');
    const options = [...base, `uid=${uid}`, `gid=${gid}`, 'umask=077', ...ro].join(',');
    if (opts.kernelExfat ?? kernelHasExfat()) return [{ file: MOUNT(), args: ['-t', 'exfat', '-o', options, device, dir] }];
    return [
      { file: EXFAT_FUSE(), args: ['-o', options, device, dir] },
      { file: MOUNT(), args: ['-o', ['remount', 'bind', ...base, ...ro].join(','), dir] },
    ];
  }
  throw new MountRequestError(`${JSON.stringify(req.fsType)} is not a file system the console mounts (ext4 or exfat).`);
}

export function unmountCommand(dir: string): Command {
  return { file: UMOUNT(), args: [checkDir(dir)] };
}

/** What is mounted now (this process's mount namespace). */
export async function readMounts(): Promise<MountEntry[]> {
  return parseMountinfo(await fsp.readFile('/proc/self/mountinfo', 'utf8'));
}

/** The mount on exactly this folder, if any (the last one wins, as the kernel shows it). */
export async function mountAt(dir: string): Promise<MountEntry | null> {
  const all = (await readMounts()).filter((m) => m.mountPoint === dir);
  return all.at(-1) ?? null;
}

function commandError(err: unknown): string {
  const e = err as { stderr?: string; message?: string; code?: string };
  if (e.code === 'ENOENT') return 'the mount tool is not installed';
  const text = (e.stderr || e.message || 'unknown error').trim().split('\n').filter(Boolean).pop() ?? 'unknown error';
  return text.replace(/^(mount|umount|mount\.exfat-fuse|FUSE exfat [^:]*):\s*/i, '');
}

/** Mounts a partition on its folder (made if missing). Failure: an Error in words; nothing stays mounted. */
export async function mountPartition(req: MountRequest): Promise<void> {
  const cmds = mountCommands(req);
  await fsp.mkdir(mountRoot(), { recursive: true, mode: 0o700 });
  await fsp.mkdir(req.dir, { recursive: true, mode: 0o700 });
  for (let i = 0; i < cmds.length; i++) {
    try {
      await run(cmds[i]!.file, cmds[i]!.args, { timeout: 30_000 });
    } catch (err) {
      if (i > 0) await run(unmountCommand(req.dir).file, unmountCommand(req.dir).args).catch(() => {});
      await fsp.rmdir(req.dir).catch(() => {});
      throw new Error(`could not mount ${req.device}: ${commandError(err)}`);
    }
  }
}

export class MountBusyError extends Error {
  constructor(dir: string) {
    super(`the file system on ${dir} is busy (a file or folder on it is still open)`);
    this.name = 'MountBusyError';
  }
}

/** Unmounts our folder (never lazily) and removes it. Not mounted: nothing to do. */
export async function unmountPartition(dir: string): Promise<void> {
  const cmd = unmountCommand(dir);
  if (!(await mountAt(dir))) {
    await fsp.rmdir(dir).catch(() => {});
    return;
  }
  try {
    await run(cmd.file, cmd.args, { timeout: 60_000 });
  } catch (err) {
    const why = commandError(err);
    if (/busy/i.test(why)) throw new MountBusyError(dir);
    throw new Error(`could not unmount ${dir}: ${why}`);
  }
  await fsp.rmdir(dir).catch(() => {});
}
