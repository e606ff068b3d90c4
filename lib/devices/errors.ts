import { AppError, GENERIC_FAILURE, type ErrorCode } from '../errors';
import { SshError, type SshFailure } from '../ssh/errors';

/**
 * Why exporting a device's configuration failed. Every failure is a
 * DeviceError: an AppError whose message is written for the user (it names
 * the device's address, user and command, never a password, key or
 * passphrase), whose `reason` says which of these happened (for code, the
 * run's task record and tests), and whose `transient` says whether trying
 * again later can help (the pool retries only those).
 */
export type DeviceFailure =
  /** The device's settings or the model do not pass the schema (field says which). */
  | 'invalid_input'
  /** The private key or its passphrase cannot be read (found before connecting). */
  | 'bad_private_key'
  /** Nothing listens on that port (TCP RST). */
  | 'connection_refused'
  /** The host name does not resolve. */
  | 'host_not_found'
  /** No route to the device. */
  | 'unreachable'
  /** TCP connect, SSH handshake and login did not finish within the connect timeout. */
  | 'connect_timed_out'
  /** The device refused the user with these credentials. */
  | 'credentials_rejected'
  /** The device presented another host key than the pinned one: nothing was sent. */
  | 'host_key_changed'
  /** The SSH handshake failed (no common algorithm, a protocol error). */
  | 'ssh_failed'
  /** The connection broke (reset, closed, keepalives unanswered), e.g. in the middle of the output. */
  | 'connection_lost'
  /** The command did not finish within its time limit. */
  | 'command_timed_out'
  /** The command ended with a non-zero exit status, a signal, or no exit status. */
  | 'command_failed'
  /** The output is larger than the limit. */
  | 'output_too_large'
  /** The output is not a whole configuration of the model (empty, truncated, error text). */
  | 'invalid_output'
  /** The pool's watchdog ended the attempt at its deadline. */
  | 'watchdog_timed_out'
  /** The caller's AbortSignal fired. */
  | 'cancelled'
  /** A fault (a bug): shown generically; `cause` holds the original error for the log. */
  | 'internal';

const CODES: Record<DeviceFailure, ErrorCode> = {
  invalid_input: 'bad_request',
  bad_private_key: 'bad_request',
  connection_refused: 'unprocessable',
  host_not_found: 'unprocessable',
  unreachable: 'unprocessable',
  connect_timed_out: 'unprocessable',
  credentials_rejected: 'unprocessable',
  host_key_changed: 'conflict',
  ssh_failed: 'unprocessable',
  connection_lost: 'unprocessable',
  command_timed_out: 'unprocessable',
  command_failed: 'unprocessable',
  output_too_large: 'unprocessable',
  invalid_output: 'unprocessable',
  watchdog_timed_out: 'unprocessable',
  cancelled: 'conflict',
  internal: 'internal',
};

/**
 * Failures that may pass by themselves: a device rebooting refuses or resets
 * connections, a busy link times out. Not transient: credentials, host keys,
 * a failing command, an output that is not a configuration (trying again
 * gives the same answer, and hammering a device with a wrong password can
 * lock the account).
 */
const TRANSIENT: ReadonlySet<DeviceFailure> = new Set<DeviceFailure>([
  'connection_refused',
  'unreachable',
  'connect_timed_out',
  'connection_lost',
  'command_timed_out',
  'watchdog_timed_out',
]);

/** What a failure knows beyond its words, for the caller's record (no secrets). */
export type DeviceErrorDetails = {
  /** host_key_changed: the key the device presented, and the pinned fingerprint. */
  presentedKeyType?: string;
  presentedFingerprint?: string;
  pinnedFingerprint?: string;
  /** command_failed: the exit status, or the signal that ended the command. */
  exitStatus?: number;
  signal?: string;
  /** command_failed: the last line the command wrote to stderr (quoted, bounded). */
  stderrLine?: string;
  /** Bytes of output received before the failure. */
  bytes?: number;
};

export class DeviceError extends AppError {
  readonly reason: DeviceFailure;
  readonly details: DeviceErrorDetails;
  constructor(reason: DeviceFailure, message: string, opts: { field?: string; details?: DeviceErrorDetails; cause?: unknown } = {}) {
    super(CODES[reason], message, { field: opts.field });
    this.name = 'DeviceError';
    this.reason = reason;
    this.details = opts.details ?? {};
    if (opts.cause !== undefined) this.cause = opts.cause;
  }

  /** Whether trying again later can help. */
  get transient(): boolean {
    return TRANSIENT.has(this.reason);
  }
}

export function isDeviceError(err: unknown, reason?: DeviceFailure): err is DeviceError {
  return err instanceof DeviceError && (reason === undefined || err.reason === reason);
}

export function cancelledError(): DeviceError {
  return new DeviceError('cancelled', 'The export was cancelled; nothing was kept.');
}

const FROM_SSH: Record<SshFailure, DeviceFailure> = {
  connection_refused: 'connection_refused',
  host_not_found: 'host_not_found',
  unreachable: 'unreachable',
  timed_out: 'connect_timed_out',
  keepalive_timed_out: 'connection_lost',
  connection_lost: 'connection_lost',
  credentials_rejected: 'credentials_rejected',
  remote_error: 'ssh_failed',
  aborted: 'cancelled',
};

/**
 * Any failure as a DeviceError: the SSH core's in the same words, a
 * DeviceError as it is, anything else as a fault (generic words, the
 * original kept as `cause` for the log).
 */
export function deviceErrorOf(err: unknown): DeviceError {
  if (err instanceof DeviceError) return err;
  if (err instanceof SshError) return err.reason === 'aborted' ? cancelledError() : new DeviceError(FROM_SSH[err.reason], err.message);
  return new DeviceError('internal', GENERIC_FAILURE, { cause: err });
}
