import crypto from 'node:crypto';
import { scryptKey } from '../crypto/scrypt';


/**
 * Password hashes: "scrypt$<logN>$<r>$<p>$<salt b64>$<hash b64>". The
 * parameters travel with the hash so they can be raised later without
 * breaking existing accounts.
 */
const DEFAULT_LOG_N = 15;
const R = 8;
const P = 1;
const KEY_LEN = 32;
/** Stored parameters above this much scrypt memory (128·r·N bytes) are refused, not attempted. */
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;


/** `logN` above 15 for secrets that deserve the cost of a backup's own key derivation (the DMS verifier: 18). */
export async function hashPassword(password: string, opts: { logN?: number } = {}): Promise<string> {
  const LOG_N = opts.logN ?? DEFAULT_LOG_N;
  const salt = crypto.randomBytes(16);
  const hash = await scryptKey(password.normalize('NFKC'), salt, KEY_LEN, { logN: LOG_N, r: R, p: P });
  return ['scrypt', LOG_N, R, P, salt.toString('base64'), hash.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const logN = Number(parts[1]);
  const r = Number(parts[2]);
  const p = Number(parts[3]);
  if (![logN, r, p].every(Number.isInteger) || logN < 10 || logN > 20 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  if (128 * r * 2 ** logN > MAX_SCRYPT_MEMORY) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const expected = Buffer.from(parts[5]!, 'base64');
  // An empty (or very short) stored hash would compare equal to any password's.
  if (expected.length < 16 || expected.length > 64) return false;
  const actual = await scryptKey(password.normalize('NFKC'), salt, expected.length, { logN, r, p });
  return crypto.timingSafeEqual(actual, expected);
}

/** A hash of a random password, for spending the same time on unknown accounts. */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(crypto.randomBytes(16).toString('hex'));
  return decoy;
}
