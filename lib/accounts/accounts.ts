import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import { audit, type Actor } from '../audit/audit';
import { hashPassword } from '../auth/password';
import type { OAuthRole } from '../auth/roles';
import { db } from '../db/client';
import { isConstraintViolation } from '../db/errors';
import { users, type User } from '../db/schema';
import { dataDir } from '../env';
import { AppError } from '../errors';
import { revokeUserSessions } from '../auth/sessions';
import { isLastEnabledAdmin } from './manage';
import { countAdmins, getUser, otpUser, type PublicUser } from './queries';
import type { CreateUserInput } from './schemas';

export const OTP_USERNAME = 'otp';

export function otpPasswordFile(): string {
  return path.join(dataDir(), 'otp-password.txt');
}

/** 20 characters from an alphabet without look-alikes: about 100 bits. */
function randomOtp(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = crypto.randomBytes(20);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

/**
 * At first start, when no account exists, creates the OTP user. Returns its
 * password so the caller can print it once; returns null when accounts exist.
 * The password is also written to a 0600 file in the data folder, removed
 * with the OTP user.
 */
export async function ensureOtpUser(): Promise<string | null> {
  const d = db();
  const file = otpPasswordFile();
  const existing = d.select().from(users).where(eq(users.kind, 'otp')).get();
  if (existing && !existing.lastLoginAt && !fs.existsSync(file)) {
    // The OTP user was made but its password never reached the file (a crash
    // in between) and nobody ever signed in with it: give it a new one.
    // Hash first, file second: a crash in between leaves the file missing again, and the next start repeats this.
    const password = randomOtp();
    d.update(users).set({ passwordHash: await hashPassword(password) }).where(eq(users.id, existing.id)).run();
    writeOtpFile(file, password);
    audit({ id: null, name: 'system', ip: null }, 'account.otp.reset', 'success', { target: OTP_USERNAME, detail: { reason: 'password file missing' } });
    return password;
  }
  if (d.select({ id: users.id }).from(users).limit(1).get()) return null;
  const password = randomOtp();
  const passwordHash = await hashPassword(password);
  const created = d.transaction((tx) => {
    if (tx.select({ id: users.id }).from(users).limit(1).get()) return false;
    tx.insert(users)
      .values({ username: OTP_USERNAME, displayName: 'OTP User', kind: 'otp', role: 'otp', passwordHash, createdAt: new Date(), createdBy: 'first start' })
      .run();
    // Written inside the transaction, before it commits: the account never exists without its password file.
    writeOtpFile(file, password);
    return true;
  });
  if (!created) return null;
  audit({ id: null, name: 'system', ip: null }, 'account.otp.create', 'success', { target: OTP_USERNAME });
  return password;
}

function writeOtpFile(file: string, password: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, `${password}\n`, { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

export async function createLocalUser(actor: Actor, input: CreateUserInput): Promise<PublicUser> {
  const passwordHash = await hashPassword(input.password);
  try {
    const row = db()
      .insert(users)
      .values({
        username: input.username,
        displayName: input.displayName || null,
        kind: 'local',
        role: input.role,
        passwordHash,
        createdAt: new Date(),
        createdBy: actor.name,
      })
      .returning()
      .get();
    audit(actor, 'account.create', 'success', { target: input.username, detail: { role: input.role } });
    return getUser(row.id)!;
  } catch (err) {
    if (isConstraintViolation(err, 'UNIQUE')) {
      throw new AppError('conflict', `The username "${input.username}" is already taken.`, { field: 'username' });
    }
    throw err;
  }
}

/**
 * Deletes an account. The OTP user goes only once an admin OAuth user exists;
 * nobody deletes themselves or the last admin.
 */
export function deleteUser(actor: Actor, id: number): void {
  const d = db();
  d.transaction((tx) => {
    const target = tx.select().from(users).where(eq(users.id, id)).get();
    if (!target) throw new AppError('not_found', 'That account does not exist (any more).');
    if (target.id === actor.id) throw new AppError('conflict', 'You cannot delete the account you are signed in with.');
    if (target.kind === 'otp') {
      const admins = tx.select({ id: users.id }).from(users).where(eq(users.role, 'admin')).all();
      if (admins.length === 0) throw new AppError('conflict', 'Create an admin OAuth user before removing the OTP User.');
    }
    if (isLastEnabledAdmin(target)) throw new AppError('conflict', 'The last enabled admin account cannot be deleted: make another account an admin first.');
    tx.delete(users).where(eq(users.id, id)).run();
    if (target.kind === 'otp') fs.rmSync(otpPasswordFile(), { force: true });
    audit(actor, target.kind === 'otp' ? 'account.otp.remove' : 'account.delete', 'success', { target: target.username });
  });
}

export function removeOtpUser(actor: Actor): void {
  const otp = otpUser();
  if (!otp) throw new AppError('not_found', 'The OTP User has already been removed.');
  deleteUser(actor, otp.id);
}

/** The OTP user can be removed once an admin OAuth user exists. */
export function canRemoveOtp(): boolean {
  return Boolean(otpUser()) && countAdmins() > 0;
}

/** Finds or creates the account of an OpenID Connect identity, updating its role from the provider's claims. */
export function findOidcUser(issuer: string, subject: string): User | undefined {
  return db()
    .select()
    .from(users)
    .where(and(eq(users.oidcIssuer, issuer), eq(users.oidcSubject, subject)))
    .get();
}

/**
 * The role follows the claims at every sign-in. When they give another role
 * than last time, the account's older sessions end (they were granted under
 * the old role); the caller then creates the new session.
 */
export function upsertOidcUser(
  identity: { issuer: string; subject: string; username: string; displayName: string | null; role: OAuthRole },
  ip: string | null = null,
): User {
  const d = db();
  return d.transaction((tx) => {
    const existing = findOidcUser(identity.issuer, identity.subject);
    if (existing) {
      if (existing.disabledAt) throw new AppError('forbidden', 'This account is disabled.');
      if (existing.role !== identity.role) {
        const ended = revokeUserSessions(existing.id);
        audit({ id: existing.id, name: existing.username, ip }, 'user.role.sync', 'success', {
          target: existing.username,
          detail: { from: existing.role, to: identity.role, source: 'oidc claims', sessionsEnded: ended },
        });
      }
      return tx
        .update(users)
        .set({ role: identity.role, displayName: identity.displayName, lastLoginAt: new Date(), lastLoginIp: ip })
        .where(eq(users.id, existing.id))
        .returning()
        .get();
    }
    // The provider's preferred name may collide with a local account: suffix it.
    let username = identity.username;
    for (let i = 2; tx.select({ id: users.id }).from(users).where(eq(users.username, username)).get(); i++) {
      username = `${identity.username}-${i}`;
    }
    return tx
      .insert(users)
      .values({
        username,
        displayName: identity.displayName,
        kind: 'oidc',
        role: identity.role,
        oidcIssuer: identity.issuer,
        oidcSubject: identity.subject,
        createdAt: new Date(),
        createdBy: 'oidc sign-in',
        lastLoginAt: new Date(),
        lastLoginIp: ip,
      })
      .returning()
      .get();
  });
}

/** The last sign-in's time and client address, shown on the Users page. */
export function recordLogin(userId: number, ip: string | null = null): void {
  db().update(users).set({ lastLoginAt: new Date(), lastLoginIp: ip }).where(eq(users.id, userId)).run();
}
