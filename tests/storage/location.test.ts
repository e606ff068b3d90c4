import { describe, expect, it } from 'vitest';
import { AppError } from '@/lib/errors';
import { browsePathParts, unsafeSegmentReason } from '@/lib/storage/paths';
import { joinTypedLocation, locationUrl, parseLocationUrl } from '@/lib/storage/location';

function refusal(url: string): string {
  try {
    parseLocationUrl(url);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).field).toBe('location');
    return (err as Error).message;
  }
  throw new Error(`${url} was accepted`);
}

describe('storage location URLs', () => {
  it('parses each type into a root and checked parts, and writes them back in one spelling', () => {
    const nfs = parseLocationUrl('nfs://10.0.0.5:2050/export/site%20a?version=4.2');
    expect(nfs).toEqual({ type: 'nfs', server: '10.0.0.5:2050', version: '4.2', parts: ['export', 'site a'] });
    expect(locationUrl(nfs)).toBe('nfs://10.0.0.5:2050/export/site%20a?version=4.2');
    expect(locationUrl(nfs, [])).toBe('nfs://10.0.0.5:2050/?version=4.2');
    expect(parseLocationUrl('nfs://nas/backups')).toMatchObject({ server: 'nas', version: '4.1' });
    const usb = parseLocationUrl('usb://MY%20DRIVE/appliance/daily');
    expect(usb).toEqual({ type: 'usb', drive: 'MY DRIVE', parts: ['appliance', 'daily'] });
    expect(locationUrl(usb)).toBe('usb://MY%20DRIVE/appliance/daily');
    const local = parseLocationUrl('file:///srv/backups/');
    expect(local).toEqual({ type: 'local', root: '/', parts: ['srv', 'backups'] });
    expect(locationUrl(local)).toBe('file:///srv/backups');
    expect(parseLocationUrl(locationUrl(usb))).toEqual(usb);
  });

  it.each([
    ['nfs://nas/export/../etc', /"\."|"\.\."/],
    ['nfs://nas/export/%2e%2e/etc', /"\."|"\.\."/],
    ['nfs://nas/export/%252e%252e/etc', /"\.\."/],
    ['nfs://nas/export/a%2Fb', /"\/"|encoded/],
    ['nfs://nas/export/a%00b', /NUL/],
    ['usb://BACKUP/../../etc', /"\.\."/],
    ['usb://BACKUP/%2e%2e', /"\.\."/],
    ['usb://BACKUP/%25252e%25252e', /"\.\."|encoded/],
    ['usb://BACKUP/a%5cb', /"\\\\"|encoded/],
    ['usb://BACKUP/a\u0000b', /NUL/],
    ['usb:///folder', /Enter the drive/],
    ['usb://..', /"\.\."/],
    ['file://relative/path', /absolute/],
    ['file:///srv/%2e%2e/etc', /"\.\."/],
    ['file:///srv/a%2fb', /encoded|"\/"/],
    ['smb://nas/share', /nfs:\/\/server\/path, usb:\/\/drive\/folder or file:\/\/\/path/],
  ])('refuses %s in words at the location field', (url, words) => {
    expect(refusal(url)).toMatch(words);
  });

  it('joins the typed rest to its prefix, and takes a pasted whole URL as it is', () => {
    expect(joinTypedLocation('nfs', ' 10.0.0.5/backups ')).toBe('nfs://10.0.0.5/backups');
    expect(joinTypedLocation('usb', 'usb://BACKUP/x')).toBe('usb://BACKUP/x');
    expect(joinTypedLocation('local', '/srv/b')).toBe('file:///srv/b');
  });
});

describe('browse path parts', () => {
  it('accepts ordinary names, percent signs that decode to nothing dangerous included', () => {
    expect(browsePathParts('a/b c/100%')).toEqual({ parts: ['a', 'b c', '100%'] });
    expect(browsePathParts('')).toEqual({ parts: [] });
    expect(unsafeSegmentReason('report%20final')).toBeNull();
  });

  it.each(['/etc', '\\etc', 'C:\\x', 'a/../b', '..', '%2e%2e', '%252e%252e', '%25252e%25252e', 'a%2fb', 'a%5Cb', 'a\u0000b', 'x%00', 'tab\there'])('refuses %j', (p) => {
    expect(browsePathParts(p)).toHaveProperty('reason');
  });
});
