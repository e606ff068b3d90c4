import type { Client } from 'ssh2';
import { connectionError, DEFAULT_READY_TIMEOUT_MS, login, readHostKey as readKey, where, type Endpoint } from '../ssh/connect';
import type { HostKey } from '../ssh/host-key';
import { SourceError, sourceErrorOf } from './errors';
import type { RemoteCredentials } from './schemas';

/**
 * One SSH connection for a file transfer, through the shared connection core
 * (lib/ssh/connect.ts: host key checked during key exchange, connect timeout,
 * keepalives, Nagle off). Here: which key is expected (pinned, or given by
 * the caller), the restore's wording of a refused key, and every failure as
 * a SourceError in words.
 */

export { DEFAULT_READY_TIMEOUT_MS, where, type Endpoint };

/** What the host must present: the pinned key, or the fingerprint the caller was given. */
export type ExpectedHostKey = { fingerprint: string; keyType?: string; from: 'pinned' | 'given' };

export type SessionOptions = {
  readyTimeoutMs?: number;
  signal?: AbortSignal;
};

/** A logged-in connection. `failure` is set when the connection failed after login (keepalives, reset). */
export type SshSession = { client: Client; failure: () => SourceError | null; end: () => void };

/**
 * Connects, checks the host key against `expected` (null: nothing pinned, so
 * refuse, naming the key presented), logs in and resolves with the ready
 * session. The caller ends it.
 */
export async function openSession(
  ep: Endpoint & { user: string; credentials: RemoteCredentials },
  expected: ExpectedHostKey | null,
  opts: SessionOptions = {},
): Promise<SshSession> {
  const check = (key: HostKey): SourceError | null => {
    if (expected === null) {
      return new SourceError(
        'host_key_unknown',
        `The host key of ${where(ep)} is not pinned, so nothing was sent to it. It presents ${key.keyType} ${key.fingerprint}. ` +
          'Compare this with the fingerprint the host’s administrator gives you (ssh-keygen -lf on the host’s public key file), then pin it, or pass it with --fingerprint.',
      );
    }
    if (key.fingerprint === expected.fingerprint) return null;
    return expected.from === 'pinned'
      ? new SourceError(
          'host_key_changed',
          `The host key of ${where(ep)} has CHANGED: it presents ${key.keyType} ${key.fingerprint}, but ${expected.keyType ?? ''} ${expected.fingerprint} is pinned. ` +
            'Someone may be intercepting the connection; nothing was sent to the host and the pinned key was kept. ' +
            'If the host’s key was replaced on purpose, check the new fingerprint with its administrator and pin it.',
        )
      : new SourceError(
          'host_key_changed',
          `The host key of ${where(ep)} does not match the fingerprint given: it presents ${key.keyType} ${key.fingerprint}, not ${expected.fingerprint}. ` +
            'Nothing was sent to the host.',
        );
  };

  const client = await login(ep, check, { ...opts, preferredKeyType: expected?.keyType }).catch((err: unknown) => {
    throw sourceErrorOf(err);
  });
  let failure: SourceError | null = null;
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  client.on('error', (err: Error) => {
    failure ??= sourceErrorOf(connectionError(ep, err, readyTimeoutMs)) as SourceError;
  });
  client.on('close', () => {
    failure ??= new SourceError('connection_lost', `The connection to ${where(ep)} was closed during the transfer.`);
  });
  let ended = false;
  return {
    client,
    failure: () => (ended ? null : failure),
    end: () => {
      ended = true;
      client.end();
    },
  };
}


/**
 * Connects only to read the host key, and disconnects during key exchange:
 * nothing is authenticated. `preferredKeyType` makes a host with several keys
 * present that one, as a fetch would.
 */
export async function readHostKey(ep: Endpoint, opts: SessionOptions & { preferredKeyType?: string } = {}): Promise<HostKey> {
  return readKey(ep, opts).catch((err: unknown) => {
    throw sourceErrorOf(err);
  });
}
