import { AppError, type ErrorCode } from '../errors';
import { remoteText, SshError, type SshFailure } from '../ssh/errors';

export { remoteText };

/**
 * Why fetching or receiving a file failed. Every failure a user can act on is
 * a SourceError: an AppError (so it reaches the user in its own words) that
 * also says which of these happened, for code and tests. Messages name the
 * host, port, user and path, never a password, key or passphrase.
 */
export type SourceFailure =
  /** Nothing listens on that port (TCP RST). */
  | 'connection_refused'
  /** The host name does not resolve. */
  | 'host_not_found'
  /** No route to the host or network. */
  | 'unreachable'
  /** No SSH handshake within the connect timeout, or keepalives unanswered. */
  | 'timed_out'
  /** The connection broke after it was made. */
  | 'connection_lost'
  /** The server refused the user with these credentials. */
  | 'credentials_rejected'
  /** The private key or its passphrase cannot be read (found before connecting). */
  | 'bad_private_key'
  /** The host's key is not pinned and no fingerprint was given: nothing was sent. */
  | 'host_key_unknown'
  /** The host presented another key than the pinned or given one: nothing was sent. */
  | 'host_key_changed'
  | 'no_such_file'
  | 'permission_denied'
  | 'not_a_file'
  /** Larger than the caller's maxBytes (the temp file is removed). */
  | 'too_large'
  /** The caller's AbortSignal fired (the temp file is removed). */
  | 'aborted'
  /** The host has no scp program, or offers no SFTP subsystem. */
  | 'unsupported'
  /** The remote side broke its protocol, or reported an error of its own. */
  | 'remote_error'
  /** An upload that is not an age file. */
  | 'not_age'
  /** The folder for the temporary file is full. */
  | 'no_space';

const CODES: Record<SourceFailure, ErrorCode> = {
  connection_refused: 'unprocessable',
  host_not_found: 'unprocessable',
  unreachable: 'unprocessable',
  timed_out: 'unprocessable',
  connection_lost: 'unprocessable',
  credentials_rejected: 'unprocessable',
  bad_private_key: 'bad_request',
  host_key_unknown: 'conflict',
  host_key_changed: 'conflict',
  no_such_file: 'not_found',
  permission_denied: 'unprocessable',
  not_a_file: 'unprocessable',
  too_large: 'unprocessable',
  aborted: 'conflict',
  unsupported: 'unprocessable',
  remote_error: 'unprocessable',
  not_age: 'unprocessable',
  no_space: 'internal',
};

export class SourceError extends AppError {
  readonly reason: SourceFailure;
  constructor(reason: SourceFailure, message: string, opts: { field?: string } = {}) {
    super(CODES[reason], message, opts);
    this.name = 'SourceError';
    this.reason = reason;
  }
}

export function isSourceError(err: unknown, reason?: SourceFailure): err is SourceError {
  return err instanceof SourceError && (reason === undefined || err.reason === reason);
}

/** The one wording of a cancelled transfer. */
export function abortedError(): SourceError {
  return new SourceError('aborted', 'The transfer was cancelled; nothing was kept.');
}

const FROM_SSH: Record<SshFailure, SourceFailure> = {
  connection_refused: 'connection_refused',
  host_not_found: 'host_not_found',
  unreachable: 'unreachable',
  timed_out: 'timed_out',
  keepalive_timed_out: 'timed_out',
  connection_lost: 'connection_lost',
  credentials_rejected: 'credentials_rejected',
  remote_error: 'remote_error',
  aborted: 'aborted',
};

/** A failure of the SSH connection core (lib/ssh) as a SourceError, in the same words; anything else as it is. */
export function sourceErrorOf(err: unknown): unknown {
  if (!(err instanceof SshError)) return err;
  if (err.reason === 'aborted') return abortedError();
  return new SourceError(FROM_SSH[err.reason], err.message);
}
