import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Real "USB drives" for tests, without udev: disk images (sparse files)
 * partitioned with sgdisk (GPT) or a hand-written MBR, attached as loop devices
 * (`losetup -f --show`), partition nodes made with `partx -a`, formatted
 * with mkfs.ext4 / mkfs.exfat (or mkfs.vfat / nothing). The console finds
 * them because the harness sets WEBCONF_USB_DEVICES to exactly the loop
 * names it attached (updated on every attach/detach) and
 * WEBCONF_USB_MOUNT_ROOT to a temp folder.
 *
 * Cleanup always runs (cleanup() in afterAll/finally, and on process exit):
 * everything mounted under the harness's folders is unmounted, its loop
 * devices detached, its images removed. Loop devices left by an earlier,
 * killed run (their backing file lies in a webconf-usb-drives-* folder under
 * the temp dir) are detached at start. Needs root.
 */

export const canUseLoopDevices = process.getuid?.() === 0 && ['sgdisk', 'mkfs.exfat', 'mkfs.ext4', 'losetup', 'partx', 'blkid'].every(has);

function has(tool: string): boolean {
  return ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].some((d) => fs.existsSync(path.join(d, tool)));
}

function sh(file: string, args: string[], input?: string): string {
  return execFileSync(file, args, { encoding: 'utf8', input, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
}

const PREFIX = 'webconf-usb-drives-';

export type FsKind = 'ext4' | 'exfat' | 'ext3' | 'none';
export type DriveSpec = { label?: string; fs: FsKind; sizeMiB?: number; table?: 'gpt' | 'dos' };

export type TestDrive = {
  image: string;
  spec: DriveSpec;
  /** Today's loop device (/dev/loopN) and its first partition (/dev/loopNp1); null while detached. */
  loop: string | null;
  partition: string | null;
  uuid: string | null;
};

function loopsBackedBy(dirPrefix: string): string[] {
  // losetup -l -n -O NAME,BACK-FILE: one "NAME BACKFILE" per line.
  const out = sh('losetup', ['-l', '-n', '-O', 'NAME,BACK-FILE']);
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/, 2) as [string, string?])
    .filter(([name, back]) => name && back && back.startsWith(dirPrefix))
    .map(([name]) => name);
}

function unmountUnder(dir: string): void {
  const lines = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const points = lines
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const p of points) {
    try {
      sh('umount', [p]);
    } catch {
      /* busy or gone: the next cleanup step says what is left */
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Cleans up after earlier killed runs: every webconf-usb-drives-* folder in the temp
 * dir whose owner (owner.pid) is no longer running gets its mounts
 * unmounted, its loop devices (backing file inside it) detached, and is
 * removed. Folders of live harnesses are left alone.
 */
export function removeStaleLoopDevices(): string[] {
  const tmp = os.tmpdir();
  const removed: string[] = [];
  for (const entry of fs.readdirSync(tmp).filter((n) => n.startsWith(PREFIX))) {
    const dir = path.join(tmp, entry);
    // Only folders a harness made (owner.pid, or disk images if it died before writing one).
    if (!fs.readdirSync(dir).some((n) => n === 'owner.pid' || n.endsWith('.img'))) continue;
    let pid = 0;
    try {
      pid = Number(fs.readFileSync(path.join(dir, 'owner.pid'), 'utf8').trim()) || 0;
    } catch {
      /* no owner file: a run killed before it wrote one */
    }
    if (pid && alive(pid)) continue;
    releaseFolder(dir);
    removed.push(dir);
  }
  return removed;
}

/** Unmounts everything under dir, detaches the loop devices whose image is in it, removes it. */
function releaseFolder(dir: string): void {
  unmountUnder(dir);
  for (const loop of loopsBackedBy(`${dir}/`)) {
    for (const m of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const parts = m.split(' ');
      const dash = parts.indexOf('-', 6);
      if (dash > 0 && (parts[dash + 2] === loop || parts[dash + 2]?.startsWith(`${loop}p`))) {
        try {
          sh('umount', [parts[4]!]);
        } catch {
          /* best effort: losetup -d then only marks it for autoclear */
        }
      }
    }
    dropPartitions(loop);
    try {
      sh('losetup', ['-d', loop]);
    } catch {
      /* already gone */
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * An MBR (DOS) partition table with one Linux partition (type 0x83) from
 * sector 2048 to the end: 446 bytes of boot code (zero), four 16-byte entries
 * (status, CHS start, type, CHS end, LBA start u32le, sector count u32le),
 * then 0x55 0xAA. CHS fields hold the "use LBA" filler FE FF FF.
 */
function writeMbr(image: string, sizeBytes: number): void {
  const mbr = Buffer.alloc(512);
  const e = 446;
  mbr.set([0x00, 0xfe, 0xff, 0xff, 0x83, 0xfe, 0xff, 0xff], e);
  mbr.writeUInt32LE(2048, e + 8);
  mbr.writeUInt32LE(sizeBytes / 512 - 2048, e + 12);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  const fd = fs.openSync(image, 'r+');
  try {
    fs.writeSync(fd, mbr, 0, 512, 0);
  } finally {
    fs.closeSync(fd);
  }
}

/** Drops the kernel's partitions of a loop device: losetup -d leaves partitions made by partx behind, and the next image on that loop would inherit them. */
function dropPartitions(loop: string): void {
  try {
    sh('partx', ['-d', loop]);
  } catch {
    /* none */
  }
}

export class UsbDriveHarness {
  readonly dir: string;
  readonly mountRoot: string;
  /** Where the harness itself mounts (to fill a drive); never the console's mount root. */
  private readonly scratch: string;
  readonly drives: TestDrive[] = [];
  private readonly onExit = () => this.cleanup();

  constructor() {
    removeStaleLoopDevices();
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
    fs.writeFileSync(path.join(this.dir, 'owner.pid'), String(process.pid));
    this.mountRoot = path.join(this.dir, 'mnt');
    this.scratch = path.join(this.dir, 'scratch');
    fs.mkdirSync(this.mountRoot);
    fs.mkdirSync(this.scratch);
    process.env.WEBCONF_USB_MOUNT_ROOT = this.mountRoot;
    this.updateEnv();
    process.once('exit', this.onExit);
  }

  /** WEBCONF_USB_DEVICES: exactly the loop devices attached now (a non-matching name when none). */
  updateEnv(): void {
    const names = this.drives.filter((d) => d.loop).map((d) => path.basename(d.loop!));
    process.env.WEBCONF_USB_DEVICES = names.length ? names.join(',') : 'none';
  }

  /** Makes an image, partitions it (one partition over the whole disk), attaches and formats it. */
  create(spec: DriveSpec): TestDrive {
    const image = path.join(this.dir, `disk${this.drives.length}.img`);
    sh('truncate', ['-s', `${spec.sizeMiB ?? 64}M`, image]);
    if ((spec.table ?? 'gpt') === 'gpt') {
      const code = spec.fs === 'ext4' ? '8300' : '0700';
      sh('sgdisk', ['-n', '1:0:0', '-t', `1:${code}`, image]);
    } else {
      writeMbr(image, (spec.sizeMiB ?? 64) << 20);
    }
    const drive: TestDrive = { image, spec, loop: null, partition: null, uuid: null };
    this.drives.push(drive);
    this.attach(drive);
    const part = drive.partition!;
    const label = spec.label;
    if (spec.fs === 'ext4') sh('mkfs.ext4', ['-q', '-F', '-m', '0', ...(label ? ['-L', label] : []), part]);
    else if (spec.fs === 'exfat') sh('mkfs.exfat', [...(label ? ['-L', label] : []), part]);
    else if (spec.fs === 'ext3') sh('mkfs.ext3', ['-q', '-F', ...(label ? ['-L', label] : []), part]);
    if (spec.fs !== 'none') drive.uuid = this.blkid(part).UUID ?? null;
    return drive;
  }

  blkid(device: string): Record<string, string> {
    let out = '';
    try {
      out = sh('blkid', ['-p', '-o', 'export', device]);
    } catch {
      return {};
    }
    return Object.fromEntries(out.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/\\(.)/g, '$1')]));
  }

  /** Attaches the image to a free loop device and makes its partition nodes (no udev: partx). */
  attach(drive: TestDrive): void {
    if (drive.loop) return;
    const loop = sh('losetup', ['-f', '--show', drive.image]).trim();
    drive.loop = loop;
    dropPartitions(loop);
    sh('partx', ['-a', loop]);
    drive.partition = `${loop}p1`;
    for (let i = 0; i < 50 && !fs.existsSync(drive.partition); i++) execFileSync('sleep', ['0.05']);
    this.updateEnv();
  }

  /** Detaches the loop device (the "drive is pulled"). Anything the harness mounted from it is unmounted first. */
  detach(drive: TestDrive): void {
    if (!drive.loop) return;
    dropPartitions(drive.loop);
    sh('losetup', ['-d', drive.loop]);
    // losetup -d on a busy device only marks it for autoclear: wait until it is really gone.
    const name = path.basename(drive.loop);
    for (let i = 0; i < 100 && Number(fs.readFileSync(`/sys/block/${name}/size`, 'utf8')) > 0; i++) execFileSync('sleep', ['0.05']);
    drive.loop = null;
    drive.partition = null;
    this.updateEnv();
  }

  /** Mounts the partition on the harness's scratch folder, writes until ENOSPC, unmounts. */
  /** Mounts the drive in the harness' own scratch folder, runs `fn` on it, unmounts (always). */
  withMounted(drive: TestDrive, fn: (dir: string) => void): void {
    const dir = path.join(this.scratch, path.basename(drive.image));
    fs.mkdirSync(dir, { recursive: true });
    if (drive.spec.fs === 'exfat') sh('mount.exfat-fuse', [drive.partition!, dir]);
    else sh('mount', [drive.partition!, dir]);
    try {
      fn(dir);
    } finally {
      sh('umount', [dir]);
    }
  }

  fill(drive: TestDrive, keepFreeBytes = 0): void {
    this.withMounted(drive, (dir) => {
      const block = Buffer.alloc(1 << 20, 0xa5);
      const fd = fs.openSync(path.join(dir, 'filler.bin'), 'w');
      try {
        for (;;) fs.writeSync(fd, block);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
      // Fill the last partial megabyte too.
      try {
        for (;;) fs.writeSync(fd, block, 0, 4096);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
      fs.closeSync(fd);
      // Give back what the caller wants free (a drive "almost full" rather than full).
      if (keepFreeBytes > 0) {
        const st = fs.statSync(path.join(dir, 'filler.bin'));
        fs.truncateSync(path.join(dir, 'filler.bin'), Math.max(0, st.size - keepFreeBytes));
      }
    });
  }

  /** Mounted file systems under the console's mount root (from /proc/self/mountinfo). */
  mountsUnderRoot(): { mountPoint: string; options: string[]; fsType: string; source: string }[] {
    return fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const p = l.split(' ');
        const dash = p.indexOf('-', 6);
        return { mountPoint: p[4]!, options: p[5]!.split(','), fsType: p[dash + 1]!, source: p[dash + 2]! };
      })
      .filter((m) => m.mountPoint.startsWith(`${this.mountRoot}/`));
  }

  /** Unmounts everything under the harness folder, detaches its loop devices, removes the images. Safe to call twice. */
  cleanup(): void {
    releaseFolder(this.dir);
    for (const d of this.drives) {
      d.loop = null;
      d.partition = null;
    }
    process.removeListener('exit', this.onExit);
  }
}
