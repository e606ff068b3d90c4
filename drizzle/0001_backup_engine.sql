CREATE TABLE `backup_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`trigger` text NOT NULL,
	`requested_by` text NOT NULL,
	`status` text NOT NULL,
	`phase` text NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer,
	`bytes_done` integer DEFAULT 0 NOT NULL,
	`bytes_expected` integer,
	`size_bytes` integer,
	`file_name` text,
	`temp_name` text,
	`target` text,
	`checksum` text,
	`manifest` text,
	`error` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `backup_runs_one_running` ON `backup_runs` (`status`) WHERE status = 'running';--> statement-breakpoint
CREATE INDEX `backup_runs_started` ON `backup_runs` (`started_at`);--> statement-breakpoint
CREATE TABLE `domain_master_secret` (
	`id` integer PRIMARY KEY NOT NULL,
	`verifier` text NOT NULL,
	`sealed` text NOT NULL,
	`set_at` integer NOT NULL,
	`set_by` text NOT NULL,
	CONSTRAINT "dms_single_row" CHECK("domain_master_secret"."id" = 1)
);
