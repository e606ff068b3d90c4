import { describe, expect, it } from 'vitest';
import { matchesDevicePattern, parseBlkidExport, parseDumpe2fsSpace, parseMountinfo, unescapeBlkidValue, usbDevicePatternsSchema } from '@/lib/usb/parse';

describe('blkid -p -o export', () => {
  it('reads a GPT disk', () => {
    const r = parseBlkidExport('DEVNAME=/dev/loop0\nPTUUID=22b54548-69cf-4cd2-8bd7-aad5e56af5bc\nPTTYPE=gpt\n');
    expect(r.PTTYPE).toBe('gpt');
    expect(r.TYPE).toBeUndefined();
  });

  it('undoes the shell escaping of labels with spaces, quotes and backslashes', () => {
    const r = parseBlkidExport('DEVNAME=/dev/loop0p1\nLABEL=MY\\ \\"BK\\"\\ it\\\'s\\\\x\nUUID=97ea8ed7-d82f-4b20-972e-3b580c645f0f\nTYPE=ext4\nUSAGE=filesystem\n');
    expect(r.LABEL).toBe('MY "BK" it\'s\\x');
    expect(r.UUID).toBe('97ea8ed7-d82f-4b20-972e-3b580c645f0f');
    expect(unescapeBlkidValue('a\\ b\\$c')).toBe('a b$c');
  });

  it('keeps an exFAT partition\'s UUID form and unknown keys', () => {
    const r = parseBlkidExport('LABEL=EX\\ BK\nUUID=7F7F-EE89\nVERSION=1.0\nTYPE=exfat\nPTTYPE=dos\nPART_ENTRY_SCHEME=gpt\n');
    expect(r.TYPE).toBe('exfat');
    expect(r.UUID).toBe('7F7F-EE89');
    expect(r.PART_ENTRY_SCHEME).toBe('gpt');
    expect((r as Record<string, unknown>).VERSION).toBe('1.0');
  });

  it('is empty for no output, and refuses lines that are not KEY=VALUE or odd values', () => {
    expect(parseBlkidExport('')).toEqual({});
    expect(() => parseBlkidExport('garbage here\n')).toThrow(/not KEY=VALUE/);
    expect(() => parseBlkidExport('UUID=../../etc\n')).toThrow(/UUID is not a file system UUID/);
    expect(() => parseBlkidExport('TYPE=Ext 4\n')).toThrow(/TYPE is not a file system type/);
    expect(() => parseBlkidExport('DEVNAME=/etc/passwd\n')).toThrow(/DEVNAME/);
  });
});

describe('dumpe2fs -h', () => {
  const header = ['dumpe2fs 1.47.0 (5-Feb-2023)', 'Filesystem volume name:   BACKUP', 'Block count:              16384', 'Reserved block count:     819', 'Free blocks:              10000', 'Block size:               4096', 'Filesystem features:      has_journal ext_attr'].join('\n');

  it('counts free space without reserved blocks, used from free blocks', () => {
    expect(parseDumpe2fsSpace(header)).toEqual({ totalBytes: 16384 * 4096, freeBytes: (10000 - 819) * 4096, usedBytes: (16384 - 10000) * 4096 });
  });

  it('never reports negative free space and refuses a header without counters', () => {
    expect(parseDumpe2fsSpace(header.replace('10000', '500')).freeBytes).toBe(0);
    expect(() => parseDumpe2fsSpace('dumpe2fs 1.47.0\nBad magic number in super-block')).toThrow(/dumpe2fs printed something unexpected/);
    expect(() => parseDumpe2fsSpace(header.replace('4096', '3000'))).toThrow(/power of two/);
  });
});

describe('/proc/self/mountinfo', () => {
  it('reads mount point, options, type and source, with escaped spaces and optional fields', () => {
    const text = [
      '45 27 259:0 / /run/webconf/usb/97ea8ed7-d82f rw,nosuid,nodev,noexec,relatime shared:1 master:2 - ext4 /dev/loop0p1 rw',
      '46 27 259:1 / /tmp/with\\040space rw,nosuid,nodev,relatime - fuseblk /dev/loop0p2 rw,user_id=0,group_id=0',
      'not a mountinfo line',
    ].join('\n');
    const m = parseMountinfo(text);
    expect(m).toHaveLength(2);
    expect(m[0]).toMatchObject({ mountPoint: '/run/webconf/usb/97ea8ed7-d82f', fsType: 'ext4', source: '/dev/loop0p1', majorMinor: '259:0' });
    expect(m[0]!.options).toEqual(['rw', 'nosuid', 'nodev', 'noexec', 'relatime']);
    expect(m[1]!.mountPoint).toBe('/tmp/with space');
    expect(m[1]!.superOptions).toContain('user_id=0');
  });
});

describe('WEBCONF_USB_DEVICES', () => {
  it('matches names and globs, and nothing else', () => {
    const patterns = usbDevicePatternsSchema.parse(' loop3, loop5 ,sd?');
    expect(patterns).toEqual(['loop3', 'loop5', 'sd?']);
    expect(matchesDevicePattern('loop3', patterns)).toBe(true);
    expect(matchesDevicePattern('loop33', patterns)).toBe(false);
    expect(matchesDevicePattern('sdb', patterns)).toBe(true);
    expect(matchesDevicePattern('sdb1', patterns)).toBe(false);
    expect(matchesDevicePattern('loop12', usbDevicePatternsSchema.parse('loop*'))).toBe(true);
    expect(usbDevicePatternsSchema.safeParse('loop[0-9]').success).toBe(false);
    expect(usbDevicePatternsSchema.safeParse('../vda').success).toBe(false);
  });
});
