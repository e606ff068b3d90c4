import { getBackupSettings } from './settings';

/**
 * The Backup Status table's three columns. Until the backup engine exists
 * (DMS, storage, schedule), no backup can be created, so the schedule is
 * disabled with the reason.
 */
export type BackupStatus = {
  current: 'NOT RUNNING' | 'BACKUP IN PROGRESS';
  lastSuccessfulAt: string | null;
  nextScheduledAt: string | null;
  scheduleDisabledReason: string | null;
  filenamePrefix: string;
};

export function backupStatus(): BackupStatus {
  return {
    current: 'NOT RUNNING',
    lastSuccessfulAt: null,
    nextScheduledAt: null,
    scheduleDisabledReason: 'Set the Domain Master Secret and a backup storage location first.',
    filenamePrefix: getBackupSettings().filenamePrefix,
  };
}
