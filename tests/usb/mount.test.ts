import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kernelHasExfat, mountCommands, mountPointFor, unmountCommand } from '@/lib/usb/mount';

const ROOT = '/tmp/webconf-usb-unit-root';
let saved: string | undefined;
beforeEach(() => {
  saved = process.env.WEBCONF_USB_MOUNT_ROOT;
  process.env.WEBCONF_USB_MOUNT_ROOT = ROOT;
});
afterEach(() => {
  if (saved === undefined) delete process.env.WEBCONF_USB_MOUNT_ROOT;
  else process.env.WEBCONF_USB_MOUNT_ROOT = saved;
});

const dir = path.join(ROOT, '97ea8ed7-d82f-4b20-972e-3b580c645f0f');

describe('the mount module builds only its allowed commands', () => {
  it('ext4: nosuid,nodev,noexec,nosymfollow, ro on request', () => {
    const [c] = mountCommands({ device: '/dev/sdb1', dir, fsType: 'ext4' });
    expect(c!.args).toEqual(['-t', 'ext4', '-o', 'nosuid,nodev,noexec,nosymfollow', '/dev/sdb1', dir]);
    expect(path.basename(c!.file)).toBe('mount');
    expect(mountCommands({ device: '/dev/sdb1', dir, fsType: 'ext4', readOnly: true })[0]!.args[3]).toBe('nosuid,nodev,noexec,nosymfollow,ro');
  });

  it('exFAT: the kernel driver when there is one, else FUSE and a bind remount for noexec', () => {
    const k = mountCommands({ device: '/dev/loop3p1', dir, fsType: 'exfat' }, { kernelExfat: true, uid: 1000, gid: 1001 });
    expect(k).toEqual([{ file: expect.stringMatching(/\/mount$/), args: ['-t', 'exfat', '-o', 'nosuid,nodev,noexec,uid=1000,gid=1001,umask=077', '/dev/loop3p1', dir] }]);
    const f = mountCommands({ device: '/dev/loop3p1', dir, fsType: 'exfat', readOnly: true }, { kernelExfat: false, uid: 0, gid: 0 });
    expect(f).toHaveLength(2);
    expect(path.basename(f[0]!.file)).toBe('mount.exfat-fuse');
    expect(f[0]!.args).toEqual(['-o', 'nosuid,nodev,noexec,uid=0,gid=0,umask=077,ro', '/dev/loop3p1', dir]);
    expect(f[1]!.args).toEqual(['-o', 'remount,bind,nosuid,nodev,noexec,ro', dir]);
  });

  it('refuses devices outside /dev/<name>', () => {
    for (const device of ['/dev/sdb1 ', '/etc/passwd', '/dev/../etc/shadow', '/dev/mapper/x', '-o', 'sdb1', '/dev/SDB1', '/dev/sdb1;reboot']) {
      expect(() => mountCommands({ device, dir, fsType: 'ext4' }), device).toThrow(/is not a block device under \/dev/);
    }
  });

  it('refuses folders that are not <mount root>/<uuid>', () => {
    for (const d of ['/', '/etc', ROOT, `${ROOT}/../etc`, `${ROOT}/a/b`, `${ROOT}/not-a-uuid!`, `${ROOT}/x`, 'relative/97ea8ed7', `${ROOT}/97ea8ed7\0`, `${ROOT}-evil/97ea8ed7-d82f`]) {
      expect(() => mountCommands({ device: '/dev/sdb1', dir: d, fsType: 'ext4' }), d).toThrow(/mount folder/);
      expect(() => unmountCommand(d), d).toThrow(/mount folder/);
    }
  });

  it('refuses other file systems and option injection', () => {
    expect(() => mountCommands({ device: '/dev/sdb1', dir, fsType: 'vfat' as never })).toThrow(/is not a file system the console mounts/);
    expect(() => mountCommands({ device: '/dev/sdb1', dir, fsType: 'exfat' }, { kernelExfat: true, uid: -1 })).toThrow(/whole numbers/);
    expect(() => mountCommands({ device: '/dev/sdb1', dir, fsType: 'ext4', readOnly: 'rw,suid' as never })).toThrow(/readOnly/);
  });

  it('mount folders are per UUID and refuse anything else', () => {
    expect(mountPointFor('1234-ABCD')).toBe(path.join(ROOT, '1234-ABCD'));
    expect(() => mountPointFor('../../etc')).toThrow(/not a file system UUID/);
    expect(() => mountPointFor('')).toThrow(/not a file system UUID/);
    expect(unmountCommand(dir).args).toEqual([dir]);
  });

  it('reads /proc/filesystems for a kernel exFAT driver', () => {
    expect(kernelHasExfat('nodev\tsysfs\n\text4\n\texfat\n')).toBe(true);
    expect(kernelHasExfat('nodev\tsysfs\n\text4\nnodev\tfuse\n\tfuseblk\n')).toBe(false);
  });
});
