import { eq } from 'drizzle-orm';
import { audit, type Actor } from '../audit/audit';
import { hashPassword, verifyPassword } from '../auth/password';
import { seal, unseal } from '../crypto/seal';
import { db } from '../db/client';
import { exclusiveOperationRefusal, isConstraintViolation, RESTORE_IN_PROGRESS } from '../db/errors';
import { domainMasterSecret } from '../db/schema';
import { AppError } from '../errors';

/**
 * The Domain Master Secret (DMS): the passphrase that encrypts (age scrypt
 * recipient) and signs (HMAC key derived with scrypt) every backup. Set once;
 * the database refuses a second row, an update and a delete (see
 * drizzle/0002_dms_write_once.sql). Never stored, returned or logged in clear.
 */
const SEAL_PURPOSE = 'backup.dms';

export const DMS_ALREADY_SET = 'The Domain Master Secret is already set. It cannot be changed or deleted.';

export function dmsInfo(): { set: false } | { set: true; setAt: Date; setBy: string } {
  const row = db().select({ setAt: domainMasterSecret.setAt, setBy: domainMasterSecret.setBy }).from(domainMasterSecret).get();
  return row ? { set: true, ...row } : { set: false };
}

export function isDmsSet(): boolean {
  return dmsInfo().set;
}

export async function setDms(actor: Actor, secret: string): Promise<void> {
  if (isDmsSet()) {
    audit(actor, 'backup.dms.set', 'denied', { detail: { reason: 'already set' } });
    throw new AppError('conflict', DMS_ALREADY_SET);
  }
  // As costly to guess from the database as from a backup (whose file key uses scrypt logN 18).
  const verifier = await hashPassword(secret, { logN: 18 });
  try {
    db()
      .insert(domainMasterSecret)
      .values({ id: 1, verifier, sealed: seal(secret, SEAL_PURPOSE), setAt: new Date(), setBy: actor.name })
      .run();
  } catch (err) {
    if (exclusiveOperationRefusal(err) === 'restore') {
      audit(actor, 'backup.dms.set', 'denied', { detail: { reason: 'restore in progress' } });
      throw new AppError('conflict', RESTORE_IN_PROGRESS);
    }
    // A concurrent request won the race: the primary key (id = 1) refused this one.
    if (isConstraintViolation(err)) {
      audit(actor, 'backup.dms.set', 'denied', { detail: { reason: 'already set' } });
      throw new AppError('conflict', DMS_ALREADY_SET);
    }
    throw err;
  }
  audit(actor, 'backup.dms.set', 'success');
}

/** The DMS itself, for the backup engine only. */
export function unsealDms(): string {
  const row = db().select().from(domainMasterSecret).where(eq(domainMasterSecret.id, 1)).get();
  if (!row) throw new AppError('conflict', 'Set the Domain Master Secret before creating a backup.');
  return unseal(row.sealed, SEAL_PURPOSE);
}

/** Whether a typed secret is this appliance's DMS. */
export async function checkDms(candidate: string): Promise<boolean> {
  const row = db().select({ verifier: domainMasterSecret.verifier }).from(domainMasterSecret).get();
  return row ? verifyPassword(candidate, row.verifier) : false;
}

/** The DMS sealed under this appliance's key (a restore re-seals the backup's DMS with it). */
export function sealDmsHere(secret: string): string {
  return seal(secret, SEAL_PURPOSE);
}

/** Whether a sealed value (from this or another appliance's database) opens here to exactly `secret`. */
export function sealedDmsOpensHere(sealed: string, secret: string): boolean {
  try {
    return unseal(sealed, SEAL_PURPOSE) === secret;
  } catch {
    return false;
  }
}
