import { AppError, type ErrorCode } from '../errors';

/**
 * Why an S3 operation failed. Every failure of lib/s3 reaches callers as one
 * S3Error: an AppError whose message says in words where (endpoint, bucket),
 * what (the operation and object) and why, and whose `reason` says which of
 * these happened, for code and tests. The gateway's own error code (e.g.
 * SignatureDoesNotMatch), HTTP status and request id are kept beside it for
 * the log. Messages never hold the secret key nor the access key: text quoted
 * from a gateway or a library is scrubbed of both.
 */
export type S3Failure =
  /** InvalidAccessKeyId, SignatureDoesNotMatch: the gateway does not know the key or the secret is wrong. */
  | 'credentials_rejected'
  /** AccessDenied: the key is valid but may not do this on this bucket. */
  | 'access_denied'
  | 'bucket_not_found'
  /** No such object (get); head() answers null instead. */
  | 'not_found'
  /** Connection refused, no route to the host. */
  | 'unreachable'
  /** The endpoint's host name does not resolve. */
  | 'host_not_found'
  /** No connection within connectTimeoutMs, or no traffic for idleTimeoutMs. */
  | 'timed_out'
  /** The connection broke during a request or a download. */
  | 'connection_lost'
  /** The gateway's certificate is not trusted, or TLS failed (https:// to a plain HTTP port). */
  | 'tls_failed'
  /** RequestTimeTooSkewed: this machine's clock and the gateway's differ by more than 15 minutes. */
  | 'clock_skew'
  /** AuthorizationHeaderMalformed, PermanentRedirect: the region or endpoint does not fit the bucket. */
  | 'wrong_region'
  /** QuotaExceeded, EntityTooLarge: the bucket or the user's quota is full. */
  | 'quota_exceeded'
  /** HTTP 503, SlowDown: the gateway is overloaded or down behind its proxy. */
  | 'unavailable'
  /** Any other error the gateway reported (its code and status are quoted). */
  | 'gateway_error'
  /** The endpoint answered HTTP without an S3 error: it is not an S3 gateway (or not at that address). */
  | 'not_s3'
  /** Reading the data to upload failed; the upload was abandoned (the source's error is `cause`). */
  | 'source_failed'
  /** The caller's AbortSignal fired. */
  | 'aborted'
  /** check(): the probe object read back differs from what was written. */
  | 'verification_failed'
  /** An object name that would leave the configured folder, or is not a valid S3 key. */
  | 'invalid_key'
  /** The configuration does not pass s3ConfigSchema. */
  | 'invalid_config'
  /** Anything else: a fault, not something a user can act on. */
  | 'unexpected';

const CODES: Record<S3Failure, ErrorCode> = {
  credentials_rejected: 'unprocessable',
  access_denied: 'unprocessable',
  bucket_not_found: 'unprocessable',
  not_found: 'not_found',
  unreachable: 'unprocessable',
  host_not_found: 'unprocessable',
  timed_out: 'unprocessable',
  connection_lost: 'unprocessable',
  tls_failed: 'unprocessable',
  clock_skew: 'unprocessable',
  wrong_region: 'unprocessable',
  quota_exceeded: 'unprocessable',
  unavailable: 'unprocessable',
  gateway_error: 'unprocessable',
  not_s3: 'unprocessable',
  source_failed: 'unprocessable',
  aborted: 'conflict',
  verification_failed: 'unprocessable',
  invalid_key: 'bad_request',
  invalid_config: 'bad_request',
  unexpected: 'internal',
};

/** A multipart upload that could not be aborted (the gateway went away): its parts stay until abortIncompleteUploads(). */
export type IncompleteUpload = { key: string; uploadId: string };

export type S3ErrorDetails = {
  /** The object's key relative to the folder, when the operation had one. */
  key?: string;
  /** The gateway's error code (NoSuchBucket, SignatureDoesNotMatch, ...), when it sent one. */
  s3Code?: string;
  httpStatus?: number;
  requestId?: string;
  incompleteUpload?: IncompleteUpload;
  cause?: unknown;
};

export class S3Error extends AppError {
  readonly reason: S3Failure;
  readonly key?: string;
  readonly s3Code?: string;
  readonly httpStatus?: number;
  readonly requestId?: string;
  readonly incompleteUpload?: IncompleteUpload;
  constructor(reason: S3Failure, message: string, details: S3ErrorDetails = {}) {
    super(CODES[reason], message);
    this.name = 'S3Error';
    this.reason = reason;
    this.key = details.key;
    this.s3Code = details.s3Code;
    this.httpStatus = details.httpStatus;
    this.requestId = details.requestId;
    this.incompleteUpload = details.incompleteUpload;
    if (details.cause !== undefined) this.cause = details.cause;
  }
}

export function isS3Error(err: unknown, reason?: S3Failure): err is S3Error {
  return err instanceof S3Error && (reason === undefined || err.reason === reason);
}

/** What a message needs to say where and what, and what it must never say. */
export type FailureContext = {
  endpoint: string;
  bucket: string;
  /** "writing", "reading", "listing", ... */
  operation: string;
  /** The full key (folder included), quoted in the message. */
  fullKey?: string;
  /** The key relative to the folder, kept on the error. */
  key?: string;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /** Scrubbed from any quoted text. */
  secrets: string[];
};

export function failureMessage(ctx: Pick<FailureContext, 'endpoint' | 'bucket' | 'operation' | 'fullKey'>, reasonText: string): string {
  const what = ctx.fullKey === undefined ? ctx.operation : `${ctx.operation} "${ctx.fullKey}"`;
  return `S3 bucket "${ctx.bucket}" at ${ctx.endpoint}: ${what} failed: ${reasonText}.`;
}

/** Text from elsewhere, fit to be quoted: one line, no control characters, bounded, without the keys. */
export function quoted(text: string, secrets: string[], max = 200): string {
  let t = text;
  for (const s of secrets) if (s) t = t.split(s).join('…');
  // eslint-disable-next-line no-control-regex
  t = t.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

type SdkError = Error & {
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; requestId?: string; extendedRequestId?: string };
  Code?: string;
};

const CREDENTIAL_CODES = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'InvalidSecurity', 'TokenRefreshRequired']);
const ACCESS_CODES = new Set(['AccessDenied', 'AllAccessDisabled', 'AccountProblem', 'Forbidden', 'UserSuspended']);
const QUOTA_CODES = new Set(['QuotaExceeded', 'EntityTooLarge', 'InsufficientCapacity', 'TooManyBuckets']);
const UNAVAILABLE_CODES = new Set(['SlowDown', 'ServiceUnavailable', 'Throttling', 'ThrottlingException', 'RequestThrottled']);
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);
/** Names the SDK gives an error response it could not read an S3 error code from. */
const NO_CODE_NAMES = new Set(['Unknown', 'UnknownError', 'Error', 'S3ServiceException']);

function seconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

/**
 * The S3Error for anything an SDK call (or a stream from it) threw. An S3Error
 * passes through unchanged. Network errors are read from their `code` first:
 * the SDK's HTTP handler renames ECONNRESET and EPIPE "TimeoutError".
 */
export function toS3Error(err: unknown, ctx: FailureContext): S3Error {
  if (err instanceof S3Error) return err;
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const requestId = e.$metadata?.requestId;
  const name = typeof e.name === 'string' ? e.name : '';
  const code = typeof e.code === 'string' ? e.code : '';
  const host = (() => {
    try {
      return new URL(ctx.endpoint).hostname;
    } catch {
      return ctx.endpoint;
    }
  })();
  const make = (reason: S3Failure, text: string, s3Code?: string) =>
    new S3Error(reason, failureMessage(ctx, text), { key: ctx.key, s3Code, httpStatus: status, requestId });

  if (name === 'AbortError' || code === 'ABORT_ERR') return make('aborted', 'it was cancelled');

  // An answer from the gateway: an S3 error code (the SDK makes it the error's name) and an HTTP status.
  if (status !== undefined && status > 0) {
    const s3Code = NO_CODE_NAMES.has(name) || name === String(status) ? undefined : name;
    const said = (c: string) => {
      const msg = e.message && e.message !== c && !NO_CODE_NAMES.has(e.message) ? `: ${quoted(e.message, ctx.secrets)}` : '';
      return `${c}${msg}`;
    };
    // Every S3 gateway names its answers with x-amz-request-id; an answer without one and without
    // an S3 error code (the SDK makes up "NotFound" for a bare 404) comes from something else.
    if (!requestId && (!s3Code || s3Code === 'NotFound')) {
      return make('not_s3', `the endpoint answered HTTP ${status} without an S3 error: check that it is the address of an S3 gateway`);
    }
    if (s3Code && CREDENTIAL_CODES.has(s3Code)) return make('credentials_rejected', 'the S3 gateway refused the access key or secret', s3Code);
    if (s3Code === 'NoSuchBucket') return make('bucket_not_found', `the bucket "${ctx.bucket}" does not exist on this gateway`, s3Code);
    if (s3Code === 'NoSuchKey' || (s3Code === 'NotFound' && status === 404)) return make('not_found', 'there is no such object', s3Code);
    if (s3Code === 'RequestTimeTooSkewed') {
      return make('clock_skew', "the S3 gateway refused the request because this machine's clock and the gateway's differ by more than 15 minutes", s3Code);
    }
    if (s3Code === 'AuthorizationHeaderMalformed' || s3Code === 'PermanentRedirect' || s3Code === 'IllegalLocationConstraintException') {
      return make('wrong_region', `the S3 gateway says the region or endpoint does not fit this bucket (${said(s3Code)})`, s3Code);
    }
    if (s3Code && ACCESS_CODES.has(s3Code)) {
      return make('access_denied', `the S3 gateway denied access: this access key may not do that in the bucket "${ctx.bucket}"`, s3Code);
    }
    if (status === 403) {
      // A HEAD request's 403 has no body: a wrong key and a missing permission look the same.
      return make('access_denied', 'the S3 gateway refused access (HTTP 403): the access key or secret is wrong, or this key may not use the bucket', s3Code);
    }
    if (s3Code && QUOTA_CODES.has(s3Code)) return make('quota_exceeded', `the storage quota is used up (${said(s3Code)})`, s3Code);
    if (status === 503 || (s3Code && UNAVAILABLE_CODES.has(s3Code))) {
      return make('unavailable', `the S3 gateway is overloaded or unavailable (HTTP ${status}${s3Code ? `, ${s3Code}` : ''}); try again later`, s3Code);
    }
    if (s3Code === 'RequestTimeout') return make('timed_out', 'the S3 gateway gave up waiting for the data of the request (RequestTimeout)', s3Code);
    if (!s3Code && status < 500) {
      return make('not_s3', `the endpoint answered HTTP ${status} without an S3 error: check that it is the address of an S3 gateway`);
    }
    if (status >= 500) return make('gateway_error', `the S3 gateway failed (HTTP ${status}${s3Code ? `, ${said(s3Code)}` : ''})`, s3Code);
    return make('gateway_error', `the S3 gateway refused the request (HTTP ${status}, ${said(s3Code!)})`, s3Code);
  }

  // No answer: the network, TLS, or a timeout.
  if (code === 'ECONNREFUSED') return make('unreachable', `nothing answers at ${ctx.endpoint} (connection refused)`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') return make('host_not_found', `the host name "${host}" does not resolve`);
  if (['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL'].includes(code)) return make('unreachable', `there is no route to ${host}`);
  if (TLS_CODES.has(code) || /^ERR_SSL_|^ERR_TLS_/.test(code)) {
    return make('tls_failed', `the TLS connection to ${host} failed (${code}): its certificate is not trusted here, or the endpoint does not speak HTTPS`);
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || /^aborted$/i.test(e.message ?? '')) {
    return make('connection_lost', 'the connection to the S3 gateway broke');
  }
  if (name === 'TimeoutError' || code === 'ETIMEDOUT') {
    // The message is the SDK's own (@smithy/node-http-handler, pinned with the SDK): a connection timeout says so.
    if (/establish a connection/i.test(e.message ?? '')) {
      return make('timed_out', `${ctx.endpoint} did not accept a connection within ${seconds(ctx.connectTimeoutMs)}`);
    }
    return make('timed_out', `the S3 gateway did not answer for ${seconds(ctx.idleTimeoutMs)}`);
  }
  const label = code || name || 'error';
  return new S3Error('unexpected', failureMessage(ctx, `an unexpected error occurred (${label}: ${quoted(String(e.message ?? err), ctx.secrets)})`), {
    key: ctx.key,
    httpStatus: status,
    requestId,
  });
}
