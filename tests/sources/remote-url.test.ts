import { describe, expect, it } from 'vitest';
import { formatRemoteUrl, parseRemoteUrl, RemoteUrlError } from '@/lib/sources/remote-url';

describe('parseRemoteUrl', () => {
  it.each([
    ['sftp://backup@10.0.0.5/srv/backups/console.age', { protocol: 'sftp', host: '10.0.0.5', port: 22, user: 'backup', path: '/srv/backups/console.age' }],
    ['scp://backup@nas.example.com:2222/srv/x.age', { protocol: 'scp', host: 'nas.example.com', port: 2222, user: 'backup', path: '/srv/x.age' }],
    ['SFTP://Backup@NAS.Example.COM/x.age', { protocol: 'sftp', host: 'nas.example.com', port: 22, user: 'Backup', path: '/x.age' }],
    ['sftp://root@[fd00:0:0::5]:22/x.age', { protocol: 'sftp', host: 'fd00::5', port: 22, user: 'root', path: '/x.age' }],
    ['sftp://backup%40corp@host/a%20b/c%C3%A4.age', { protocol: 'sftp', host: 'host', port: 22, user: 'backup@corp', path: '/a b/cä.age' }],
    ['sftp://u@host/~/backups/x.age', { protocol: 'sftp', host: 'host', port: 22, user: 'u', path: 'backups/x.age' }],
    ['  scp://u@host:1/x  ', { protocol: 'scp', host: 'host', port: 1, user: 'u', path: '/x' }],
    ['sftp://u@host:65535/x', { protocol: 'sftp', host: 'host', port: 65535, user: 'u', path: '/x' }],
  ])('parses %s', (url, want) => {
    expect(parseRemoteUrl(url)).toEqual(want);
  });

  it.each([
    ['http://u@host/x', 'url', /sftp:\/\/user@host\/path/],
    ['sftp://host/x', 'user', /user name in the address/],
    ['sftp://@host/x', 'user', /Enter the user name/],
    ['sftp://u:secret@host/x', 'user', /Do not put a password/],
    ['sftp://u@/x', 'host', /Enter the host/],
    ['sftp://u@bad_host!/x', 'host', /not a host name/],
    ['sftp://u@[nope]/x', 'host', /not an IPv6 address/],
    ['sftp://u@fd00::5/x', 'host', /brackets/],
    ['sftp://u@host:0/x', 'port', /1 to 65535/],
    ['sftp://u@host:65536/x', 'port', /1 to 65535/],
    ['sftp://u@host:/x', 'port', /1 to 65535/],
    ['sftp://u@host:22x/x', 'host', /not a host name/],
    ['sftp://u@host', 'path', /path of the backup file/],
    ['sftp://u@host/', 'path', /path of the backup file/],
    ['sftp://u@host/srv/', 'path', /names a folder/],
    ['sftp://u@host/a%0Ab', 'path', /invalid character/],
    ['sftp://u@host/a%E0', 'path', /not valid/],
    ['sftp://u@host/x?y=1', 'url', /no \?query/],
    ['sftp://u@host/x#f', 'url', /no \?query/],
    ['sftp://u%20x@host/x', 'user', /spaces/],
  ])('refuses %s at the %s', (url, field, message) => {
    let err: unknown;
    try {
      parseRemoteUrl(url);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RemoteUrlError);
    expect((err as RemoteUrlError).field).toBe(field);
    expect((err as RemoteUrlError).message).toMatch(message);
  });

  it('never repeats a password it refuses', () => {
    expect(() => parseRemoteUrl('sftp://u:hunter2@host/x')).toThrow(expect.objectContaining({ message: expect.not.stringContaining('hunter2') }));
  });
});

describe('formatRemoteUrl', () => {
  it.each([
    'sftp://backup@10.0.0.5/srv/backups/console.age',
    'scp://backup@nas.example.com:2222/srv/x.age',
    'sftp://root@[fd00::5]/x.age',
    'sftp://backup%40corp@host/a%20b/c%C3%A4.age',
    'sftp://u@host/~/backups/x.age',
  ])('writes %s back as it parses', (url) => {
    expect(formatRemoteUrl(parseRemoteUrl(url))).toBe(url);
  });

  it('writes one spelling: no default port, lower-case host', () => {
    expect(formatRemoteUrl(parseRemoteUrl('SFTP://u@HOST:22/x'))).toBe('sftp://u@host/x');
  });
});
