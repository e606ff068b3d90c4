import { formatSize } from './format-size';
import type { SpaceInfo } from './types';

/**
 * The free-space warning of the storage section, the status panel and the
 * storage browser (seed: "If the free storage space is less than 20% of the
 * total storage space, a warning appears"): under 20% free, or less free
 * space than the next backup is expected to need, whatever the percentage.
 * Null when neither holds.
 */
export const LOW_SPACE_FRACTION = 0.2;

export function spaceWarning(space: SpaceInfo, expectedBackupBytes: number | null): string | null {
  if (expectedBackupBytes !== null && space.freeBytes < expectedBackupBytes) {
    return `Only ${formatSize(space.freeBytes)} is free, less than the next backup needs (about ${formatSize(expectedBackupBytes)}): the next backup will fail. Clean up the storage drive or replace it with a larger one.`;
  }
  if (space.totalBytes > 0 && space.freeBytes / space.totalBytes < LOW_SPACE_FRACTION) {
    const pct = Math.floor((space.freeBytes / space.totalBytes) * 1000) / 10;
    return `Less than 20% of the storage is free: ${formatSize(space.freeBytes)} of ${formatSize(space.totalBytes)} (${pct}%) remains. Consider cleaning up old backups or replacing the storage drive.`;
  }
  return null;
}
