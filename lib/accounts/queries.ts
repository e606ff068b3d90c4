import { asc, count, eq } from 'drizzle-orm';
import { db } from '../db/client';
import { users, type User } from '../db/schema';

/** Account reads. Password hashes never leave this module except through findForSignIn. */
export type PublicUser = Omit<User, 'passwordHash'>;

function toPublic(u: User): PublicUser {
  const { passwordHash: _omit, ...rest } = u;
  return rest;
}

export function listUsers(): PublicUser[] {
  return db().select().from(users).orderBy(asc(users.id)).all().map(toPublic);
}

export function getUser(id: number): PublicUser | undefined {
  const u = db().select().from(users).where(eq(users.id, id)).get();
  return u && toPublic(u);
}

export function findForSignIn(username: string): User | undefined {
  return db().select().from(users).where(eq(users.username, username)).get();
}

export function countUsers(): number {
  return db().select({ n: count() }).from(users).get()!.n;
}

export function countAdmins(): number {
  return db().select({ n: count() }).from(users).where(eq(users.role, 'admin')).get()!.n;
}

export function otpUser(): PublicUser | undefined {
  const u = db().select().from(users).where(eq(users.kind, 'otp')).get();
  return u && toPublic(u);
}
