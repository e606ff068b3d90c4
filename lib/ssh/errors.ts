import { AppError, type ErrorCode } from '../errors';

/**
 * Why an SSH connection could not be made, or broke. The connection core
 * (connect.ts) throws these; each domain that uses it (lib/sources,
 * lib/devices) turns them into its own AppError with the same words, so a
 * user meets one wording per failure whichever feature connected. Messages
 * name the host, port and user, never a password, key or passphrase.
 */
export type SshFailure =
  /** Nothing listens on that port (TCP RST). */
  | 'connection_refused'
  /** The host name does not resolve. */
  | 'host_not_found'
  /** No route to the host or network. */
  | 'unreachable'
  /** TCP connect, SSH handshake and login did not finish within the connect timeout. */
  | 'timed_out'
  /** The host stopped answering keepalives after login. */
  | 'keepalive_timed_out'
  /** The connection broke (reset, closed) after it was made. */
  | 'connection_lost'
  /** The server refused the user with these credentials. */
  | 'credentials_rejected'
  /** The SSH handshake failed (no common algorithm, a protocol error). */
  | 'remote_error'
  /** The caller's AbortSignal fired. */
  | 'aborted';

const CODES: Record<SshFailure, ErrorCode> = {
  connection_refused: 'unprocessable',
  host_not_found: 'unprocessable',
  unreachable: 'unprocessable',
  timed_out: 'unprocessable',
  keepalive_timed_out: 'unprocessable',
  connection_lost: 'unprocessable',
  credentials_rejected: 'unprocessable',
  remote_error: 'unprocessable',
  aborted: 'conflict',
};

export class SshError extends AppError {
  readonly reason: SshFailure;
  constructor(reason: SshFailure, message: string) {
    super(CODES[reason], message);
    this.name = 'SshError';
    this.reason = reason;
  }
}

/** Text from a remote program, fit to be quoted in a message: one line, no control characters, bounded. */
export function remoteText(text: string, max = 300): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
