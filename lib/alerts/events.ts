import { CONDITION, alertFailing, alertRecovered } from './conditions';

/**
 * The events the domain reports, each one call from where it happens, each
 * with its words: what happened, where, why, what to do. They only write
 * SQLite rows (conditions.ts) and never throw.
 */

export const alertEvents = {
  backupFailed(why: string, runId: number | null, scheduled: boolean): void {
    alertFailing(CONDITION.backup, {
      what: scheduled && runId === null ? 'A scheduled backup did not start' : `Backup${runId ? ` #${runId}` : ''} failed`,
      why,
      action: 'Open the console\'s Backup page: the history shows the reason. Fix it (storage, network, space), then start a backup with Backup now to check.',
    });
  },
  backupSucceeded(fileName: string, target: string): void {
    alertRecovered(CONDITION.backup, { what: 'Backups work again', why: `The backup ${fileName} was written to ${target}.` });
  },
  verifyFailed(fileName: string, why: string | null): void {
    alertFailing(CONDITION.verify, {
      what: `Verification of ${fileName} failed`,
      why: why ?? undefined,
      action: 'Do not rely on this file for a restore. Check the storage location and run a new backup, then verify it.',
    });
  },
  verifyPassed(fileName: string): void {
    alertRecovered(CONDITION.verify, { what: 'Verifications pass again', why: `${fileName} passed its verification.` });
  },
  storageUnavailable(why: string): void {
    alertFailing(CONDITION.storage, {
      what: 'The backup storage location is unavailable',
      why,
      action: 'Check that the drive is attached or the share is reachable and writable (Settings → Storage). Backups fail until it is back.',
    });
  },
  storageAvailable(label: string): void {
    alertRecovered(CONDITION.storage, { what: 'The backup storage location is available again', why: `${label} can be written to.` });
  },
  storageLow(warning: string): void {
    alertFailing(CONDITION.storageSpace, { what: 'The backup storage is running out of space', why: warning, action: 'Remove old backups (or shorten the retention) or replace the storage with a larger one.' });
  },
  storageSpaceOk(label: string): void {
    alertRecovered(CONDITION.storageSpace, { what: 'The backup storage has enough free space again', why: `${label} has 20% or more free.` });
  },
  scheduledRunMissed(due: Date, lastAlive: Date): void {
    alertFailing(CONDITION.scheduleMissed, {
      what: 'A scheduled backup did not run',
      why: `The console was not running at the scheduled time ${due.toISOString()} (last seen running at ${lastAlive.toISOString()}). Missed backups are not caught up.`,
      action: 'Start a backup now with Backup now, and find out why the console was down at that time.',
    });
  },
  scheduledRunStarted(): void {
    alertRecovered(CONDITION.scheduleMissed, { what: 'Scheduled backups run again', why: 'A scheduled backup started at its time.' });
  },
  deviceBackupFailed(device: string, why: string, hostKeyChanged: boolean): void {
    if (hostKeyChanged) {
      alertFailing(CONDITION.deviceHostKey(device), {
        what: `The host key of managed device ${device} changed`,
        where: `managed device ${device}`,
        why,
        action: 'Check the new fingerprint with the device\'s administrator; if it is right, pin it on the Managed devices page to resume its backups.',
      });
      return;
    }
    alertFailing(CONDITION.device(device), {
      what: `The backup of managed device ${device} failed`,
      where: `managed device ${device}`,
      why,
      action: 'Check that the device is reachable over SSH and its account works (Managed devices page); its next scheduled run tries again.',
    });
  },
  deviceBackupSucceeded(device: string): void {
    alertRecovered(CONDITION.device(device), { what: `Backups of managed device ${device} work again`, where: `managed device ${device}` });
    alertRecovered(CONDITION.deviceHostKey(device), { what: `Managed device ${device} is backed up again with a pinned host key`, where: `managed device ${device}` });
  },
};
