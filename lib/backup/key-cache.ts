import crypto from 'node:crypto';
import { eq, lt } from 'drizzle-orm';
import type { FileKeyCache, Passphrase, Stanza } from '../age';
import type { ManifestKeyCache } from './manifest';
import { seal, unseal } from '../crypto/seal';
import { db } from '../db/client';
import { derivedKeys, type DerivedKey } from '../db/schema';

/**
 * Remembers keys derived from the DMS with scrypt for one backup file, so
 * that the appliance verifies, reads and restores its backups without
 * running scrypt again (2^18 costs ~0.8 s of CPU and 256 MiB each time):
 *
 *   kind "age-file-key"  the file key the age header's scrypt stanza wraps,
 *                        looked up by that stanza (salt and work factor);
 *   kind "manifest-key"  the manifest's signing key, by its kdf salt and logN.
 *
 * Row id = hex HMAC-SHA-256(key = DMS, "webconf/derived-key/v1" 0 kind 0 salt 0 logN):
 * a DMS that did not derive the key finds no row, so a wrong DMS is still
 * refused by scrypt. The key is sealed (AES-256-GCM under the seal key,
 * bound to the row id): the database alone does not give it away, and the
 * appliance already keeps the DMS itself sealed the same way. A cached age
 * file key is used only after the header MAC verifies under it, a cached
 * manifest key only when the signature verifies under it (else scrypt runs
 * afresh, see manifest.ts), so a wrong or stale row can never pass a file
 * that would otherwise fail. Every failure here (no database, the database
 * switched by a restore, a row sealed by another appliance) is a miss.
 */
const LABEL = 'webconf/derived-key/v1';
/** Rows are removed this long after they were written (the file is long gone or verified often enough to be re-learnt). */
const KEEP_MS = 400 * 24 * 3600 * 1000;

type Kind = 'age-file-key' | 'manifest-key';

function rowId(dms: Passphrase, kind: Kind, salt: string, logN: string): string {
  return crypto.createHmac('sha256', Buffer.from(dms)).update([LABEL, kind, salt, logN].join('\0')).digest('hex');
}

function lookup(id: string): Buffer | null {
  try {
    const row = db().select({ sealed: derivedKeys.sealed }).from(derivedKeys).where(eq(derivedKeys.id, id)).get();
    if (!row) return null;
    try {
      return Buffer.from(unseal(row.sealed, `derived-key:${id}`), 'base64');
    } catch {
      // Sealed by another appliance (its database restored here): of no use, and in the way of this appliance's entry.
      db().delete(derivedKeys).where(eq(derivedKeys.id, id)).run();
      return null;
    }
  } catch {
    return null;
  }
}

function remember(id: string, key: Uint8Array): void {
  try {
    const now = Date.now();
    db().insert(derivedKeys).values({ id, sealed: seal(Buffer.from(key).toString('base64'), `derived-key:${id}`), createdAt: new Date(now) }).onConflictDoNothing().run();
    db().delete(derivedKeys).where(lt(derivedKeys.createdAt, new Date(now - KEEP_MS))).run();
  } catch {
    // A miss next time.
  }
}

/** The scrypt stanza's salt and work factor: what the file key was derived for. */
function stanzaSalt(stanzas: readonly Stanza[]): [string, string] | null {
  const s = stanzas.length === 1 ? stanzas[0]! : null;
  return s && s.type === 'scrypt' && s.args.length === 2 ? [s.args[0]!, s.args[1]!] : null;
}

/** The age file keys of this appliance's backups (see lib/age FileKeyCache). */
const fileKeys: FileKeyCache = {
  get(dms, stanzas) {
    const salt = stanzaSalt(stanzas);
    return salt ? lookup(rowId(dms, 'age-file-key', ...salt)) : null;
  },
  set(dms, stanzas, fileKey) {
    const salt = stanzaSalt(stanzas);
    if (salt) remember(rowId(dms, 'age-file-key', ...salt), fileKey);
  },
};

const manifestKeys: ManifestKeyCache = {
  get(dms, salt, logN) {
    return lookup(rowId(dms, 'manifest-key', salt, String(logN)));
  },
  set(dms, salt, logN, key) {
    remember(rowId(dms, 'manifest-key', salt, String(logN)), key);
  },
};

/** Every row, for a restore to carry over (none when the database cannot be read). */
export function derivedKeyRows(): DerivedKey[] {
  try {
    return db().select().from(derivedKeys).all();
  } catch {
    return [];
  }
}

/** Both kinds of keys a backup file's verification derives, for the functions that take `keyCache`. */
export type BackupKeyCache = { files: FileKeyCache; manifests: ManifestKeyCache };

/** This appliance's cache, in its database. */
export const applianceKeyCache: BackupKeyCache = { files: fileKeys, manifests: manifestKeys };
