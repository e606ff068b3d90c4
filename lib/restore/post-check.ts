import { eq, inArray } from 'drizzle-orm';
import { sealedDmsOpensHere } from '../backup/dms';
import { db } from '../db/client';
import { domainMasterSecret, users } from '../db/schema';
import { failurePoint } from './faults';
import { liveDatabase } from './paths';
import { schemaRelation } from './staged-database';

/**
 * After the switch, before the restore is committed: the console opens the
 * new database the way every request does (db(), which migrates) and checks
 * that it can work with it. Answers the problems found, in words; none means
 * the restore may be committed.
 */
export async function postCheck(dms: string): Promise<string[]> {
  const problems: string[] = [];
  const d = db();
  const sqlite = d.$client;
  const integrity = (sqlite.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
  if (integrity !== 'ok') problems.push(`the restored database failed its integrity check (${integrity})`);
  const fk = sqlite.pragma('foreign_key_check') as unknown[];
  if (fk.length) problems.push(`the restored database has ${fk.length} broken references`);
  const schema = schemaRelation(liveDatabase());
  if (schema.relation !== 'same') problems.push(`the restored database is not at this console's schema (${schema.backup} of ${schema.console} migrations)`);
  const row = d.select().from(domainMasterSecret).where(eq(domainMasterSecret.id, 1)).get();
  // The sealed copy, not the scrypt verifier: the verifier came with the database, whose bytes the signed manifest already vouched for.
  if (!row || !sealedDmsOpensHere(row.sealed, dms)) problems.push('the restored Domain Master Secret does not open with this appliance');
  const canSignIn = d.select({ id: users.id }).from(users).where(inArray(users.role, ['admin', 'otp'])).limit(1).get();
  if (!canSignIn) problems.push('the restored state has no admin account and no OTP user: nobody could sign in');
  if (sqlite.prepare('select 1 as one').get() === undefined) problems.push('the restored database does not answer');
  if (failurePoint('post-check')) problems.push('the post-check was made to fail (test hook)');
  return problems;
}
