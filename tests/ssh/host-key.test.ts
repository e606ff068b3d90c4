import { describe, expect, it } from 'vitest';
import { blobKeyType, fingerprintOf, hostKeyAlgorithms, hostKeyOf, normalizeFingerprint } from '@/lib/ssh/host-key';

/** Public keys and what `ssh-keygen -lf` printed for them (OpenSSH 9.2). */
const VECTORS = [
  {
    line: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJug7omOzbAFrsENmD8wOzo+bHQtGQn3gYQyQZ/yY0Mp root@vm',
    keyType: 'ssh-ed25519',
    fingerprint: 'SHA256:RVc1TJILU1BiesH/qR857WpXWRlOhBipzevsMiS/6a0',
  },
  {
    line: 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBNVJAR5ISYfMS65B1g+EFMwOrvrOghKQoXa0787kZXGnkZtAJSrHcHayG/KzIjItEtR9GcG3kviwspnySkQeh9g= v',
    keyType: 'ecdsa-sha2-nistp256',
    fingerprint: 'SHA256:QXdbmphqf8YB2ECWerUqRX8O/2mxhc5Mi3MpbwJVaLk',
  },
];

describe('host key fingerprints', () => {
  it.each(VECTORS)('match ssh-keygen -lf for $keyType', ({ line, keyType, fingerprint }) => {
    const blob = Buffer.from(line.split(' ')[1]!, 'base64');
    expect(hostKeyOf(blob)).toEqual({ keyType, fingerprint });
    expect(fingerprintOf(blob)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('refuses a blob too short to name its type', () => {
    expect(() => blobKeyType(Buffer.from([0, 0, 0]))).toThrow();
    expect(() => blobKeyType(Buffer.from([0, 0, 0, 9, 0x61]))).toThrow();
    expect(() => blobKeyType(Buffer.from([0, 0, 0, 0]))).toThrow();
  });

  it('normalizes what users paste', () => {
    const fp = VECTORS[0]!.fingerprint;
    expect(normalizeFingerprint(fp)).toBe(fp);
    expect(normalizeFingerprint(`  ${fp.slice(7)}= `)).toBe(fp);
    expect(normalizeFingerprint(`sha256:${fp.slice(7)}`)).toBe(fp);
    expect(normalizeFingerprint('MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48')).toBeNull();
    expect(normalizeFingerprint(fp.slice(0, -1))).toBeNull();
  });
});

describe('hostKeyAlgorithms', () => {
  it('offers ed25519 first by default', () => {
    expect(hostKeyAlgorithms()[0]).toBe('ssh-ed25519');
  });
  it('offers the pinned key type first, every algorithm once', () => {
    const ecdsa = hostKeyAlgorithms('ecdsa-sha2-nistp256');
    expect(ecdsa[0]).toBe('ecdsa-sha2-nistp256');
    expect(new Set(ecdsa).size).toBe(ecdsa.length);
    expect(hostKeyAlgorithms('ssh-rsa').slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect([...hostKeyAlgorithms('ssh-rsa')].sort()).toEqual([...hostKeyAlgorithms()].sort());
  });
});
