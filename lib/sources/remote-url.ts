import net from 'node:net';
import { checkHost, checkUser, DEFAULT_SSH_PORT, normalizeHost } from '../ssh/fields';

/**
 * A file on a remote host as users write it (the CLI's `webconf restore sftp://…`):
 *
 *   sftp://user@host[:port]/path     scp://user@host[:port]/path
 *
 *   user   required, percent-encoded if it holds reserved characters
 *          (domain users: sftp://backup%40corp@host/…); never a password
 *          (user:password@ is refused: it would end up in shell history and logs)
 *   host   a name, an IPv4 address or a bracketed IPv6 address ([fd00::5])
 *   port   default 22
 *   path   percent-decoded; /abs/path is absolute on the host, /~/rel/path is
 *          relative to the user's home folder (as in the SFTP URI draft)
 *
 * No query, no fragment. Parsed and refused before anything connects.
 */
export type RemoteProtocol = 'sftp' | 'scp';

export type RemoteLocation = {
  protocol: RemoteProtocol;
  host: string;
  port: number;
  user: string;
  /** Absolute ("/srv/x.age") or relative to the home folder ("backups/x.age"). */
  path: string;
};

export class RemoteUrlError extends Error {
  constructor(
    message: string,
    /** The part of the address that is wrong: url, host, port, user or path. */
    readonly field: 'url' | 'host' | 'port' | 'user' | 'path',
  ) {
    super(message);
    this.name = 'RemoteUrlError';
  }
}

export const MAX_REMOTE_PATH = 4096;

const FORM = /^(sftp|scp):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/i;

export function parseRemoteUrl(input: string): RemoteLocation {
  const text = input.trim();
  const m = FORM.exec(text);
  if (!m) {
    throw new RemoteUrlError('A remote file is written sftp://user@host/path or scp://user@host/path, for example sftp://backup@10.0.0.5/srv/backups/console.age.', 'url');
  }
  const [, scheme = '', authority = '', rawPath = '', query, fragment] = m;
  if (query !== undefined || fragment !== undefined) throw new RemoteUrlError('A remote file address has no ?query or #fragment.', 'url');
  const at = authority.lastIndexOf('@');
  if (at < 0) throw new RemoteUrlError('Put the user name in the address: sftp://user@host/path.', 'user');
  const userInfo = authority.slice(0, at);
  const hostPort = authority.slice(at + 1);
  if (userInfo.includes(':')) {
    throw new RemoteUrlError('Do not put a password in the address (it would be kept in shell history and logs); it is asked for separately.', 'user');
  }
  const user = decode(userInfo, 'user');
  const userProblem = checkUser(user);
  if (userProblem) throw new RemoteUrlError(userProblem, 'user');

  const hp = /^(?:\[([^\]]*)\]|([^:[\]]*))(?::(\d*))?$/.exec(hostPort);
  if (!hp) throw new RemoteUrlError(`"${hostPort}" is not a host name or address (write an IPv6 address in brackets: [fd00::5]).`, 'host');
  const host = hp[1] ?? hp[2] ?? '';
  if (hp[1] !== undefined && net.isIPv6(host) === false) throw new RemoteUrlError(`"${host}" is not an IPv6 address.`, 'host');
  const hostProblem = checkHost(host);
  if (hostProblem) throw new RemoteUrlError(hostProblem, 'host');
  let port = DEFAULT_SSH_PORT;
  if (hp[3] !== undefined) {
    port = Number(hp[3]);
    if (hp[3] === '' || !Number.isInteger(port) || port < 1 || port > 65535) throw new RemoteUrlError('The port must be a number from 1 to 65535.', 'port');
  }

  let path = decode(rawPath, 'path');
  if (path.startsWith('/~/')) path = path.slice(3);
  const pathProblem = checkPath(path);
  if (pathProblem) throw new RemoteUrlError(pathProblem, 'path');
  return { protocol: scheme.toLowerCase() as RemoteProtocol, host: normalizeHost(host), port, user, path };
}

/** The address in one spelling, without any credential: for messages, the audit and the UI. */
export function formatRemoteUrl(loc: RemoteLocation): string {
  const host = loc.host.includes(':') ? `[${loc.host}]` : loc.host;
  const port = loc.port === DEFAULT_SSH_PORT ? '' : `:${loc.port}`;
  const path = loc.path.startsWith('/') ? loc.path : `/~/${loc.path}`;
  const encodedPath = path.split('/').map(encodeURIComponent).join('/');
  return `${loc.protocol}://${encodeURIComponent(loc.user)}@${host}${port}${encodedPath}`;
}

/** The path rule, shared with the zod schemas: null when fine, else why not (in words). */
export function checkPath(path: string): string | null {
  if (path === '' || path === '/') return 'Enter the path of the backup file on the host.';
  if (path.length > MAX_REMOTE_PATH) return `The path has at most ${MAX_REMOTE_PATH} characters.`;
  // A newline would end SCP's command line and control records; NUL ends C strings on the host.
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'The path contains an invalid character.';
  if (path.endsWith('/')) return 'The path names a folder; name the backup file in it.';
  return null;
}

function decode(part: string, field: 'user' | 'path'): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RemoteUrlError(field === 'user' ? 'The user name in the address is not valid.' : 'The path in the address is not valid.', field);
  }
}
