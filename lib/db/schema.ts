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

/**
 * The Domain Master Secret, set once. One row at most (id = 1); the
 * migration adds triggers that abort any UPDATE or DELETE, so it can never be
 * changed or removed, whatever the code does. Neither column is the DMS:
 * `verifier` is a scrypt hash to recognise it, `sealed` is the DMS sealed
 * under the appliance key so that scheduled backups run unattended.
 */
export const domainMasterSecret = sqliteTable(
  'domain_master_secret',
  {
    id: integer('id').primaryKey(),
    verifier: text('verifier').notNull(),
    sealed: text('sealed').notNull(),
    setAt: integer('set_at', { mode: 'timestamp_ms' }).notNull(),
    setBy: text('set_by').notNull(),
  },
  (t) => [check('dms_single_row', sql`${t.id} = 1`)],
);

export const BACKUP_STATUSES = ['running', 'succeeded', 'failed', 'interrupted', 'aborted'] as const;
export const BACKUP_PHASES = ['preparing', 'snapshot', 'hashing', 'writing', 'verifying', 'publishing', 'done'] as const;

/**
 * Every backup run. At most one row is 'running' at a time: a partial unique
 * index makes the database refuse a second one, whichever process asks.
 */
export const backupRuns = sqliteTable(
  'backup_runs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    trigger: text('trigger', { enum: ['manual', 'scheduled'] }).notNull(),
    requestedBy: text('requested_by').notNull(),
    status: text('status', { enum: BACKUP_STATUSES }).notNull(),
    phase: text('phase', { enum: BACKUP_PHASES }).notNull(),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }).notNull(),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
    bytesDone: integer('bytes_done').notNull().default(0),
    bytesExpected: integer('bytes_expected'),
    sizeBytes: integer('size_bytes'),
    fileName: text('file_name'),
    tempName: text('temp_name'),
    target: text('target'),
    checksum: text('checksum'),
    manifest: text('manifest'),
    error: text('error'),
    /** Set when retention removed this run's file from the target. */
    prunedAt: integer('pruned_at', { mode: 'timestamp_ms' }),
  },
  (t) => [
    uniqueIndex('backup_runs_one_running').on(t.status).where(sql`status = 'running'`),
    index('backup_runs_started').on(t.startedAt),
  ],
);

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
export type Session = typeof sessions.$inferSelect;
export type AuditEvent = typeof auditEvents.$inferSelect;
export type Role = User['role'];
export type BackupRun = typeof backupRuns.$inferSelect;
export type BackupStatusValue = BackupRun['status'];
export type AccountKind = User['kind'];

export const VERIFY_LEVELS = ['quick', 'full'] as const;
export const VERIFY_STATUSES = ['running', 'passed', 'failed'] as const;

/**
 * Every verification of a backup file: on demand (history, storage browser)
 * or scheduled. `location` is the storage location URL the file was read
 * from and `fileName` its name there; `backupRunId` links it to the run that
 * wrote it when this console knows one.
 */
export const backupVerifications = sqliteTable(
  'backup_verifications',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    backupRunId: integer('backup_run_id'),
    location: text('location').notNull(),
    fileName: text('file_name').notNull(),
    level: text('level', { enum: VERIFY_LEVELS }).notNull(),
    trigger: text('trigger', { enum: ['manual', 'scheduled'] }).notNull(),
    requestedBy: text('requested_by').notNull(),
    status: text('status', { enum: VERIFY_STATUSES }).notNull(),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }).notNull(),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
    /** JSON: what was checked (members, bytes, the database's integrity result). */
    result: text('result'),
    error: text('error'),
  },
  (t) => [index('backup_verifications_file').on(t.location, t.fileName, t.startedAt), index('backup_verifications_run').on(t.backupRunId)],
);

export const RESTORE_STATUSES = ['running', 'succeeded', 'failed', 'rolled_back', 'interrupted'] as const;
export const RESTORE_PHASES = ['fetching', 'verifying', 'staging', 'safety-copy', 'switching', 'post-check', 'done'] as const;
export const RESTORE_SOURCES = ['storage', 'upload', 'sftp', 'scp', 'file'] as const;

/**
 * Every restore. At most one row is 'running' at a time (partial unique
 * index), and triggers (drizzle/0004) refuse a running backup while a restore
 * runs, a restore while a backup runs, and any change of settings, accounts
 * or the DMS while a restore runs.
 */
export const restoreRuns = sqliteTable(
  'restore_runs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    status: text('status', { enum: RESTORE_STATUSES }).notNull(),
    phase: text('phase', { enum: RESTORE_PHASES }).notNull(),
    source: text('source', { enum: RESTORE_SOURCES }).notNull(),
    /** Where the file came from, in words (location URL and name, upload name, sftp://user@host:port/path). */
    sourceLabel: text('source_label').notNull(),
    fileName: text('file_name').notNull(),
    requestedBy: text('requested_by').notNull(),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }).notNull(),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
    /** JSON: the backup's manifest summary and the plan that was confirmed. */
    plan: text('plan'),
    /** What the console said at the end, in words (restored, refused and why, rolled back and why). */
    outcome: text('outcome'),
    error: text('error'),
  },
  (t) => [uniqueIndex('restore_runs_one_running').on(t.status).where(sql`status = 'running'`)],
);

/**
 * Host keys pinned for remote sources (SFTP, SCP): confirmed by an admin on
 * first use; a connection whose key differs is refused.
 */
export const sshKnownHosts = sqliteTable(
  'ssh_known_hosts',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    host: text('host').notNull(),
    port: integer('port').notNull(),
    keyType: text('key_type').notNull(),
    /** "SHA256:" + unpadded base64, as `ssh-keygen -lf` prints it. */
    fingerprint: text('fingerprint').notNull(),
    pinnedBy: text('pinned_by').notNull(),
    pinnedAt: integer('pinned_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [uniqueIndex('ssh_known_hosts_host_port').on(t.host, t.port)],
);

/**
 * Keys derived from the DMS by scrypt for one backup file (its age file key,
 * its manifest's signing key), remembered so that verifying or restoring a
 * file again costs no scrypt. `id` is HMAC-SHA-256 under the DMS of the kind
 * and the file's salt, so an entry answers only for the DMS that derived it;
 * `sealed` is the key sealed under this appliance's seal key (another
 * appliance's entries, restored with its database, do not open and count as
 * missing). Removing any or all rows only costs scrypt runs.
 */
export const derivedKeys = sqliteTable('derived_keys', {
  id: text('id').primaryKey(),
  sealed: text('sealed').notNull(),
  createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
});

export type DerivedKey = typeof derivedKeys.$inferSelect;
export type BackupVerification = typeof backupVerifications.$inferSelect;
export type RestoreRun = typeof restoreRuns.$inferSelect;
export type SshKnownHost = typeof sshKnownHosts.$inferSelect;
