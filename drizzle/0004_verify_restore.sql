CREATE TABLE `backup_verifications` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`backup_run_id` integer,
	`location` text NOT NULL,
	`file_name` text NOT NULL,
	`level` text NOT NULL,
	`trigger` text NOT NULL,
	`requested_by` text NOT NULL,
	`status` text NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	`result` text,
	`error` text
);
--> statement-breakpoint
CREATE INDEX `backup_verifications_file` ON `backup_verifications` (`location`,`file_name`,`started_at`);--> statement-breakpoint
CREATE INDEX `backup_verifications_run` ON `backup_verifications` (`backup_run_id`);--> statement-breakpoint
CREATE TABLE `restore_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`status` text NOT NULL,
	`phase` text NOT NULL,
	`source` text NOT NULL,
	`source_label` text NOT NULL,
	`file_name` text NOT NULL,
	`requested_by` text NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	`plan` text,
	`outcome` text,
	`error` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `restore_runs_one_running` ON `restore_runs` (`status`) WHERE status = 'running';--> statement-breakpoint
CREATE TABLE `ssh_known_hosts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`host` text NOT NULL,
	`port` integer NOT NULL,
	`key_type` text NOT NULL,
	`fingerprint` text NOT NULL,
	`pinned_by` text NOT NULL,
	`pinned_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ssh_known_hosts_host_port` ON `ssh_known_hosts` (`host`,`port`);--> statement-breakpoint
-- One exclusive operation at a time, guaranteed by the database whichever
-- process asks: no backup starts while a restore runs, no restore while a
-- backup runs (each table's partial unique index already allows one running
-- row of its own kind).
CREATE TRIGGER `backup_not_during_restore` BEFORE INSERT ON `backup_runs`
WHEN NEW.status = 'running' AND EXISTS (SELECT 1 FROM `restore_runs` WHERE status = 'running')
BEGIN
  SELECT RAISE(ABORT, 'webconf: a restore is in progress');
END;
--> statement-breakpoint
CREATE TRIGGER `backup_not_during_restore_update` BEFORE UPDATE OF status ON `backup_runs`
WHEN NEW.status = 'running' AND OLD.status <> 'running' AND EXISTS (SELECT 1 FROM `restore_runs` WHERE status = 'running')
BEGIN
  SELECT RAISE(ABORT, 'webconf: a restore is in progress');
END;
--> statement-breakpoint
CREATE TRIGGER `restore_not_during_backup` BEFORE INSERT ON `restore_runs`
WHEN NEW.status = 'running' AND EXISTS (SELECT 1 FROM `backup_runs` WHERE status = 'running')
BEGIN
  SELECT RAISE(ABORT, 'webconf: a backup is in progress');
END;
--> statement-breakpoint
-- While a restore runs, nothing it is about to replace may change: settings,
-- accounts, the DMS.
CREATE TRIGGER `settings_frozen_insert` BEFORE INSERT ON `settings`
WHEN EXISTS (SELECT 1 FROM `restore_runs` WHERE status = 'running')
BEGIN
  SELECT RAISE(ABORT, 'webconf: a restore is in progress');
END;
--> statement-breakpoint
CREATE TRIGGER `settings_frozen_update` BEFORE UPDATE ON `settings`
WHEN EXISTS (SELECT 1 FROM `restore_runs` WHERE status = 'running')
BEGIN
  SELECT RAISE(ABORT, 'webconf: a restore is in progress');
END;
--> statement-breakpoint
CREATE TRIGGER `settings_frozen_delete` BEFORE DELETE ON `settings`
WHEN EXISTS (SELECT 1 FROM `restore_runs` WHERE status = 'running')
BEGIN
  SELECT RAISE(ABORT, 'webconf: a restore is in progress');
END;
--> statement-breakpoint
CREATE TRIGGER `users_frozen_insert` BEFORE INSERT ON `users`
WHEN EXISTS (SELECT 1 FROM `restore_runs` WHERE status = 'running')
BEGIN
  SELECT RAISE(ABORT, 'webconf: a restore is in progress');
END;
--> statement-breakpoint
-- (last_login_at may change: signing in stays possible while a restore runs.)
CREATE TRIGGER `users_frozen_update` BEFORE UPDATE OF `username`, `display_name`, `kind`, `role`, `password_hash`, `oidc_issuer`, `oidc_subject` ON `users`
WHEN EXISTS (SELECT 1 FROM `restore_runs` WHERE status = 'running')
BEGIN
  SELECT RAISE(ABORT, 'webconf: a restore is in progress');
END;
--> statement-breakpoint
CREATE TRIGGER `users_frozen_delete` BEFORE DELETE ON `users`
WHEN EXISTS (SELECT 1 FROM `restore_runs` WHERE status = 'running')
BEGIN
  SELECT RAISE(ABORT, 'webconf: a restore is in progress');
END;
--> statement-breakpoint
CREATE TRIGGER `dms_frozen_insert` BEFORE INSERT ON `domain_master_secret`
WHEN EXISTS (SELECT 1 FROM `restore_runs` WHERE status = 'running')
BEGIN
  SELECT RAISE(ABORT, 'webconf: a restore is in progress');
END;
