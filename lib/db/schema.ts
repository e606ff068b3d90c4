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
    /** Where the last sign-in came from (the client address as the console saw it). */
    lastLoginIp: text('last_login_ip'),
    /** Set while the account is disabled: it cannot sign in and has no sessions. */
    disabledAt: integer('disabled_at', { mode: 'timestamp_ms' }),
    disabledBy: text('disabled_by'),
    /** The last change of the password by anyone (the user, or an admin's reset). */
    passwordChangedAt: integer('password_changed_at', { mode: 'timestamp_ms' }),
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
  (t) => [index('audit_events_at').on(t.at), index('audit_events_actor_at').on(t.actorName, t.at), index('audit_events_action_at').on(t.action, t.at)],
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

/**
 * Alert channels (lib/alerts): where alerts go. `config` is the kind's
 * settings as JSON without secrets (the alerts domain's schemas); the
 * secret (SMTP password, webhook signing key, syslog TLS client key) is
 * sealed (lib/crypto/seal.ts) and never returned. The delivery counters say
 * whether a channel keeps failing, for the page.
 */
export const alertChannels = sqliteTable(
  'alert_channels',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    kind: text('kind', { enum: ['email', 'webhook', 'syslog'] }).notNull(),
    name: text('name').notNull(),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    config: text('config').notNull(),
    secretSealed: text('secret_sealed'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
    lastDeliveredAt: integer('last_delivered_at', { mode: 'timestamp_ms' }),
    lastFailedAt: integer('last_failed_at', { mode: 'timestamp_ms' }),
    lastError: text('last_error'),
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
  },
  (t) => [uniqueIndex('alert_channels_name_unique').on(t.name)],
);

/**
 * What is failing now, one row per condition (key: "backup", "verify",
 * "storage", "storage-space", "schedule-missed", "device:<name>",
 * "device-host-key:<name>"): the state behind "one alert when it starts
 * failing, reminders while it stays failed, one when it recovers".
 */
export const alertConditions = sqliteTable('alert_conditions', {
  key: text('key').primaryKey(),
  state: text('state', { enum: ['failing', 'ok'] }).notNull(),
  /** When the current state began. */
  since: integer('since', { mode: 'timestamp_ms' }).notNull(),
  /** The last event that kept it in this state. */
  lastEventAt: integer('last_event_at', { mode: 'timestamp_ms' }).notNull(),
  /** When the last alert (failure or reminder) for it was queued. */
  lastNotifiedAt: integer('last_notified_at', { mode: 'timestamp_ms' }),
  reminders: integer('reminders').notNull().default(0),
  /** JSON: the last event's summary (what, where, why, what to do). */
  detail: text('detail'),
});

/**
 * Alerts waiting for delivery, one row per channel: written in the same
 * transaction as the event that causes them, delivered in the background with
 * back-off, so that a slow or unreachable channel never delays a backup.
 */
export const alertOutbox = sqliteTable(
  'alert_outbox',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    channelId: integer('channel_id')
      .notNull()
      .references(() => alertChannels.id, { onDelete: 'cascade' }),
    conditionKey: text('condition_key'),
    kind: text('kind', { enum: ['failure', 'reminder', 'recovery', 'test'] }).notNull(),
    /** JSON: the alert's subject, text and fields. */
    message: text('message').notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'abandoned'] }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: integer('next_attempt_at', { mode: 'timestamp_ms' }).notNull(),
    deliveredAt: integer('delivered_at', { mode: 'timestamp_ms' }),
    lastError: text('last_error'),
  },
  (t) => [index('alert_outbox_due').on(t.status, t.nextAttemptAt)],
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

/**
 * Managed devices (firewalls) whose configuration the console backs up over
 * SSH (lib/devices exports it, lib/fleet runs the backups). Credentials are
 * sealed (lib/crypto/seal.ts), never returned. The host key is pinned once an
 * admin confirmed its fingerprint; a different key presented later is kept
 * in `presentedFingerprint` and stops the device's backups until accepted.
 * `approval` pending: added, not approved yet (backups do not apply).
 * `groupId`/`groupRole` place a device in an HA pair or a cluster (a later
 * issue): each member keeps its own backups, its role in their names.
 */
export const managedDevices = sqliteTable(
  'managed_devices',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    name: text('name').notNull(),
    host: text('host').notNull(),
    port: integer('port').notNull(),
    username: text('username').notNull(),
    authKind: text('auth_kind', { enum: ['password', 'key'] }).notNull(),
    /** The password or the private key (OpenSSH/PEM text), sealed. */
    secretSealed: text('secret_sealed').notNull(),
    /** The private key's passphrase, sealed, when it has one. */
    passphraseSealed: text('passphrase_sealed'),
    model: text('model').notNull(),
    /** The export command for the generic model; the model's own otherwise. */
    exportCommand: text('export_command'),
    hostKeyType: text('host_key_type'),
    /** "SHA256:" + unpadded base64, as `ssh-keygen -lf` prints it; null until an admin confirmed one. */
    hostKeyFingerprint: text('host_key_fingerprint'),
    presentedKeyType: text('presented_key_type'),
    /** What the device presented at the last contact when it differs from the pinned key (or none is pinned). */
    presentedFingerprint: text('presented_fingerprint'),
    approval: text('approval', { enum: ['pending', 'approved'] }).notNull(),
    backupEnabled: integer('backup_enabled', { mode: 'boolean' }).notNull(),
    /** The device's own age X25519 recipient ("age1..."), overriding the organisation's; null: the organisation key. */
    recipient: text('recipient'),
    firmwareVersion: text('firmware_version'),
    /** Reached (synced) or not (not_synced) at the last attempt; null before the first. */
    syncStatus: text('sync_status', { enum: ['synced', 'not_synced'] }),
    lastContactAt: integer('last_contact_at', { mode: 'timestamp_ms' }),
    lastError: text('last_error'),
    groupId: text('group_id'),
    groupRole: text('group_role'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    createdBy: text('created_by').notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [uniqueIndex('managed_devices_name').on(t.name)],
);

/** One backup run over managed devices: on the schedule, or on demand for one device, a selection or all. */
export const fleetRuns = sqliteTable(
  'fleet_runs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    trigger: text('trigger', { enum: ['schedule', 'manual'] }).notNull(),
    requestedBy: text('requested_by').notNull(),
    status: text('status', { enum: ['running', 'succeeded', 'failed', 'partial', 'cancelled'] }).notNull(),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }).notNull(),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
    /** Why the run as a whole failed (storage unreachable, no key configured), in words. */
    error: text('error'),
  },
  (t) => [uniqueIndex('fleet_runs_one_running').on(t.status).where(sql`status = 'running'`)],
);

/** A device's part in a run, with its reason when it did not succeed. */
export const fleetTasks = sqliteTable(
  'fleet_tasks',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    runId: integer('run_id')
      .notNull()
      .references(() => fleetRuns.id, { onDelete: 'cascade' }),
    deviceId: integer('device_id')
      .notNull()
      .references(() => managedDevices.id, { onDelete: 'cascade' }),
    status: text('status', { enum: ['pending', 'in_progress', 'succeeded', 'failed', 'cancelled'] }).notNull(),
    startedAt: integer('started_at', { mode: 'timestamp_ms' }),
    finishedAt: integer('finished_at', { mode: 'timestamp_ms' }),
    attempts: integer('attempts').notNull().default(0),
    /** The configuration equalled the last backup once the model's changing values were set aside: no new copy stored. */
    unchanged: integer('unchanged', { mode: 'boolean' }).notNull().default(false),
    backupId: integer('backup_id'),
    error: text('error'),
    errorCode: text('error_code'),
  },
  (t) => [index('fleet_tasks_run').on(t.runId), index('fleet_tasks_device').on(t.deviceId)],
);

/**
 * Device backups the console wrote (retention only ever removes these): an
 * age file encrypted to the organisation's or the device's X25519 recipient,
 * stored under folder/device/timestamp.
 */
export const deviceBackups = sqliteTable(
  'device_backups',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    deviceId: integer('device_id')
      .notNull()
      .references(() => managedDevices.id, { onDelete: 'cascade' }),
    /** Where it is: "s3" (bucket and key) or "console" (the console's backup storage, path). */
    storage: text('storage', { enum: ['s3', 'console'] }).notNull(),
    location: text('location').notNull(),
    objectKey: text('object_key').notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    /** SHA-256 of the stored (encrypted) object. */
    sha256: text('sha256').notNull(),
    /** SHA-256 of the configuration with the model's changing values set aside (what "unchanged" compares). */
    normalizedSha256: text('normalized_sha256').notNull(),
    configBytes: integer('config_bytes').notNull(),
    keyKind: text('key_kind', { enum: ['org', 'device'] }).notNull(),
    recipient: text('recipient').notNull(),
    firmwareVersion: text('firmware_version'),
    deletedAt: integer('deleted_at', { mode: 'timestamp_ms' }),
  },
  (t) => [index('device_backups_device').on(t.deviceId, t.createdAt)],
);

/**
 * API tokens for the command line and scripts: a role, revocable; only the
 * SHA-256 of the token is kept (the token is shown once, when issued).
 */
export const apiTokens = sqliteTable(
  'api_tokens',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    name: text('name').notNull(),
    role: text('role', { enum: ['admin', 'operator', 'support'] }).notNull(),
    /** The token's first characters, to tell tokens apart in lists; not enough to use it. */
    prefix: text('prefix').notNull(),
    tokenHash: text('token_hash').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    lastUsedAt: integer('last_used_at', { mode: 'timestamp_ms' }),
    revokedAt: integer('revoked_at', { mode: 'timestamp_ms' }),
    revokedBy: text('revoked_by'),
  },
  (t) => [uniqueIndex('api_tokens_hash').on(t.tokenHash)],
);

export type ManagedDevice = typeof managedDevices.$inferSelect;
export type FleetRun = typeof fleetRuns.$inferSelect;
export type FleetTask = typeof fleetTasks.$inferSelect;
export type DeviceBackup = typeof deviceBackups.$inferSelect;
export type ApiToken = typeof apiTokens.$inferSelect;

export type DerivedKey = typeof derivedKeys.$inferSelect;
export type BackupVerification = typeof backupVerifications.$inferSelect;
export type RestoreRun = typeof restoreRuns.$inferSelect;
export type SshKnownHost = typeof sshKnownHosts.$inferSelect;
export type AlertChannel = typeof alertChannels.$inferSelect;
export type AlertCondition = typeof alertConditions.$inferSelect;
export type AlertOutboxRow = typeof alertOutbox.$inferSelect;
