import { describe, expect, it } from 'vitest';
import { NfsUrlError, parseNfsUrl, splitSharePath } from '@/lib/nfs/nfs-url';

function refusal(fn: () => unknown): NfsUrlError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NfsUrlError);
    return err as NfsUrlError;
  }
  throw new Error('expected an NfsUrlError, the input was accepted');
}

describe('parseNfsUrl', () => {
  it('reads host and path, with port 2049 and NFS 4.1 by default', () => {
    expect(parseNfsUrl('nfs://nas.example.com/exports/backups')).toEqual({
      host: 'nas.example.com',
      port: 2049,
      path: ['exports', 'backups'],
      version: '4.1',
      minor: 1,
      display: 'nfs://nas.example.com/exports/backups',
    });
  });

  it('reads a port and shows it only when it is not 2049', () => {
    expect(parseNfsUrl('nfs://10.0.0.5:20490/backups')).toMatchObject({ host: '10.0.0.5', port: 20490, path: ['backups'], display: 'nfs://10.0.0.5:20490/backups' });
    expect(parseNfsUrl('nfs://10.0.0.5:2049/backups').display).toBe('nfs://10.0.0.5/backups');
    expect(parseNfsUrl('nfs://10.0.0.5:1/').port).toBe(1);
    expect(parseNfsUrl('nfs://10.0.0.5:65535/').port).toBe(65535);
  });

  it('reads a bracketed IPv6 address, without the brackets, and shows it with them', () => {
    expect(parseNfsUrl('nfs://[::1]/export')).toMatchObject({ host: '::1', port: 2049, path: ['export'], display: 'nfs://[::1]/export' });
    expect(parseNfsUrl('nfs://[fd00::5]:2050/a/b')).toMatchObject({ host: 'fd00::5', port: 2050, path: ['a', 'b'], display: 'nfs://[fd00::5]:2050/a/b' });
  });

  it.each([
    ['nfs://h/x', '4.1', 1],
    ['nfs://h/x?version=4', '4.0', 0],
    ['nfs://h/x?version=4.0', '4.0', 0],
    ['nfs://h/x?version=4.1', '4.1', 1],
    ['nfs://h/x?version=4.2', '4.2', 2],
  ])('reads %s as NFS %s (minor version %i)', (url, version, minor) => {
    expect(parseNfsUrl(url)).toMatchObject({ version, minor });
  });

  it('accepts the root of the server, percent-encoded names, a scheme in capitals and surrounding spaces', () => {
    expect(parseNfsUrl('nfs://h').path).toEqual([]);
    expect(parseNfsUrl('nfs://h/').display).toBe('nfs://h/');
    expect(parseNfsUrl('nfs://h/my%20share/caf%C3%A9').path).toEqual(['my share', 'café']);
    expect(parseNfsUrl('NFS://h/x').path).toEqual(['x']);
    expect(parseNfsUrl('  nfs://h/x  ').path).toEqual(['x']);
    // Repeated slashes are not components.
    expect(parseNfsUrl('nfs://h//a///b/').path).toEqual(['a', 'b']);
  });

  it.each([
    ['http://h/x', /written nfs:\/\/server\/path/],
    ['smb://h/x', /written nfs:\/\/server\/path/],
    ['h:/x', /written nfs:\/\/server\/path/],
    ['', /written nfs:\/\/server\/path/],
    ['nfs://user:secret@h/x', /does not carry a user name or password/],
    ['nfs://user@h/x', /does not carry a user name or password/],
    ['nfs://h/x?ro=1', /Unknown option "ro"/],
    ['nfs://h/x?version=4.1&timeo=600', /Unknown option "timeo"/],
    ['nfs://h/x?version=3', /version must be 4, 4.1 or 4.2/],
    ['nfs://h/x?version=5', /version must be 4, 4.1 or 4.2/],
    ['nfs://h/x?version=4.3', /version must be 4, 4.1 or 4.2/],
    ['nfs://h/x?version=', /version must be 4, 4.1 or 4.2/],
    ['nfs://h:0/x', /port must be a number from 1 to 65535/],
    ['nfs://h:70000/x', /port must be a number from 1 to 65535/],
    ['nfs://h:65536/x', /port must be a number from 1 to 65535/],
    ['nfs:///x', /needs a server name or address/],
    ['nfs://:2049/x', /"nfs:\/\/:2049\/x" is not a valid address\. Write it as nfs:\/\/server\[:port\]\/path/],
    ['nfs://h/x#part', /no #fragment/],
    ['nfs://h/a/../b', /must not contain "\." or "\.\."/],
    ['nfs://h/..', /must not contain "\." or "\.\."/],
    ['nfs://h/a/%2e%2e/b', /must not contain "\." or "\.\."/],
    ['nfs://h/a/%2E./b', /must not contain "\." or "\.\."/],
    ['nfs://h/a/./b', /must not contain "\." or "\.\."/],
    // URL() drops tabs and newlines anywhere, which would make these "..".
    ['nfs://h/a/.\t./b', /must not contain "\." or "\.\."/],
    ['nfs://h/a/\n../b', /must not contain "\." or "\.\."/],
    ['nfs://h/a%00b', /must not contain/],
    ['nfs://h/%E0%A4%A', /path in the NFS address is not valid/],
    ['nfs://[::1/x', /is not a valid address/],
  ])('refuses %s with a message saying why', (url, words) => {
    expect(refusal(() => parseNfsUrl(url)).message).toMatch(words);
  });

  it('refuses a path component longer than 255 bytes', () => {
    expect(parseNfsUrl(`nfs://h/${'a'.repeat(255)}`).path[0]).toHaveLength(255);
    expect(refusal(() => parseNfsUrl(`nfs://h/${'a'.repeat(256)}`)).message).toMatch(/path in the NFS address/);
  });
});

describe('splitSharePath', () => {
  it('splits a path inside the share into components, ignoring leading, trailing and repeated slashes', () => {
    expect(splitSharePath('')).toEqual([]);
    expect(splitSharePath('/')).toEqual([]);
    expect(splitSharePath('a/b c/ünï')).toEqual(['a', 'b c', 'ünï']);
    expect(splitSharePath('/a//b/')).toEqual(['a', 'b']);
    expect(splitSharePath('...')).toEqual(['...']);
  });

  it.each(['..', 'a/../b', '../x', 'a/..', '.', 'a/./b', 'a\0b', 'x'.repeat(256)])('refuses %j', (p) => {
    expect(refusal(() => splitSharePath(p)).message).toMatch(/is not a valid path inside the share/);
  });
});

describe('parseNfsUrl display form', () => {
  it('reads back as the same share, whatever characters the path holds', () => {
    for (const url of ['nfs://h/backups/100%25', 'nfs://h/a%3Fb', 'nfs://h/a%23b', 'nfs://h/with%20space/x', 'nfs://[::1]:2050/a/b?version=4.2', 'nfs://h/r%C3%A9seau']) {
      const first = parseNfsUrl(url);
      const again = parseNfsUrl(`${first.display}?version=${first.version}`);
      expect(again).toEqual(first);
    }
  });
});
