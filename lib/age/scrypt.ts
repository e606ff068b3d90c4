import crypto from 'node:crypto';
import { AgeHeaderError, AgeNoMatchError } from './errors';
import {
  DEFAULT_LOG_N,
  FILE_KEY_SIZE,
  MAX_LOG_N,
  SCRYPT_LABEL,
  SCRYPT_P,
  SCRYPT_R,
  SCRYPT_SALT_SIZE,
  SCRYPT_TYPE,
} from './format';
import { sealFileKey, unsealFileKey } from './file-key-wrap';
import { encodeBase64, parseScryptStanza, type Stanza } from './header';

/**
 * The scrypt recipient: wraps and unwraps the 16-byte file key with a
 * passphrase (layout: format.ts). Uses Node's asynchronous scrypt (libuv
 * thread pool), with maxmem raised to fit the work factor (as
 * lib/crypto/scrypt.ts does for the console: this folder stands alone).
 */

export type Passphrase = string | Uint8Array;

function passphraseBytes(passphrase: Passphrase): Buffer {
  return typeof passphrase === 'string' ? Buffer.from(passphrase, 'utf8') : Buffer.from(passphrase);
}

function checkLogN(logN: number, max: number, what: string): void {
  if (!Number.isInteger(logN) || logN < 1 || logN > max) throw new RangeError(`${what} must be an integer from 1 to ${max}`);
}

/** wrap key = scrypt(passphrase, label || salt, N = 2^logN, r = 8, p = 1, 32 bytes). */
export function deriveWrapKey(passphrase: Passphrase, salt: Uint8Array, logN: number): Promise<Buffer> {
  checkLogN(logN, MAX_LOG_N, 'the scrypt work factor');
  const saltWithLabel = Buffer.concat([Buffer.from(SCRYPT_LABEL, 'latin1'), salt]);
  const N = 2 ** logN;
  // Node wants 128·r·(N + p + 2) bytes and stops at 32 MiB by default (logN 14 at r 8).
  const maxmem = 128 * SCRYPT_R * (N + SCRYPT_P + 2) + (16 << 20);
  return new Promise((resolve, reject) => {
    crypto.scrypt(passphraseBytes(passphrase), saltWithLabel, 32, { N, r: SCRYPT_R, p: SCRYPT_P, maxmem }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Wraps a file key for this passphrase with a fresh salt: the one stanza of a passphrase-encrypted header. */
export async function wrapFileKey(passphrase: Passphrase, fileKey: Uint8Array, opts: { logN?: number } = {}): Promise<Stanza> {
  const logN = opts.logN ?? DEFAULT_LOG_N;
  checkLogN(logN, MAX_LOG_N, 'logN');
  if (fileKey.length !== FILE_KEY_SIZE) throw new TypeError('the file key is 16 bytes');
  if (passphraseBytes(passphrase).length === 0) throw new TypeError('the passphrase is empty');
  const salt = crypto.randomBytes(SCRYPT_SALT_SIZE);
  const body = sealFileKey(await deriveWrapKey(passphrase, salt, logN), fileKey);
  return { type: SCRYPT_TYPE, args: [encodeBase64(salt), String(logN)], body };
}

/**
 * Unwraps the file key from a parsed header's stanzas. Throws AgeNoMatchError
 * when there is no scrypt stanza or the passphrase is wrong, and
 * AgeHeaderError for a bad scrypt stanza or a work factor above maxLogN
 * (checked before any scrypt work).
 */
export async function unwrapFileKey(
  passphrase: Passphrase,
  stanzas: readonly Stanza[],
  opts: { maxLogN?: number } = {},
): Promise<Buffer> {
  const maxLogN = opts.maxLogN ?? MAX_LOG_N;
  checkLogN(maxLogN, MAX_LOG_N, 'maxLogN');
  const found = stanzas.filter((s) => s.type === SCRYPT_TYPE);
  if (found.length === 0) throw new AgeNoMatchError('not-passphrase-encrypted');
  if (stanzas.length !== 1) throw new AgeHeaderError('bad-scrypt-stanza', 'an scrypt stanza must be the only stanza in the header');
  const { salt, logN, logNText, body } = parseScryptStanza(found[0]!);
  if (logN > maxLogN) {
    throw new AgeHeaderError(
      'work-factor-too-high',
      `scrypt work factor 2^${logNText} is above the limit 2^${maxLogN}`,
      `The backup file asks for scrypt work factor 2^${logNText}, above the accepted limit of 2^${maxLogN}`,
    );
  }
  const fileKey = unsealFileKey(await deriveWrapKey(passphrase, salt, logN), body);
  if (fileKey === null) throw new AgeNoMatchError('wrong-passphrase');
  return fileKey;
}
