import type { Client } from 'ssh2';
import { connectionError, login, readHostKey, where, type Endpoint } from '../ssh/connect';
import type { HostKey } from '../ssh/host-key';
import { DeviceError, deviceErrorOf } from './errors';
import type { DeviceConnection } from './schemas';

/**
 * One SSH session to a device, through the shared connection core
 * (lib/ssh/connect.ts): host key checked against the pin during key
 * exchange, before the user name or any credential is sent; the device's
 * connect timeout and keepalives; Nagle off.
 */

/** How long a session that was asked to end may take to close before its socket is destroyed. */
const CLOSE_GRACE_MS = 2000;

export type DeviceSession = {
  client: Client;
  endpoint: Endpoint;
  /** host:port, for messages. */
  where: string;
  /** The key the device presented (the pinned one). */
  hostKey: HostKey;
  /** Set once the connection failed or closed after login; null while it is up. */
  failure: () => DeviceError | null;
  /** When the connection failed with an error (reset, keepalives unanswered) rather than closed: that error's words. */
  failureCause: () => string | null;
  /** Whether the connection is gone (closed by either side, or destroyed). */
  closed: () => boolean;
  /** Ends the session and resolves once its socket closed (destroyed after a grace period). Safe to call twice. */
  close: () => Promise<void>;
  /** Tears the connection down at once. */
  destroy: () => void;
};

function endpointOf(device: DeviceConnection): Endpoint {
  return { host: device.host, port: device.port };
}

/** The host key check against the pin: a different key is refused, naming both fingerprints. */
function pinCheck(device: DeviceConnection, presented: { current: HostKey | null }) {
  const pinned = device.hostKey!;
  const w = where(endpointOf(device));
  return (key: HostKey): DeviceError | null => {
    presented.current = key;
    if (key.fingerprint === pinned.fingerprint) return null;
    return new DeviceError(
      'host_key_changed',
      `The host key of ${w} has CHANGED: it presents ${key.keyType} ${key.fingerprint}, but ${pinned.keyType ? `${pinned.keyType} ` : ''}${pinned.fingerprint} is pinned. ` +
        'Nothing was sent to the device (someone may be intercepting the connection). Its backups stop until an admin checks the new fingerprint with the device’s administrator and accepts it.',
      { details: { presentedKeyType: key.keyType, presentedFingerprint: key.fingerprint, pinnedFingerprint: pinned.fingerprint } },
    );
  };
}

/** Connects, checks the pinned host key, logs in. The device must have a pinned key (see probeDevice otherwise). */
export async function openDeviceSession(device: DeviceConnection, signal?: AbortSignal): Promise<DeviceSession> {
  if (!device.hostKey) throw new Error('openDeviceSession needs a pinned host key');
  const ep = endpointOf(device);
  const presented: { current: HostKey | null } = { current: null };
  const client = await login({ ...ep, user: device.username, credentials: device.credentials }, pinCheck(device, presented), {
    readyTimeoutMs: device.limits.connectTimeoutMs,
    keepaliveIntervalMs: device.limits.keepaliveIntervalMs,
    keepaliveCountMax: device.limits.keepaliveCountMax,
    preferredKeyType: device.hostKey.keyType,
    signal,
  }).catch((err: unknown) => {
    throw deviceErrorOf(err);
  });

  const w = where(ep);
  let failure: DeviceError | null = null;
  let cause: string | null = null;
  let isClosed = false;
  let ending = false;
  const closedWaiters: (() => void)[] = [];
  client.on('error', (err: Error) => {
    if (failure) return;
    failure = deviceErrorOf(connectionError(ep, err, device.limits.connectTimeoutMs));
    cause = failure.message;
  });
  client.on('close', () => {
    isClosed = true;
    if (!ending) failure ??= new DeviceError('connection_lost', `${w} closed the connection.`);
    for (const wake of closedWaiters.splice(0)) wake();
  });
  const whenClosed = () => (isClosed ? Promise.resolve() : new Promise<void>((r) => closedWaiters.push(r)));
  return {
    client,
    endpoint: ep,
    where: w,
    hostKey: presented.current!,
    failure: () => failure,
    failureCause: () => cause,
    closed: () => isClosed,
    destroy: () => {
      ending = true;
      client.destroy();
    },
    close: async () => {
      ending = true;
      if (isClosed) return;
      client.end();
      const timer = setTimeout(() => client.destroy(), CLOSE_GRACE_MS);
      // Past twice the grace, the socket is destroyed whether or not its close was seen: never wait forever here.
      let giveUp: NodeJS.Timeout | undefined;
      await Promise.race([whenClosed(), new Promise<void>((r) => (giveUp = setTimeout(r, 2 * CLOSE_GRACE_MS)))]);
      clearTimeout(timer);
      clearTimeout(giveUp);
    },
  };
}

/** Probe mode: reads the host key the device presents and disconnects during key exchange; nothing is authenticated, no command runs. */
export async function probeDevice(device: DeviceConnection, signal?: AbortSignal): Promise<HostKey> {
  return readHostKey(endpointOf(device), { readyTimeoutMs: device.limits.connectTimeoutMs, preferredKeyType: device.hostKey?.keyType, signal }).catch((err: unknown) => {
    throw deviceErrorOf(err);
  });
}
