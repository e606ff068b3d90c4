import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsbTarget, usbDriveLabel, usbLocationLabel } from '@/lib/usb/usb-target';

describe('UsbTarget without a drive', () => {
  it('names the drive by label and UUID, or UUID alone', () => {
    expect(new UsbTarget({ uuid: '1234-ABCD', path: '', label: 'BACKUP' }).label).toBe('USB drive BACKUP (1234-ABCD)');
    expect(usbDriveLabel({ uuid: '1234-ABCD', label: null })).toBe('USB drive 1234-ABCD');
    expect(usbLocationLabel({ uuid: '1234-ABCD', path: '/site-a/daily/', label: 'BACKUP' })).toBe('USB drive BACKUP (1234-ABCD), folder site-a/daily');
    expect(usbLocationLabel({ uuid: '1234-ABCD', path: '' })).toBe('USB drive 1234-ABCD');
  });

  it('refuses a folder with . or .., NUL or backslash; names stay inside the folder', () => {
    expect(() => new UsbTarget({ uuid: '1234-ABCD', path: '../../etc' })).toThrow(/may not contain "\." or "\.\." parts/);
    expect(() => new UsbTarget({ uuid: '1234-ABCD', path: 'a\\b' })).toThrow(/not "\\"/);
    expect(() => new UsbTarget({ uuid: '1234-ABCD', path: 'a\0b' })).toThrow(/NUL/);
    expect(new UsbTarget({ uuid: '1234-ABCD', path: '/a//b/' }).localPath('')).toMatch(/\/1234-ABCD\/a\/b$/);
    const t = new UsbTarget({ uuid: '1234-ABCD', path: 'site-a' });
    // Names are resolved by safeRelative: nothing gets above the folder.
    expect(t.localPath('x/../../../y').startsWith(t.localPath(''))).toBe(true);
  });

  it('maps names into <mount root>/<uuid>/<folder>', () => {
    process.env.WEBCONF_USB_MOUNT_ROOT = '/run/test-usb';
    const t = new UsbTarget({ uuid: '1234-ABCD', path: 'site-a' });
    expect(t.localPath('b/c.tar.age')).toBe(path.join('/run/test-usb', '1234-ABCD', 'site-a', 'b', 'c.tar.age'));
  });

  it('a UUID that is not one fails every operation in words, and mounts nothing', async () => {
    const t = new UsbTarget({ uuid: '../../dev/sda', path: '' });
    await expect(t.access()).rejects.toThrow('USB drive ../../dev/sda: check access failed: "../../dev/sda" is not a file system UUID');
    await expect(t.create('x')).rejects.toThrow(/is not a file system UUID/);
    await t.close();
    await expect(t.list()).rejects.toThrow(/is not a file system UUID|was closed/);
  });

  it('a drive that is not attached (no USB disks offered) is reported so', async () => {
    process.env.WEBCONF_USB_DEVICES = 'none';
    const t = new UsbTarget({ uuid: '1234-ABCD', path: '', label: 'BACKUP' });
    const err = (await t.stat('x').then(
      () => null,
      (e: unknown) => e,
    )) as (Error & { reason: string }) | null;
    expect(err?.name).toBe('StorageError');
    expect(err?.reason).toBe('the USB drive BACKUP (1234-ABCD) is not attached');
  });
});
