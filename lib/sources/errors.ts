import { AppError, type ErrorCode } from '../errors';

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

/** Text from a remote program, fit to be quoted in a message: one line, no control characters, bounded. */
export function remoteText(text: string, max = 300): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
