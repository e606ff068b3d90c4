import { sql } from 'drizzle-orm';
import { check, index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/**
 * Accounts. kind "otp" is the one-time-password user made at first start; it
 * may only create OAuth users. "local" users sign in with a password held by
 * the appliance, "oidc" users through the configured OpenID Connect provider.
 */
export const users = sqliteTable(
  'users',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    username: text('username').notNull(),
    displayName: text('display_name'),
    kind: text('kind', { enum: ['otp', 'local', 'oidc'] }).notNull(),
    role: text('role', { enum: ['otp', 'admin', 'operator', 'support'] }).notNull(),
    /** scrypt$logN$r$p$salt$hash, never the password itself. */
    passwordHash: text('password_hash'),
    oidcIssuer: text('oidc_issuer'),
    oidcSubject: text('oidc_subject'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    createdBy: text('created_by'),
    lastLoginAt: integer('last_login_at', { mode: 'timestamp_ms' }),
  },
  (t) => [
    uniqueIndex('users_username_unique').on(t.username),
    uniqueIndex('users_oidc_identity_unique').on(t.oidcIssuer, t.oidcSubject),
    check('users_kind_role', sql`(${t.kind} = 'otp') = (${t.role} = 'otp')`),
    check('users_password', sql`${t.kind} = 'oidc' OR ${t.passwordHash} IS NOT NULL`),
  ],
);

/**
 * Server-side session records. The signed, encrypted session cookie carries
 * only the session id; idle and absolute timeouts and revocation are decided
 * here, so a removed account or a signed-out session is gone at once.
 */
export const sessions = sqliteTable(
  'sessions',
  {
    /** SHA-256 of the session id in the cookie. */
    idHash: text('id_hash').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    lastSeenAt: integer('last_seen_at', { mode: 'timestamp_ms' }).notNull(),
    ip: text('ip'),
    userAgent: text('user_agent'),
    revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
  },
  (t) => [index('sessions_user').on(t.userId)],
);

/** Failed sign-ins, kept for the throttling window (per account and per address). */
export const loginFailures = sqliteTable(
  'login_failures',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    account: text('account').notNull(),
    ip: text('ip').notNull(),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('login_failures_account_at').on(t.account, t.at), index('login_failures_ip_at').on(t.ip, t.at)],
);

/** The audit trail: who did what, when, from where, and how it ended. Never a secret. */
export const auditEvents = sqliteTable(
  'audit_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
    actorId: integer('actor_id'),
    actorName: text('actor_name').notNull(),
    ip: text('ip'),
    action: text('action').notNull(),
    target: text('target'),
    outcome: text('outcome', { enum: ['success', 'denied', 'failure'] }).notNull(),
    detail: text('detail'),
  },
  (t) => [index('audit_events_at').on(t.at)],
);

/** Key/value settings, each value a JSON document validated by its domain's schema. */
export const settings = sqliteTable('settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  updatedBy: text('updated_by'),
});

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
export type Session = typeof sessions.$inferSelect;
export type AuditEvent = typeof auditEvents.$inferSelect;
export type Role = User['role'];
export type AccountKind = User['kind'];
