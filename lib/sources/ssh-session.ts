import net from 'node:net';
import { Client, type AnyAuthMethod, type AuthHandlerMiddleware, type ConnectConfig, type NextAuthHandler } from 'ssh2';
import { abortedError, remoteText, SourceError } from './errors';
import { hostKeyAlgorithms, hostKeyOf, type HostKey } from './host-key';
import type { RemoteCredentials } from './schemas';

/**
 * One SSH connection through ssh2, with the host key checked during key
 * exchange (ssh2's hostVerifier, always set): the connection goes on past
 * key exchange only if the key the host presents is the one expected, so a
 * refused host never sees a user name, a password or a key signature.
 * Every failure becomes a SourceError in words.
 */

export const DEFAULT_READY_TIMEOUT_MS = 20_000;
/** An SSH keepalive every 10 s; 3 unanswered and the connection counts as dead. */
const KEEPALIVE_INTERVAL_MS = 10_000;
const KEEPALIVE_COUNT_MAX = 3;

export type Endpoint = { host: string; port: number };

/** What the host must present: the pinned key, or the fingerprint the caller was given. */
export type ExpectedHostKey = { fingerprint: string; keyType?: string; from: 'pinned' | 'given' };

export type SessionOptions = {
  readyTimeoutMs?: number;
  signal?: AbortSignal;
};

export function where(ep: Endpoint): string {
  return `${ep.host.includes(':') ? `[${ep.host}]` : ep.host}:${ep.port}`;
}

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
  let refusal: SourceError | null = null;
  const verify = (key: HostKey): boolean => {
    if (expected === null) {
      refusal = new SourceError(
        'host_key_unknown',
        `The host key of ${where(ep)} is not pinned, so nothing was sent to it. It presents ${key.keyType} ${key.fingerprint}. ` +
          'Compare this with the fingerprint the host’s administrator gives you (ssh-keygen -lf on the host’s public key file), then pin it, or pass it with --fingerprint.',
      );
      return false;
    }
    if (key.fingerprint === expected.fingerprint) return true;
    refusal =
      expected.from === 'pinned'
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
    return false;
  };

  let authMethods: string[] | null = null;
  const auth = authHandler(ep.user, ep.credentials, (left) => {
    authMethods = left;
  });
  const client = await connect(ep, { username: ep.user, authHandler: auth, hostVerifier: verify, preferredKeyType: expected?.keyType }, opts, (err) => {
    if (refusal) return refusal;
    if ((err as { level?: string }).level === 'client-authentication') {
      const how = 'password' in ep.credentials ? 'this password' : 'this key';
      const accepts = authMethods && authMethods.length > 0 ? ` (it accepts: ${authMethods.join(', ')})` : '';
      return new SourceError('credentials_rejected', `${where(ep)} did not accept the user "${ep.user}" with ${how}${accepts}.`);
    }
    return null;
  });
  let failure: SourceError | null = null;
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  client.on('error', (err: Error) => {
    failure ??= connectionError(ep, err, readyTimeoutMs);
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
 * Connects only to read the host key, and disconnects during key exchange
 * (the verifier refuses every key): nothing is authenticated. `preferredKeyType`
 * makes a host with several keys present that one, as a fetch would.
 */
export async function readHostKey(ep: Endpoint, opts: SessionOptions & { preferredKeyType?: string } = {}): Promise<HostKey> {
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
      preferredKeyType: opts.preferredKeyType,
    },
    opts,
    () => null,
    () => seen !== null,
  ).catch((err: unknown) => {
    if (seen) return null;
    throw err;
  });
  client?.end();
  if (!seen) throw new SourceError('remote_error', `${where(ep)} closed the connection before it presented a host key.`);
  return seen;
}

type ConnectSpec = {
  username: string;
  authHandler: ConnectConfig['authHandler'];
  hostVerifier: (key: HostKey) => boolean;
  preferredKeyType?: string;
};

function connect(
  ep: Endpoint,
  spec: ConnectSpec,
  opts: SessionOptions,
  explain: (err: Error) => SourceError | null,
  settledEarly: () => boolean = () => false,
): Promise<Client> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const { signal } = opts;
  return new Promise<Client>((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError());
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
    const onAbort = () => finish(abortedError());
    signal?.addEventListener('abort', onAbort, { once: true });

    // Our own socket, so that Nagle is off (ssh2 leaves it on): SFTP and SCP
    // exchange many small packets. It must be connecting before ssh2 sees it.
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
      finish(new SourceError('connection_lost', `${where(ep)} closed the connection before the login finished.`));
    });
    try {
      client.connect({
        sock,
        host: ep.host,
        port: ep.port,
        username: spec.username,
        authHandler: spec.authHandler,
        readyTimeout: readyTimeoutMs,
        keepaliveInterval: KEEPALIVE_INTERVAL_MS,
        keepaliveCountMax: KEEPALIVE_COUNT_MAX,
        algorithms: { serverHostKey: hostKeyAlgorithms(spec.preferredKeyType) as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
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
function authHandler(user: string, credentials: RemoteCredentials, onMethodsLeft: (left: string[]) => void): AuthHandlerMiddleware {
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
export function connectionError(ep: Endpoint, err: Error, readyTimeoutMs: number): SourceError {
  const code = (err as NodeJS.ErrnoException).code;
  const level = (err as { level?: string }).level;
  const w = where(ep);
  switch (code) {
    case 'ECONNREFUSED':
      return new SourceError('connection_refused', `${w} refused the connection: no SSH server listens on port ${ep.port} there.`);
    case 'ENOTFOUND':
    case 'EAI_NONAME':
    case 'EAI_NODATA':
      return new SourceError('host_not_found', `The host "${ep.host}" was not found: the name does not resolve to an address.`);
    case 'EAI_AGAIN':
      return new SourceError('host_not_found', `The host name "${ep.host}" could not be looked up (the name server did not answer). Check the appliance's DNS settings, or use the host's address.`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return new SourceError('unreachable', `${w} cannot be reached from the appliance (no route to it).`);
    case 'ETIMEDOUT':
      return new SourceError('timed_out', `${w} did not answer in time.`);
    case 'ECONNRESET':
    case 'EPIPE':
      return new SourceError('connection_lost', `The connection to ${w} was reset.`);
  }
  if (level === 'client-timeout') {
    if (/keepalive/i.test(err.message)) return new SourceError('timed_out', `${w} stopped answering (no reply to keepalives); the connection was closed.`);
    return new SourceError('timed_out', `${w} did not complete the SSH connection within ${Math.round(readyTimeoutMs / 1000)} s.`);
  }
  if (level === 'client-authentication') return new SourceError('credentials_rejected', `${w} did not accept the login.`);
  if (level === 'handshake' || level === 'protocol') return new SourceError('remote_error', `The SSH connection to ${w} failed: ${remoteText(err.message)}.`);
  return new SourceError('connection_lost', `The connection to ${w} failed: ${remoteText(err.message)}.`);
}
