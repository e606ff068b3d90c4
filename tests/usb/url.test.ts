import { describe, expect, it } from 'vitest';
import { formatUsbUrl, parseUsbUrl } from '@/lib/usb/url';

describe('usb:// locations', () => {
  it('splits drive and folder', () => {
    expect(parseUsbUrl('usb://BACKUP')).toEqual({ drive: 'BACKUP', path: '' });
    expect(parseUsbUrl('usb://BACKUP/')).toEqual({ drive: 'BACKUP', path: '' });
    expect(parseUsbUrl('usb://1234-ABCD/appliance//site-a/')).toEqual({ drive: '1234-ABCD', path: 'appliance/site-a' });
    expect(parseUsbUrl('  USB://MY%20BACKUPS/a%20b  ')).toEqual({ drive: 'MY BACKUPS', path: 'a b' });
  });

  it('refuses what could leave the drive or is not a location, in words', () => {
    expect(() => parseUsbUrl('usb://')).toThrow('Name the USB drive after usb:// (its label or UUID).');
    expect(() => parseUsbUrl('usb:///x')).toThrow(/Name the USB drive/);
    expect(() => parseUsbUrl('usb://B/../etc')).toThrow('The folder may not contain "." or ".." parts.');
    expect(() => parseUsbUrl('usb://B/%2e%2e/etc')).toThrow(/"\.\."/);
    expect(() => parseUsbUrl('usb://B/a%00b')).toThrow(/NUL/);
    expect(() => parseUsbUrl('usb://B/a\\b')).toThrow(/not "\\"/);
    expect(() => parseUsbUrl('usb://B/a%2Fb')).toThrow(/encoded "\/"/);
    expect(() => parseUsbUrl('usb://B/%E0%A4%A')).toThrow(/broken percent-encoding/);
    expect(() => parseUsbUrl('nfs://server/x')).toThrow(/starts with usb:\/\//);
    expect(() => parseUsbUrl('x'.repeat(3000))).toThrow(/too long/);
  });

  it('the error is an AppError tied to the url field', () => {
    try {
      parseUsbUrl('usb://');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).name).toBe('AppError');
      expect((err as { field?: string }).field).toBe('url');
    }
  });

  it('formats back to what it parses', () => {
    for (const u of [{ drive: 'MY BACKUPS', path: 'a b/c' }, { drive: '1234-ABCD', path: '' }, { drive: 'weird%/"', path: 'x' }]) {
      expect(parseUsbUrl(formatUsbUrl(u))).toEqual(u);
    }
  });
});
