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
  /**
   * A line breaks the header grammar (bad base64, bad argument, ...), or an
   * X25519 stanza breaks the X25519 rules (arguments, sizes, a low-order
   * share: seen only by a reader with identities).
   */
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
  | 'not-passphrase-encrypted'
  /** The file is passphrase-encrypted, and we were given identities. */
  | 'passphrase-encrypted'
  /** None of the identities opens any X25519 stanza (AgeNoIdentityMatchedError). */
  | 'no-identity-matched';

/** No stanza of the header opens with what we were given. */
export class AgeNoMatchError extends AgeError {
  readonly kind = 'no-match' as const;
  readonly reason: AgeNoMatchReason;
  constructor(reason: AgeNoMatchReason) {
    super(noMatchMessage(reason));
    this.name = 'AgeNoMatchError';
    this.reason = reason;
  }
}

function noMatchMessage(reason: AgeNoMatchReason): string {
  switch (reason) {
    case 'wrong-passphrase':
      return 'Wrong Domain Master Secret: it does not open this backup file';
    case 'not-passphrase-encrypted':
      return 'The backup file is not encrypted with a passphrase, so the Domain Master Secret cannot open it';
    case 'passphrase-encrypted':
      return 'The backup file is encrypted with a passphrase, not to an age key, so an age identity cannot open it';
    case 'no-identity-matched':
      return 'No identity matched: none of the given age secret keys opens this backup file';
  }
}

/**
 * Identities were tried and none opened the file key: the file is encrypted
 * to other recipients (or to none we can open: see `recipients`).
 */
export class AgeNoIdentityMatchedError extends AgeNoMatchError {
  declare readonly reason: 'no-identity-matched';
  constructor(
    /** How many identities were tried. */
    readonly identities: number,
    /** How many X25519 stanzas the header has (0: only stanza types we do not open). */
    readonly recipients: number,
  ) {
    super('no-identity-matched');
    this.name = 'AgeNoIdentityMatchedError';
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

/**
 * An age key given to us (a recipient, an identity, an identity file) is not
 * one we can use. Not an AgeError: no file is being read. Messages never
 * repeat the input (it may be a secret key); `line` says where in a file.
 */
export type AgeKeyReason =
  /** Nothing was given. */
  | 'empty'
  /** Not Bech32: characters outside its alphabet, no "1" separator, too short. */
  | 'not-bech32'
  /** Both upper and lower case letters. */
  | 'mixed-case'
  /** Valid Bech32, but the checksum does not match: a changed, missing or extra character. */
  | 'bad-checksum'
  /** A recipient in upper case, or an identity in lower case (age refuses both). */
  | 'wrong-case'
  /** A secret key where a recipient is wanted, or a recipient where a secret key is wanted. */
  | 'wrong-kind'
  /** Another kind of age key that this library does not implement: plugin, post-quantum, SSH. */
  | 'unsupported'
  /** Bech32 of some other thing (another prefix), not an age key. */
  | 'not-age'
  /** The key is not 32 bytes. */
  | 'bad-length'
  /** A low-order X25519 point: every shared secret with it would be zero. */
  | 'weak-key'
  /** An identity file with no secret key in it. */
  | 'no-identity'
  /** A "# public key:" comment that does not match the secret key after it. */
  | 'public-key-mismatch'
  /** The identity file is itself age-encrypted (age-keygen | age -p): it must be decrypted first. */
  | 'encrypted-identity-file'
  /** The identity file is longer than MAX_IDENTITY_FILE_SIZE. */
  | 'too-large';

export type AgeKeySubject = 'recipient' | 'identity' | 'identity file';

export class AgeKeyError extends Error {
  readonly kind = 'key' as const;
  /** 1-based line of the identity file, when the problem is on one line of one. */
  readonly line: number | undefined;
  /** For 'unsupported', the kind of key; for 'too-large', the limit. */
  readonly detail: string | undefined;
  constructor(
    readonly subject: AgeKeySubject,
    readonly reason: AgeKeyReason,
    opts: { line?: number; detail?: string } = {},
  ) {
    const text = keyMessage(subject, reason, opts.detail);
    super(opts.line === undefined ? text : `Line ${opts.line} of the identity file: ${text.charAt(0).toLowerCase()}${text.slice(1)}`);
    this.name = 'AgeKeyError';
    this.line = opts.line;
    this.detail = opts.detail;
  }
}

function keyMessage(subject: AgeKeySubject, reason: AgeKeyReason, detail: string | undefined): string {
  const what = subject === 'recipient' ? 'age recipient' : 'age secret key';
  const shape =
    subject === 'recipient' ? 'an age recipient is "age1" followed by 58 letters and digits' : 'an age secret key is "AGE-SECRET-KEY-1" followed by 58 letters and digits';
  switch (reason) {
    case 'empty':
      return subject === 'identity file' ? 'The identity file is empty' : `No ${what} was given`;
    case 'not-bech32':
      return `Not an ${what}: ${shape}`;
    case 'mixed-case':
      return `The ${what} mixes upper and lower case letters; ${shape}`;
    case 'bad-checksum':
      return `The ${what} is mistyped: its checksum does not match (a character is changed, missing or extra)`;
    case 'wrong-case':
      return subject === 'recipient' ? 'An age recipient is written in lower case ("age1...")' : 'An age secret key is written in upper case ("AGE-SECRET-KEY-1...")';
    case 'wrong-kind':
      return subject === 'recipient'
        ? 'That is an age secret key, not a recipient: give its public key ("age1..."), and keep the secret key private'
        : 'That is an age recipient (a public key), not a secret key ("AGE-SECRET-KEY-1...")';
    case 'unsupported':
      return `${detail ?? 'That kind of age key'} is not supported: only X25519 keys are (${subject === 'recipient' ? '"age1..."' : '"AGE-SECRET-KEY-1..."'})`;
    case 'not-age':
      return `Not an ${what}: it is Bech32 with another prefix; ${shape}`;
    case 'bad-length':
      return `The ${what} has the wrong length: an X25519 key is 32 bytes`;
    case 'weak-key':
      return 'The age recipient is not a usable X25519 public key (a low-order point)';
    case 'no-identity':
      return 'The identity file holds no age secret key ("AGE-SECRET-KEY-1...")';
    case 'public-key-mismatch':
      return 'The "# public key:" comment does not match the secret key after it';
    case 'encrypted-identity-file':
      return 'The identity file is itself encrypted with age: decrypt it first';
    case 'too-large':
      return `The identity file is too large to be one (over ${detail ?? 'the limit'})`;
  }
}
