/**
 * Typed errors of the age reader. Each message is written for the user (it
 * may be shown as is); the fields say what happened for code and logs.
 */

/** Base class: every failure to read an age file is one of these. */
export abstract class AgeError extends Error {
  abstract readonly kind: 'header' | 'no-match' | 'mac' | 'payload';
}

export type AgeHeaderReason =
  /** Does not start with the age version line. */
  | 'not-age'
  /** An age file of another version. */
  | 'unsupported-version'
  /** A line breaks the header grammar (bad base64, bad argument, ...). */
  | 'malformed'
  /** The file ends inside the header or before the payload nonce. */
  | 'truncated'
  /** No end of header within MAX_HEADER_SIZE bytes. */
  | 'too-large'
  /** An scrypt stanza that breaks the scrypt rules (arguments, sizes, not alone). */
  | 'bad-scrypt-stanza'
  /** The scrypt work factor is above the reader's limit; nothing was computed. */
  | 'work-factor-too-high';

/** The header cannot be parsed or is not acceptable. */
export class AgeHeaderError extends AgeError {
  readonly kind = 'header' as const;
  readonly reason: AgeHeaderReason;
  /** Technical detail (also part of the message). */
  readonly detail: string;
  constructor(reason: AgeHeaderReason, detail: string, message?: string) {
    super(message ?? headerMessage(reason, detail));
    this.name = 'AgeHeaderError';
    this.reason = reason;
    this.detail = detail;
  }
}

function headerMessage(reason: AgeHeaderReason, detail: string): string {
  switch (reason) {
    case 'not-age':
      return 'The file is not an encrypted backup (no age header)';
    case 'unsupported-version':
      return `The backup file uses an unsupported format version (${detail})`;
    case 'truncated':
      return `The backup file is truncated: ${detail}`;
    default:
      return `The backup file is damaged: invalid header (${detail})`;
  }
}

export type AgeNoMatchReason =
  /** The passphrase does not unwrap the file key. */
  | 'wrong-passphrase'
  /** The header has no scrypt stanza: the file is not passphrase-encrypted. */
  | 'not-passphrase-encrypted';

/** No stanza of the header opens with what we were given. */
export class AgeNoMatchError extends AgeError {
  readonly kind = 'no-match' as const;
  readonly reason: AgeNoMatchReason;
  constructor(reason: AgeNoMatchReason) {
    super(
      reason === 'wrong-passphrase'
        ? 'Wrong Domain Master Secret: it does not open this backup file'
        : 'The backup file is not encrypted with a passphrase, so the Domain Master Secret cannot open it',
    );
    this.name = 'AgeNoMatchError';
    this.reason = reason;
  }
}

/** The file key was unwrapped, but the header's MAC does not match: the header was altered. */
export class AgeMacError extends AgeError {
  readonly kind = 'mac' as const;
  constructor() {
    super('The backup file is damaged: its header failed authentication');
    this.name = 'AgeMacError';
  }
}

export type AgePayloadReason =
  /** The input ends before a final chunk was authenticated. */
  | 'truncated'
  /** Bytes follow the final chunk. */
  | 'trailing-data'
  /** A chunk does not authenticate (altered, reordered, cut short). */
  | 'auth-failed'
  /** A final chunk with no plaintext after other chunks (only an empty payload may have one). */
  | 'empty-final-chunk';

/** The encrypted payload is damaged. Plaintext released before it is authentic; nothing after it is released. */
export class AgePayloadError extends AgeError {
  readonly kind = 'payload' as const;
  readonly reason: AgePayloadReason;
  /** STREAM counter (0-based) of the chunk where the problem was found. */
  readonly chunk: number;
  constructor(reason: AgePayloadReason, chunk: number) {
    super(payloadMessage(reason, chunk));
    this.name = 'AgePayloadError';
    this.reason = reason;
    this.chunk = chunk;
  }
}

function payloadMessage(reason: AgePayloadReason, chunk: number): string {
  switch (reason) {
    case 'truncated':
      return chunk === 0
        ? 'The backup file is truncated: it has no encrypted data'
        : `The backup file is truncated: it ends after chunk ${chunk - 1}, before its final chunk`;
    case 'trailing-data':
      return `The backup file is damaged: unexpected data after its final chunk (chunk ${chunk})`;
    case 'auth-failed':
      return `The backup file is damaged: chunk ${chunk} failed authentication`;
    case 'empty-final-chunk':
      return `The backup file is damaged: chunk ${chunk} is an empty final chunk`;
  }
}
