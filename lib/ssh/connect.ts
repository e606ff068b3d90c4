import net from 'node:net';
import { Client, type AnyAuthMethod, type AuthHandlerMiddleware, type ConnectConfig, type NextAuthHandler } from 'ssh2';
import { remoteText, SshError } from './errors';
import { hostKeyAlgorithms, hostKeyOf, type HostKey } from './host-key';
import type { SshCredentials } from './schemas';

/**
 * The SSH connection core through ssh2, shared by every feature that logs in
 * to a host (lib/sources fetches a file, lib/devices exports a device's
 * configuration). It owns what must be the same everywhere:
 *
 * - the host key is checked during key exchange (ssh2's hostVerifier, always
 *   set): the connection goes on past key exchange only if the caller's check
 *   accepts the key, so a refused host never sees a user name, a password or
 *   a key signature;
 * - the connect timeout covers TCP connect, handshake and login (ssh2's
 *   readyTimeout starts before the socket connects); keepalives after login;
 * - Nagle is off on the socket (ssh2 leaves it on; SSH exchanges many small packets);
 * - one login method, the one that fits the credentials;
 * - every failure becomes an SshError in words.
 */

export const DEFAULT_READY_TIMEOUT_MS = 20_000;
/** An SSH keepalive every 10 s; 3 unanswered and the connection counts as dead. */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 10_000;
export const DEFAULT_KEEPALIVE_COUNT_MAX = 3;

export type Endpoint = { host: string; port: number };

export type ConnectOptions = {
  /** TCP connect, SSH handshake and login must finish within this; default 20 s. */
  readyTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  signal?: AbortSignal;
  /** Offer the algorithms of this host key type first (the pinned key's), so that a host with several keys presents that one. */
  preferredKeyType?: string;
};

/**
 * Decides on the host key presented during key exchange: null lets the
 * connection go on; an error refuses the key, and the connection fails with
 * exactly that error (the caller's own type and words).
 */
export type HostKeyCheck = (key: HostKey) => Error | null;

export function where(ep: Endpoint): string {
  return `${ep.host.includes(':') ? `[${ep.host}]` : ep.host}:${ep.port}`;
}

export function cancelledError(): SshError {
  return new SshError('aborted', 'The connection was cancelled.');
}

/**
 * Connects, lets `checkHostKey` decide on the host key, logs in and resolves
 * with the ready client (the caller ends it, and listens for its later
 * 'error' and 'close'). Rejects with the check's error, credentials_rejected,
 * or the connection's failure in words.
 */
export function login(ep: Endpoint & { user: string; credentials: SshCredentials }, checkHostKey: HostKeyCheck, opts: ConnectOptions = {}): Promise<Client> {
  let refusal: Error | null = null;
  let authMethods: string[] | null = null;
  const auth = authHandler(ep.user, ep.credentials, (left) => {
    authMethods = left;
  });
  return connect(
    ep,
    {
      username: ep.user,
      authHandler: auth,
      hostVerifier: (key) => {
        refusal = checkHostKey(key);
        return refusal === null;
      },
    },
    opts,
    (err) => {
      if (refusal) return refusal;
      if ((err as { level?: string }).level === 'client-authentication') {
        const how = 'password' in ep.credentials ? 'this password' : 'this key';
        const accepts = authMethods && authMethods.length > 0 ? ` (it accepts: ${authMethods.join(', ')})` : '';
        return new SshError('credentials_rejected', `${where(ep)} did not accept the user "${ep.user}" with ${how}${accepts}.`);
      }
      return null;
    },
  );
}

/**
 * Connects only to read the host key, and disconnects during key exchange
 * (the verifier refuses every key): nothing is authenticated, no user name is sent.
 */
export async function readHostKey(ep: Endpoint, opts: ConnectOptions = {}): Promise<HostKey> {
  let seen: HostKey | null = null;
  const client = await connect(
    ep,
    {
      // Never sent: the connection ends in key exchange, before authentication.
      username: 'webconf-probe',
      authHandler: () => false,
      hostVerifier: (key) => {
        seen = key;
        return false;
      },
    },
    opts,
    () => null,
    () => seen !== null,
  ).catch((err: unknown) => {
    if (seen) return null;
    throw err;
  });
  client?.end();
  if (!seen) throw new SshError('remote_error', `${where(ep)} closed the connection before it presented a host key.`);
  return seen;
}

type ConnectSpec = {
  username: string;
  authHandler: ConnectConfig['authHandler'];
  hostVerifier: (key: HostKey) => boolean;
};

function connect(
  ep: Endpoint,
  spec: ConnectSpec,
  opts: ConnectOptions,
  explain: (err: Error) => Error | null,
  settledEarly: () => boolean = () => false,
): Promise<Client> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const { signal } = opts;
  return new Promise<Client>((resolve, reject) => {
    if (signal?.aborted) return reject(cancelledError());
    const client = new Client();
    let settled = false;
    const finish = (err: unknown, ok?: Client) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        client.destroy();
        reject(err);
      } else resolve(ok!);
    };
    const onAbort = () => finish(cancelledError());
    signal?.addEventListener('abort', onAbort, { once: true });

    // Our own socket, so that Nagle is off. It must be connecting before ssh2 sees it.
    const sock = new net.Socket();
    sock.setNoDelay(true);
    sock.connect({ host: ep.host, port: ep.port });

    client.on('ready', () => finish(null, client));
    client.on('error', (err: Error) => {
      if (settledEarly()) return finish(err);
      finish(explain(err) ?? connectionError(ep, err, readyTimeoutMs));
    });
    client.on('close', () => {
      if (settledEarly()) return finish(new Error('closed'));
      finish(new SshError('connection_lost', `${where(ep)} closed the connection before the login finished.`));
    });
    try {
      client.connect({
        sock,
        host: ep.host,
        port: ep.port,
        username: spec.username,
        authHandler: spec.authHandler,
        readyTimeout: readyTimeoutMs,
        keepaliveInterval: opts.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_INTERVAL_MS,
        keepaliveCountMax: opts.keepaliveCountMax ?? DEFAULT_KEEPALIVE_COUNT_MAX,
        algorithms: { serverHostKey: hostKeyAlgorithms(opts.preferredKeyType) as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
        // Without hostHash, ssh2 hands the verifier the raw key blob.
        hostVerifier: (blob: Buffer) => {
          let key: HostKey;
          try {
            key = hostKeyOf(blob);
          } catch {
            return false;
          }
          return spec.hostVerifier(key);
        },
      });
    } catch (err) {
      sock.destroy();
      finish(err);
    }
  });
}

/** Offers only the method that fits the credentials (a password also through keyboard-interactive). */
function authHandler(user: string, credentials: SshCredentials, onMethodsLeft: (left: string[]) => void): AuthHandlerMiddleware {
  // (The types say methodsLeft is never null; ssh2 passes null on the first call.)
  const tries: AnyAuthMethod[] =
    'password' in credentials
      ? [
          { type: 'password', username: user, password: credentials.password },
          {
            type: 'keyboard-interactive',
            username: user,
            // The usual single hidden "Password:" prompt gets the password; anything else gets no answer.
            prompt: (_name, _instructions, _lang, prompts, finish) =>
              finish(prompts.length === 1 && !prompts[0]!.echo ? [credentials.password] : prompts.map(() => '')),
          },
        ]
      : [{ type: 'publickey', username: user, key: credentials.privateKey, passphrase: credentials.passphrase }];
  let next = 0;
  // ssh2 calls this first with methodsLeft null, then after each failure with what the host still accepts.
  const handler = (methodsLeft: string[] | null, _partialSuccess: boolean | null, callback: NextAuthHandler) => {
    if (methodsLeft) onMethodsLeft(methodsLeft);
    while (next < tries.length) {
      const t = tries[next++]!;
      if (!methodsLeft || methodsLeft.includes(t.type)) return callback(t);
    }
    // false: no method left; ssh2 then fails with level client-authentication.
    return (callback as unknown as (auth: false) => void)(false);
  };
  return handler as AuthHandlerMiddleware;
}

/** A socket or handshake failure in words. */
export function connectionError(ep: Endpoint, err: Error, readyTimeoutMs: number): SshError {
  const code = (err as NodeJS.ErrnoException).code;
  const level = (err as { level?: string }).level;
  const w = where(ep);
  switch (code) {
    case 'ECONNREFUSED':
      return new SshError('connection_refused', `${w} refused the connection: no SSH server listens on port ${ep.port} there.`);
    case 'ENOTFOUND':
    case 'EAI_NONAME':
    case 'EAI_NODATA':
      return new SshError('host_not_found', `The host "${ep.host}" was not found: the name does not resolve to an address.`);
    case 'EAI_AGAIN':
      return new SshError('host_not_found', `The host name "${ep.host}" could not be looked up (the name server did not answer). Check the appliance's DNS settings, or use the host's address.`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return new SshError('unreachable', `${w} cannot be reached from the appliance (no route to it).`);
    case 'ETIMEDOUT':
      return new SshError('timed_out', `${w} did not answer in time.`);
    case 'ECONNRESET':
    case 'EPIPE':
      return new SshError('connection_lost', `The connection to ${w} was reset.`);
  }
  if (level === 'client-timeout') {
    if (/keepalive/i.test(err.message)) return new SshError('keepalive_timed_out', `${w} stopped answering (no reply to keepalives); the connection was closed.`);
    return new SshError('timed_out', `${w} did not complete the SSH connection within ${Math.round(readyTimeoutMs / 1000)} s.`);
  }
  if (level === 'client-authentication') return new SshError('credentials_rejected', `${w} did not accept the login.`);
  if (level === 'handshake' || level === 'protocol') return new SshError('remote_error', `The SSH connection to ${w} failed: ${remoteText(err.message)}.`);
  return new SshError('connection_lost', `The connection to ${w} failed: ${remoteText(err.message)}.`);
}
