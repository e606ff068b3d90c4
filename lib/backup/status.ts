import { isDmsSet } from './dms';
import { storageState } from './engine';
import { lastSuccessfulBackup, runningBackup } from './runs';
import { nextRuns } from './schedule';
import { getBackupSettings } from './settings';

/**
 * The Backup Status table: Current Backup Status, Last Successful Backup,
 * Next Scheduled Backup Execution (or Schedule Disabled, with the reason,
 * when a backup cannot be created or automated backups are off).
 */
export type BackupStatus = {
  /** When the server read this status (ms since 1970): a page rendered earlier must not replace a newer poll's answer. */
  readAt: number;
  current: 'NOT RUNNING' | 'BACKUP IN PROGRESS';
  running: { id: number; phase: string; bytesDone: number; bytesExpected: number | null; startedAt: string; requestedBy: string; trigger: string } | null;
  lastSuccessfulAt: string | null;
  lastSuccessfulFile: string | null;
  nextScheduledAt: string | null;
  scheduleDisabledReason: string | null;
  canBackup: boolean;
  blocker: string | null;
  /** The configured storage: its label, space, and the free-space warning (under 20% free, or less than the next backup needs). */
  storage: { label: string | null; totalBytes: number | null; freeBytes: number | null; usedBytes: number | null; expectedBackupBytes: number | null; warning: string | null };
};

export async function backupStatus(now = new Date()): Promise<BackupStatus> {
  const running = runningBackup();
  const last = lastSuccessfulBackup();
  const storage = await storageState();
  const blocker = !isDmsSet() ? 'Set the Domain Master Secret first.' : storage.blocker;
  const { schedule } = getBackupSettings();
  let nextScheduledAt: string | null = null;
  let scheduleDisabledReason: string | null = blocker;
  if (!blocker) {
    if (!schedule.enabled) scheduleDisabledReason = 'Automated backups are turned off.';
    else nextScheduledAt = nextRuns(schedule, 1, now)[0]?.toISOString() ?? null;
  }
  return {
    readAt: now.getTime(),
    current: running ? 'BACKUP IN PROGRESS' : 'NOT RUNNING',
    running: running
      ? {
          id: running.id,
          phase: running.phase,
          bytesDone: running.bytesDone,
          bytesExpected: running.bytesExpected,
          startedAt: running.startedAt.toISOString(),
          requestedBy: running.requestedBy,
          trigger: running.trigger,
        }
      : null,
    lastSuccessfulAt: last?.finishedAt?.toISOString() ?? null,
    lastSuccessfulFile: last?.fileName ?? null,
    nextScheduledAt,
    scheduleDisabledReason: nextScheduledAt ? null : scheduleDisabledReason,
    canBackup: !blocker,
    blocker,
    storage: {
      label: storage.label,
      totalBytes: storage.space?.totalBytes ?? null,
      freeBytes: storage.space?.freeBytes ?? null,
      usedBytes: storage.space?.usedBytes ?? null,
      expectedBackupBytes: storage.expectedBytes,
      warning: storage.warning,
    },
  };
}
