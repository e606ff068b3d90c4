-- The Domain Master Secret is write-once: the database itself refuses any
-- change or removal, whatever the application code does.
CREATE TRIGGER `dms_no_update` BEFORE UPDATE ON `domain_master_secret`
BEGIN
  SELECT RAISE(ABORT, 'The Domain Master Secret is already set and cannot be changed');
END;
--> statement-breakpoint
CREATE TRIGGER `dms_no_delete` BEFORE DELETE ON `domain_master_secret`
BEGIN
  SELECT RAISE(ABORT, 'The Domain Master Secret cannot be deleted');
END;
--> statement-breakpoint
-- A second row, even through INSERT OR REPLACE (whose implicit delete does
-- not fire delete triggers), is refused before any conflict handling runs.
CREATE TRIGGER `dms_no_second` BEFORE INSERT ON `domain_master_secret`
WHEN (SELECT count(*) FROM `domain_master_secret`) > 0
BEGIN
  SELECT RAISE(ABORT, 'The Domain Master Secret is already set and cannot be changed');
END;
