import { describe, expect, it } from 'vitest';
import { recentAuditEvents } from '@/lib/audit/audit';
import { AppError } from '@/lib/errors';
import { pinHostKey, pinnedHostKey } from '@/lib/sources/known-hosts';

const admin = { id: 1, name: 'admin', ip: '10.0.0.9' };
const FP1 = `SHA256:${'A'.repeat(43)}`;
const FP2 = `SHA256:${'B'.repeat(42)}0`;

describe('pinned host keys', () => {
  it('has nothing pinned at first', () => {
    expect(pinnedHostKey('nas.example.com', 22)).toBeNull();
  });

  it('pins a key (host normalized), audits it, and finds it by host and port', () => {
    const row = pinHostKey('NAS.example.com', 22, 'ssh-ed25519', FP1, admin);
    expect(row).toMatchObject({ host: 'nas.example.com', port: 22, keyType: 'ssh-ed25519', fingerprint: FP1, pinnedBy: 'admin' });
    expect(pinnedHostKey('nas.EXAMPLE.com', 22)).toMatchObject({ fingerprint: FP1 });
    expect(pinnedHostKey('nas.example.com', 2222)).toBeNull();
    const event = recentAuditEvents(1)[0]!;
    expect(event).toMatchObject({ action: 'ssh.host_key.pin', outcome: 'success', target: 'nas.example.com:22', actorName: 'admin' });
    expect(JSON.parse(event.detail!)).toEqual({ keyType: 'ssh-ed25519', fingerprint: FP1 });
  });

  it('re-pins a replaced key only when asked, and the audit names the key it replaced', () => {
    pinHostKey('nas.example.com', 22, 'ecdsa-sha2-nistp256', FP2, { ...admin, name: 'other-admin' });
    expect(pinnedHostKey('nas.example.com', 22)).toMatchObject({ keyType: 'ecdsa-sha2-nistp256', fingerprint: FP2, pinnedBy: 'other-admin' });
    expect(JSON.parse(recentAuditEvents(1)[0]!.detail!)).toEqual({
      keyType: 'ecdsa-sha2-nistp256',
      fingerprint: FP2,
      replaced: { keyType: 'ssh-ed25519', fingerprint: FP1, pinnedBy: 'admin' },
    });
  });

  it('keeps IPv6 hosts in one spelling', () => {
    pinHostKey('FD00:0:0::5', 22, 'ssh-ed25519', FP1, admin);
    expect(pinnedHostKey('fd00::5', 22)).toMatchObject({ host: 'fd00::5' });
    expect(recentAuditEvents(1)[0]!.target).toBe('[fd00::5]:22');
  });

  it.each([
    ['a malformed fingerprint', 'nas2', 22, 'ssh-ed25519', 'SHA256:nope', 'fingerprint'],
    ['a bad port', 'nas2', 0, 'ssh-ed25519', FP1, 'port'],
    ['a bad host', 'nas 2', 22, 'ssh-ed25519', FP1, 'host'],
    ['a bad key type', 'nas2', 22, 'ED25519', FP1, 'keyType'],
  ])('refuses %s and changes nothing', (_what, host, port, keyType, fingerprint, field) => {
    const before = recentAuditEvents(1)[0]?.id;
    let err: unknown;
    try {
      pinHostKey(host, port, keyType, fingerprint, admin);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).field).toBe(field);
    expect(pinnedHostKey('nas2', 22)).toBeNull();
    expect(recentAuditEvents(1)[0]?.id).toBe(before);
  });
});
