CREATE TABLE `api_tokens` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`role` text NOT NULL,
	`prefix` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer,
	`revoked_by` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_hash` ON `api_tokens` (`token_hash`);--> statement-breakpoint
CREATE TABLE `device_backups` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`device_id` integer NOT NULL,
	`storage` text NOT NULL,
	`location` text NOT NULL,
	`object_key` text NOT NULL,
	`created_at` integer NOT NULL,
	`size_bytes` integer NOT NULL,
	`sha256` text NOT NULL,
	`normalized_sha256` text NOT NULL,
	`config_bytes` integer NOT NULL,
	`key_kind` text NOT NULL,
	`recipient` text NOT NULL,
	`firmware_version` text,
	`deleted_at` integer,
	FOREIGN KEY (`device_id`) REFERENCES `managed_devices`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `device_backups_device` ON `device_backups` (`device_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `fleet_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`trigger` text NOT NULL,
	`requested_by` text NOT NULL,
	`status` text NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	`error` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `fleet_runs_one_running` ON `fleet_runs` (`status`) WHERE status = 'running';--> statement-breakpoint
CREATE TABLE `fleet_tasks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` integer NOT NULL,
	`device_id` integer NOT NULL,
	`status` text NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`unchanged` integer DEFAULT false NOT NULL,
	`backup_id` integer,
	`error` text,
	`error_code` text,
	FOREIGN KEY (`run_id`) REFERENCES `fleet_runs`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`device_id`) REFERENCES `managed_devices`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `fleet_tasks_run` ON `fleet_tasks` (`run_id`);--> statement-breakpoint
CREATE INDEX `fleet_tasks_device` ON `fleet_tasks` (`device_id`);--> statement-breakpoint
CREATE TABLE `managed_devices` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`host` text NOT NULL,
	`port` integer NOT NULL,
	`username` text NOT NULL,
	`auth_kind` text NOT NULL,
	`secret_sealed` text NOT NULL,
	`passphrase_sealed` text,
	`model` text NOT NULL,
	`export_command` text,
	`host_key_type` text,
	`host_key_fingerprint` text,
	`presented_key_type` text,
	`presented_fingerprint` text,
	`approval` text NOT NULL,
	`backup_enabled` integer NOT NULL,
	`recipient` text,
	`firmware_version` text,
	`sync_status` text,
	`last_contact_at` integer,
	`last_error` text,
	`group_id` text,
	`group_role` text,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `managed_devices_name` ON `managed_devices` (`name`);