import { describe, expect, it } from 'vitest';
import { DeviceError, deviceErrorOf } from '@/lib/devices/errors';
import { isSourceError, sourceErrorOf } from '@/lib/sources/errors';
import { connectionError, where } from '@/lib/ssh/connect';
import { SshError } from '@/lib/ssh/errors';

/**
 * The connection core's words for socket and handshake failures, and how each
 * domain takes them over. Failures that loopback tests cannot provoke (no
 * route, DNS server down) are given here as the errors Node and ssh2 raise.
 */

const ep = { host: 'fw1.example.net', port: 2222 };
const sysErr = (code: string) => Object.assign(new Error(code), { code });
const sshErr = (message: string, level: string) => Object.assign(new Error(message), { level });

describe('connectionError', () => {
  it.each([
    [sysErr('ECONNREFUSED'), 'connection_refused', 'fw1.example.net:2222 refused the connection: no SSH server listens on port 2222 there.'],
    [sysErr('EHOSTUNREACH'), 'unreachable', 'fw1.example.net:2222 cannot be reached from the appliance (no route to it).'],
    [sysErr('ENETUNREACH'), 'unreachable', 'fw1.example.net:2222 cannot be reached from the appliance (no route to it).'],
    [sysErr('ENOTFOUND'), 'host_not_found', 'The host "fw1.example.net" was not found: the name does not resolve to an address.'],
    [sysErr('EAI_AGAIN'), 'host_not_found', expect.stringContaining('could not be looked up')],
    [sysErr('ETIMEDOUT'), 'timed_out', 'fw1.example.net:2222 did not answer in time.'],
    [sysErr('ECONNRESET'), 'connection_lost', 'The connection to fw1.example.net:2222 was reset.'],
    [sshErr('Timed out while waiting for handshake', 'client-timeout'), 'timed_out', 'fw1.example.net:2222 did not complete the SSH connection within 20 s.'],
    [sshErr('Keepalive timeout', 'client-timeout'), 'keepalive_timed_out', expect.stringContaining('no reply to keepalives')],
    [sshErr('Handshake failed: no matching key exchange algorithm', 'handshake'), 'remote_error', expect.stringContaining('no matching key exchange algorithm')],
  ])('%s', (err, reason, message) => {
    const e = connectionError(ep, err, 20_000);
    expect(e).toBeInstanceOf(SshError);
    expect(e.reason).toBe(reason);
    expect(e.message).toEqual(message);
  });

  it('writes IPv6 addresses in brackets', () => {
    expect(where({ host: 'fd00::5', port: 22 })).toBe('[fd00::5]:22');
  });
});

describe('each domain takes the core’s failures over in the same words', () => {
  it('lib/devices: a connect timeout, a keepalive timeout, transient or not', () => {
    const t = deviceErrorOf(connectionError(ep, sshErr('Timed out while waiting for handshake', 'client-timeout'), 20_000));
    expect(t).toMatchObject({ reason: 'connect_timed_out', transient: true });
    expect(deviceErrorOf(connectionError(ep, sshErr('Keepalive timeout', 'client-timeout'), 1))).toMatchObject({ reason: 'connection_lost', transient: true });
    expect(deviceErrorOf(connectionError(ep, sysErr('EHOSTUNREACH'), 1))).toMatchObject({ reason: 'unreachable', transient: true });
    expect(deviceErrorOf(connectionError(ep, sysErr('ENOTFOUND'), 1))).toMatchObject({ reason: 'host_not_found', transient: false });
    expect(deviceErrorOf(new SshError('aborted', 'x'))).toMatchObject({ reason: 'cancelled' });
    const fault = deviceErrorOf(new RangeError('boom'));
    expect(fault).toBeInstanceOf(DeviceError);
    expect(fault).toMatchObject({ reason: 'internal', code: 'internal' });
    expect(fault.message).not.toContain('boom');
  });

  it('lib/sources: the same reasons, a keepalive timeout as timed_out', () => {
    const e = sourceErrorOf(connectionError(ep, sshErr('Keepalive timeout', 'client-timeout'), 1));
    expect(isSourceError(e, 'timed_out')).toBe(true);
    expect(isSourceError(sourceErrorOf(connectionError(ep, sysErr('ECONNREFUSED'), 1)), 'connection_refused')).toBe(true);
  });
});
