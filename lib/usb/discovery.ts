import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { matchesDevicePattern, parseBlkidExport, usbDevicePatternsSchema, type BlkidExport } from './parse';

/**
 * Finds USB drives without udev, from sysfs and the devices themselves:
 *
 * - Disks are the entries of /sys/block; a disk's partitions are the
 *   sub-folders /sys/block/<disk>/<disk>* that hold a `partition` file.
 *   Sizes are in 512-byte sectors (`size`), whatever the device's block size.
 * - A disk is a USB drive when its device path (the realpath of
 *   /sys/block/<disk>, which runs through its parents: PCI controller, USB
 *   hub, port...) passes a USB bus ("/usb" in the path) or another hotplug
 *   transport (Thunderbolt, FireWire); or when its name matches
 *   WEBCONF_USB_DEVICES (so tests can offer loop devices). The `removable`
 *   flag alone does not count: card readers and some internal disks set it,
 *   many USB disks do not.
 * - vendor/model come from <disk>/device/{vendor,model}; the serial from
 *   <disk>/device/serial or from the nearest USB device folder above it
 *   (the one with idVendor and serial).
 * - Partition table and file systems are probed from the devices with
 *   `blkid -p -o export` (low-level probing: no cache, no udev database).
 */

const run = promisify(execFile);

export type SysDisk = {
  name: string;
  device: string;
  sizeBytes: number;
  vendor: string | null;
  model: string | null;
  serial: string | null;
  partitions: { name: string; device: string; sizeBytes: number; number: number | null }[];
};

async function readText(file: string): Promise<string | null> {
  try {
    const s = (await fsp.readFile(file, 'utf8')).trim();
    return s === '' ? null : s;
  } catch {
    return null;
  }
}

async function readSectors(file: string): Promise<number> {
  const n = Number(await readText(file));
  return Number.isFinite(n) && n > 0 ? n * 512 : 0;
}

/** The device patterns from WEBCONF_USB_DEVICES, read on every discovery (a bad value counts as none). */
export function usbDevicePatterns(value = process.env.WEBCONF_USB_DEVICES): string[] {
  if (!value) return [];
  const parsed = usbDevicePatternsSchema.safeParse(value);
  return parsed.success ? parsed.data : [];
}

/** True when a sysfs device path runs through a USB bus or a hotplug transport. */
export function isHotplugPath(realPath: string): boolean {
  return /\/usb\d*(\/|$)/.test(realPath) || /\/(thunderbolt|firewire|fw\d+)(\/|$)/.test(realPath);
}

async function nearestUsbSerial(devicePath: string): Promise<string | null> {
  // Walk up from the disk's device folder to the USB device (it has idVendor); its serial is the drive's.
  let dir = devicePath;
  for (let i = 0; i < 12 && path.basename(dir) !== 'devices' && dir !== path.dirname(dir); i++) {
    if (await readText(path.join(dir, 'idVendor'))) return readText(path.join(dir, 'serial'));
    dir = path.dirname(dir);
  }
  return null;
}

/** The disks that count as USB drives, with their partitions (sysfs only; nothing is opened). */
export async function listUsbDisks(sysBlock = '/sys/block', patterns = usbDevicePatterns()): Promise<SysDisk[]> {
  const names = await fsp.readdir(sysBlock).catch(() => [] as string[]);
  const out: SysDisk[] = [];
  for (const name of names.sort()) {
    if (!/^[a-z0-9]+$/.test(name)) continue;
    const base = path.join(sysBlock, name);
    const real = await fsp.realpath(base).catch(() => base);
    if (!isHotplugPath(real) && !matchesDevicePattern(name, patterns)) continue;
    const sizeBytes = await readSectors(path.join(base, 'size'));
    if (sizeBytes === 0) continue; // an empty card reader slot or a detached loop device
    const devDir = await fsp.realpath(path.join(base, 'device')).catch(() => null);
    const serial = (devDir && ((await readText(path.join(devDir, 'serial'))) ?? (await nearestUsbSerial(devDir)))) || null;
    const partitions: SysDisk['partitions'] = [];
    for (const entry of (await fsp.readdir(base).catch(() => [] as string[])).sort()) {
      if (!entry.startsWith(name) || !/^[a-z0-9]+$/.test(entry)) continue;
      const pdir = path.join(base, entry);
      if ((await readText(path.join(pdir, 'partition'))) === null) continue;
      const number = Number(await readText(path.join(pdir, 'partition')));
      partitions.push({ name: entry, device: `/dev/${entry}`, sizeBytes: await readSectors(path.join(pdir, 'size')), number: Number.isInteger(number) ? number : null });
    }
    partitions.sort((a, b) => (a.number ?? 0) - (b.number ?? 0));
    out.push({
      name,
      device: `/dev/${name}`,
      sizeBytes,
      vendor: devDir ? await readText(path.join(devDir, 'vendor')) : null,
      model: devDir ? await readText(path.join(devDir, 'model')) : null,
      serial,
      partitions,
    });
  }
  return out;
}

/** `blkid -p -o export DEV`: exit status 2 means nothing was found (an empty disk or partition). */
export async function probeDevice(device: string): Promise<BlkidExport> {
  try {
    const { stdout } = await run('blkid', ['-p', '-o', 'export', device], { timeout: 15_000 });
    return parseBlkidExport(stdout);
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 2) return {};
    if (e.code === 'ENOENT') throw new Error('blkid is not installed');
    throw new Error(`could not probe ${device}: ${(e.stderr || String(err)).trim().split('\n').pop()}`);
  }
}
