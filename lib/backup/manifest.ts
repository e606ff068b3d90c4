import crypto from 'node:crypto';
import { z } from 'zod';
import { scryptKey } from '../crypto/scrypt';
import { canonicalJson } from './canonical-json';

/**
 * The manifest: the first member of every backup archive (manifest.json).
 * It says what the backup is (format version, appliance identity, firmware
 * version, created time), what it holds (each member's path, size and
 * SHA-256), the internal database's integrity check result, and what was
 * deliberately left out. It is signed with HMAC-SHA256 under a key derived
 * from the Domain Master Secret with scrypt and the salt written beside the
 * signature, so any appliance given the DMS can check it.
 *
 *   signature.value = HMAC-SHA256(scrypt(DMS, "webconf-backup/v1/manifest" || salt, N=2^15, r=8, p=1, 32 bytes),
 *                                 canonicalJson(manifest without "signature"))
 */
export const MANIFEST_NAME = 'manifest.json';
export const MANIFEST_FORMAT = 'webconf-backup';
export const MANIFEST_VERSION = 1;
const KDF_LABEL = 'webconf-backup/v1/manifest';
const LOG_N = 15;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const manifestMemberSchema = z.object({
  path: z.string().min(1).max(1024),
  kind: z.enum(['firmware', 'system', 'database']),
  size: z.number().int().nonnegative(),
  sha256: sha256Hex,
});

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  formatVersion: z.literal(MANIFEST_VERSION),
  appliance: z.object({ id: z.string(), name: z.string(), firmwareVersion: z.string() }),
  createdAt: z.string(),
  contents: z.object({
    firmwareConfiguration: z.boolean(),
    systemConfiguration: z.boolean(),
    internalDatabase: z.boolean(),
    excluded: z.array(z.string()),
  }),
  database: z.object({ engine: z.string(), integrityCheck: z.string(), path: z.string() }),
  members: z.array(manifestMemberSchema),
  signature: z.object({
    algorithm: z.literal('HMAC-SHA256'),
    kdf: z.object({ name: z.literal('scrypt'), logN: z.number().int().min(10).max(20), r: z.literal(8), p: z.literal(1), salt: z.string() }),
    value: sha256Hex,
  }),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestMember = z.infer<typeof manifestMemberSchema>;
export type UnsignedManifest = Omit<Manifest, 'signature'>;

async function signingKey(dms: string, salt: Buffer, logN: number): Promise<Buffer> {
  return scryptKey(dms, Buffer.concat([Buffer.from(KDF_LABEL), salt]), 32, { logN, r: 8, p: 1 });
}

/**
 * Signs one manifest: the key's scrypt starts at once (the engine creates
 * the signer before writing, so the derivation overlaps the write), and
 * verify() checks the manifest read back with that key when the salt is
 * this signer's, or derives afresh otherwise.
 */
export class ManifestSigner {
  private readonly salt = crypto.randomBytes(16);
  private readonly key: Promise<Buffer>;

  constructor(private readonly dms: string) {
    this.key = signingKey(dms, this.salt, LOG_N);
    this.key.catch(() => undefined);
  }

  async sign(unsigned: UnsignedManifest): Promise<Manifest> {
    return signWith(unsigned, await this.key, this.salt);
  }

  /** Hands the signing key to a cache, so that this file's signature verifies later without scrypt. */
  async rememberIn(cache: ManifestKeyCache): Promise<void> {
    cache.set(this.dms, this.salt.toString('base64'), LOG_N, await this.key);
  }

  async verify(manifest: Manifest): Promise<boolean> {
    const { salt, logN } = manifest.signature.kdf;
    if (logN !== LOG_N || salt !== this.salt.toString('base64')) return verifyManifestSignature(manifest, this.dms);
    const { signature, ...unsigned } = manifest;
    return macMatches(signature.value, unsigned, await this.key);
  }
}

function signWith(unsigned: UnsignedManifest, key: Buffer, salt: Buffer): Manifest {
  const value = crypto.createHmac('sha256', key).update(canonicalJson(unsigned)).digest('hex');
  return { ...unsigned, signature: { algorithm: 'HMAC-SHA256', kdf: { name: 'scrypt', logN: LOG_N, r: 8, p: 1, salt: salt.toString('base64') }, value } };
}

/**
 * The manifest with a signature of the right shape but no value: its JSON has
 * exactly the length of the signed one (salt and MAC have fixed sizes), which
 * lets the engine reserve the manifest's space before any member is hashed.
 */
export function withPlaceholderSignature(unsigned: UnsignedManifest): Manifest {
  return {
    ...unsigned,
    signature: { algorithm: 'HMAC-SHA256', kdf: { name: 'scrypt', logN: LOG_N, r: 8, p: 1, salt: Buffer.alloc(16).toString('base64') }, value: '0'.repeat(64) },
  };
}

/** Signing keys remembered by kdf salt (base64) and logN for one DMS (key-cache.ts); failures count as a miss. */
export interface ManifestKeyCache {
  get(dms: string, salt: string, logN: number): Buffer | null;
  set(dms: string, salt: string, logN: number, key: Uint8Array): void;
}

/**
 * True when the signature was made with this DMS over exactly this manifest.
 * A remembered key that verifies it is enough; one that does not is not
 * trusted to say no: the key is derived afresh.
 */
export async function verifyManifestSignature(manifest: Manifest, dms: string, cache?: ManifestKeyCache): Promise<boolean> {
  const { signature, ...unsigned } = manifest;
  const { salt, logN } = signature.kdf;
  const remembered = cache?.get(dms, salt, logN);
  if (remembered && macMatches(signature.value, unsigned, remembered)) return true;
  const key = await signingKey(dms, Buffer.from(salt, 'base64'), logN);
  const ok = macMatches(signature.value, unsigned, key);
  if (ok) cache?.set(dms, salt, logN, key);
  return ok;
}

function macMatches(value: string, unsigned: UnsignedManifest, key: Buffer): boolean {
  const expected = crypto.createHmac('sha256', key).update(canonicalJson(unsigned)).digest();
  const actual = Buffer.from(value, 'hex');
  return actual.length === expected.length && crypto.timingSafeEqual(actual, expected);
}

/**
 * What the backup history keeps of a run's manifest (backup_runs.manifest, JSON): enough
 * to show the run and to bind a file to it (appliance and creation time), no member list.
 */
export function runManifestSummary(manifest: Manifest, dataBytes: number): string {
  return JSON.stringify({
    appliance: manifest.appliance,
    createdAt: manifest.createdAt,
    database: manifest.database,
    contents: manifest.contents,
    members: manifest.members.length,
    dataBytes,
    signatureVerified: true,
  });
}
