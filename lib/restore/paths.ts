import path from 'node:path';
import { applianceRoot } from '../backup/appliance';
import { databaseFile } from '../db/client';
import { dataDir } from '../env';

/**
 * Where a restore works. Everything it stages sits beside what it replaces,
 * on the same file system, so that the switch is a handful of rename(2)s:
 *
 *   <data>/restore/owner.pid               the process running a restore right now (recovery leaves its restore alone)
 *   <data>/restore/journal.json            the switch's intent (journal.ts); absent when no restore is under way
 *   <data>/restore/incoming/               uploaded and downloaded backup files, until the restore ends
 *   <data>/restore/work-<id>/webconf.db    the backup's database, prepared for this appliance
 *   <data>/restore/work-<id>/old/          the live database moved aside during the switch
 *   <data>/restore/safety/<stamp>-<id>/    the state before a restore (database, firmware/, system/), last 3 kept
 *   <appliance root>/.restore-<id>/new/    the backup's firmware/ and system/
 *   <appliance root>/.restore-<id>/old/    the live firmware/ and system/ moved aside during the switch
 *
 * The backup's hsm/ is never in a backup and the live one is never touched.
 */
export function restoreRoot(): string {
  return path.join(dataDir(), 'restore');
}

export function journalFile(): string {
  return path.join(restoreRoot(), 'journal.json');
}

export function ownerFile(): string {
  return path.join(restoreRoot(), 'owner.pid');
}

export function incomingDir(): string {
  return path.join(restoreRoot(), 'incoming');
}

export function safetyRoot(): string {
  return path.join(restoreRoot(), 'safety');
}

export function workDir(id: string): string {
  return path.join(restoreRoot(), `work-${id}`);
}

export function applianceWorkDir(id: string): string {
  return path.join(applianceRoot(), `.restore-${id}`);
}

export const WORK_PREFIX = 'work-';
export const APPLIANCE_WORK_PREFIX = '.restore-';

/** The configuration folders a restore replaces, as the archive names them. */
export const RESTORED_FOLDERS = ['firmware', 'system'] as const;

export function liveDatabase(): string {
  return databaseFile();
}
