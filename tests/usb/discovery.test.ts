import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHotplugPath, listUsbDisks, usbDevicePatterns } from '@/lib/usb/discovery';
import { fullReason } from '@/lib/usb/drives';

/**
 * A fake sysfs: /sys/block entries are symbolic links into /sys/devices, as
 * on a real kernel. sdb hangs off a USB port (with the USB device's serial
 * two levels up), sda is a SATA disk marked removable, loop3 a virtual device.
 */
let sys: string;
const write = (rel: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(sys, rel)), { recursive: true });
  fs.writeFileSync(path.join(sys, rel), `${text}\n`);
};

beforeAll(() => {
  sys = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-sysfs-'));
  const usbDev = 'devices/pci0000:00/0000:00:14.0/usb2/2-1';
  const sdb = `${usbDev}/2-1:1.0/host4/target4:0:0/4:0:0:0/block/sdb`;
  write(`${usbDev}/idVendor`, '0781');
  write(`${usbDev}/serial`, '4C530001231');
  write(`${sdb}/size`, '61440000');
  write(`${sdb}/removable`, '0');
  write(`${usbDev}/2-1:1.0/host4/target4:0:0/4:0:0:0/vendor`, 'SanDisk ');
  write(`${usbDev}/2-1:1.0/host4/target4:0:0/4:0:0:0/model`, 'Ultra Fit       ');
  fs.symlinkSync(path.join(sys, `${usbDev}/2-1:1.0/host4/target4:0:0/4:0:0:0`), path.join(sys, sdb, 'device'));
  write(`${sdb}/sdb2/partition`, '2');
  write(`${sdb}/sdb2/size`, '2048');
  write(`${sdb}/sdb1/partition`, '1');
  write(`${sdb}/sdb1/size`, '61000000');
  write(`${sdb}/queue/rotational`, '0');
  const sda = 'devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda';
  write(`${sda}/size`, '1000000');
  write(`${sda}/removable`, '1');
  const loop3 = 'devices/virtual/block/loop3';
  write(`${loop3}/size`, '131072');
  write(`${loop3}/loop3p1/partition`, '1');
  write(`${loop3}/loop3p1/size`, '129024');
  const loop4 = 'devices/virtual/block/loop4';
  write(`${loop4}/size`, '0');
  fs.mkdirSync(path.join(sys, 'block'));
  for (const [name, target] of [['sdb', sdb], ['sda', sda], ['loop3', loop3], ['loop4', loop4]] as const) fs.symlinkSync(path.join(sys, target), path.join(sys, 'block', name));
});
afterAll(() => fs.rmSync(sys, { recursive: true, force: true }));

describe('USB discovery from sysfs', () => {
  it('counts a disk on a USB bus, with size, vendor, model, the USB serial and partitions in order', async () => {
    const disks = await listUsbDisks(path.join(sys, 'block'), []);
    expect(disks.map((d) => d.name)).toEqual(['sdb']);
    expect(disks[0]).toMatchObject({ device: '/dev/sdb', sizeBytes: 61440000 * 512, vendor: 'SanDisk', model: 'Ultra Fit', serial: '4C530001231' });
    expect(disks[0]!.partitions).toEqual([
      { name: 'sdb1', device: '/dev/sdb1', sizeBytes: 61000000 * 512, number: 1 },
      { name: 'sdb2', device: '/dev/sdb2', sizeBytes: 2048 * 512, number: 2 },
    ]);
  });

  it('does not count a removable SATA disk, and counts a loop device only when WEBCONF_USB_DEVICES names it (never an empty one)', async () => {
    const disks = await listUsbDisks(path.join(sys, 'block'), ['loop*']);
    expect(disks.map((d) => d.name)).toEqual(['loop3', 'sdb']);
    expect(disks[0]).toMatchObject({ serial: null, vendor: null, partitions: [{ name: 'loop3p1', device: '/dev/loop3p1', sizeBytes: 129024 * 512, number: 1 }] });
    expect((await listUsbDisks(path.join(sys, 'block'), ['loop4'])).map((d) => d.name)).toEqual(['sdb']);
  });

  it('recognises USB and hotplug paths, not lookalikes', () => {
    expect(isHotplugPath('/sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host4/block/sdb')).toBe(true);
    expect(isHotplugPath('/sys/devices/pci0000:00/0000:00:0d.2/domain0/thunderbolt/0-1/block/nvme1n1')).toBe(true);
    expect(isHotplugPath('/sys/devices/virtual/block/usbstick')).toBe(false);
    expect(isHotplugPath('/sys/devices/pci0000:00/ata1/host0/block/sda')).toBe(false);
  });

  it('reads WEBCONF_USB_DEVICES afresh; a malformed value offers nothing', () => {
    expect(usbDevicePatterns('loop3,loop5')).toEqual(['loop3', 'loop5']);
    expect(usbDevicePatterns('loop3;rm -rf')).toEqual([]);
    expect(usbDevicePatterns(undefined)).toEqual([]);
  });
});

describe('a full drive', () => {
  it('is hidden below 1 MiB or 0.1% free, with the free space in words', () => {
    expect(fullReason({ totalBytes: 64 << 20, freeBytes: 0, usedBytes: 64 << 20 })).toBe('The drive is full: 0 bytes free');
    expect(fullReason({ totalBytes: 64 << 20, freeBytes: 512 << 10, usedBytes: 0 })).toBe('The drive is full: 524.3 KB free');
    expect(fullReason({ totalBytes: 4 * 2 ** 40, freeBytes: 2 * 2 ** 30, usedBytes: 0 })).toBe("The drive is full: 2.1 GB free");
    expect(fullReason({ totalBytes: 64 << 20, freeBytes: 2 << 20, usedBytes: 0 })).toBeNull();
    expect(fullReason(null)).toBeNull();
  });
});
