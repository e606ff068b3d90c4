import { and, count, eq, isNull, ne } from 'drizzle-orm';
import { audit, type Actor } from '../audit/audit';
import { hashPassword, verifyPassword } from '../auth/password';
import type { OAuthRole } from '../auth/roles';
import { revokeUserSessions } from '../auth/sessions';
import { checkThrottle, clearAccountFailures, recordFailure } from '../auth/throttle';
import { db } from '../db/client';
import { users, type User } from '../db/schema';
import { AppError } from '../errors';
import type { ChangeOwnPasswordInput } from './schemas';

/**
 * What an admin does to another account: its role, its password, its state.
 * Every change ends all of the account's sessions in the same transaction
 * (what a session was allowed to do may no longer hold) and is audited.
 * Nothing here leaves the console without an enabled admin.
 */

export type ChangeResult = { username: string; changed: boolean; sessionsEnded: number };

/** Enabled admins other than `exceptId`: the ones left if this account stopped being one. */
function otherEnabledAdmins(exceptId: number): number {
  return db()
    .select({ n: count() })
    .from(users)
    .where(and(eq(users.role, 'admin'), isNull(users.disabledAt), ne(users.id, exceptId)))
    .get()!.n;
}

export function isLastEnabledAdmin(target: Pick<User, 'id' | 'role' | 'disabledAt'>): boolean {
  return target.role === 'admin' && !target.disabledAt && otherEnabledAdmins(target.id) === 0;
}

/** The account an admin acts on, with the refusals every change shares. */
function targetOf(actor: Actor, id: number, what: string): User {
  const target = db().select().from(users).where(eq(users.id, id)).get();
  if (!target) throw new AppError('not_found', 'That account does not exist (any more).');
  if (target.kind === 'otp') throw new AppError('conflict', `The OTP User cannot be changed: it is removed once an admin account exists.`);
  if (target.id === actor.id) throw new AppError('conflict', `You cannot ${what} the account you are signed in with. Ask another admin.`);
  return target;
}

export function changeRole(actor: Actor, id: number, role: OAuthRole): ChangeResult {
  return db().transaction(() => {
    const target = targetOf(actor, id, 'change the role of');
    if (target.kind === 'oidc') {
      throw new AppError('conflict', `"${target.username}" signs in with OpenID Connect: its role follows the identity provider's claims at every sign-in. Change it there.`, { field: 'role' });
    }
    if (target.role === role) return { username: target.username, changed: false, sessionsEnded: 0 };
    if (isLastEnabledAdmin(target)) {
      throw new AppError('conflict', `"${target.username}" is the last enabled admin: make another account an admin first.`, { field: 'role' });
    }
    db().update(users).set({ role }).where(eq(users.id, id)).run();
    const ended = revokeUserSessions(id);
    audit(actor, 'user.role.change', 'success', { target: target.username, detail: { from: target.role, to: role, sessionsEnded: ended } });
    return { username: target.username, changed: true, sessionsEnded: ended };
  });
}

export async function resetPassword(actor: Actor, id: number, password: string): Promise<ChangeResult> {
  // Refusals before the (slow) hash; checked again in the transaction.
  const first = targetOf(actor, id, 'reset the password of');
  if (first.kind === 'oidc') throw new AppError('conflict', `"${first.username}" signs in with OpenID Connect and has no password on this appliance.`);
  const passwordHash = await hashPassword(password);
  return db().transaction(() => {
    const target = targetOf(actor, id, 'reset the password of');
    if (target.kind !== 'local') throw new AppError('conflict', `"${target.username}" has no password on this appliance.`);
    db().update(users).set({ passwordHash, passwordChangedAt: new Date() }).where(eq(users.id, id)).run();
    const ended = revokeUserSessions(id);
    audit(actor, 'user.password.reset', 'success', { target: target.username, detail: { sessionsEnded: ended } });
    return { username: target.username, changed: true, sessionsEnded: ended };
  });
}

export function setDisabled(actor: Actor, id: number, disabled: boolean): ChangeResult {
  return db().transaction(() => {
    const target = targetOf(actor, id, disabled ? 'disable' : 'enable');
    if (Boolean(target.disabledAt) === disabled) return { username: target.username, changed: false, sessionsEnded: 0 };
    if (disabled && isLastEnabledAdmin(target)) {
      throw new AppError('conflict', `"${target.username}" is the last enabled admin and cannot be disabled: make another account an admin first.`);
    }
    db()
      .update(users)
      .set(disabled ? { disabledAt: new Date(), disabledBy: actor.name } : { disabledAt: null, disabledBy: null })
      .where(eq(users.id, id))
      .run();
    // Enabling ends nothing: a disabled account has no live session.
    const ended = disabled ? revokeUserSessions(id) : 0;
    audit(actor, disabled ? 'user.disable' : 'user.enable', 'success', { target: target.username, detail: disabled ? { sessionsEnded: ended } : undefined });
    return { username: target.username, changed: true, sessionsEnded: ended };
  });
}

/**
 * A user's own password, with the current one. Wrong current passwords count
 * as failed sign-ins (the same throttle), so a stolen session cannot try
 * passwords without limit. The user's other sessions end; this one stays.
 */
export async function changeOwnPassword(
  me: { id: number | null; username: string; sessionId?: string | null },
  ip: string | null,
  input: ChangeOwnPasswordInput,
): Promise<{ sessionsEnded: number }> {
  const actor: Actor = { id: me.id, name: me.username, ip };
  const row = me.id === null ? undefined : db().select().from(users).where(eq(users.id, me.id)).get();
  if (!row) throw new AppError('forbidden', 'Only a signed-in account changes its own password (an API token cannot).');
  if (row.kind === 'oidc') throw new AppError('conflict', 'You sign in with OpenID Connect: change your password at the identity provider.');
  if (row.kind === 'otp') throw new AppError('conflict', 'The OTP User has a one-time password: create an account and remove the OTP User instead.');
  const throttle = checkThrottle(row.username, ip ?? 'unknown');
  if (throttle.blocked) throw new AppError('too_many_requests', throttle.message);
  if (!row.passwordHash || !(await verifyPassword(input.currentPassword, row.passwordHash))) {
    // Audited by the caller's wrapper (the refusal's words as the reason).
    recordFailure(row.username, ip ?? 'unknown');
    throw new AppError('unprocessable', 'The current password is wrong.', { field: 'currentPassword' });
  }
  const passwordHash = await hashPassword(input.password);
  const ended = db().transaction(() => {
    db().update(users).set({ passwordHash, passwordChangedAt: new Date() }).where(eq(users.id, row.id)).run();
    const n = revokeUserSessions(row.id, { exceptSessionId: me.sessionId ?? undefined });
    audit(actor, 'account.password.change', 'success', { target: row.username, detail: { otherSessionsEnded: n } });
    return n;
  });
  clearAccountFailures(row.username);
  return { sessionsEnded: ended };
}
