import { describe, expect, it } from 'vitest';
import { formatSize } from '@/lib/storage/format-size';
import { spaceWarning } from '@/lib/storage/space-warning';

const GB = 1e9;
describe('free-space warning', () => {
  it('warns under 20% free with how much is left, and suggests cleaning up or replacing the drive', () => {
    const w = spaceWarning({ totalBytes: 100 * GB, freeBytes: 19.9 * GB, usedBytes: 80.1 * GB }, 1e6);
    expect(w).toMatch(/Less than 20% of the storage is free: 19\.9 GB of 100\.0 GB \(19\.9%\)/);
    expect(w).toMatch(/cleaning up old backups or replacing the storage drive/);
  });

  it('is silent at 20% free and above when the next backup fits', () => {
    expect(spaceWarning({ totalBytes: 100 * GB, freeBytes: 20 * GB, usedBytes: 80 * GB }, 1 * GB)).toBeNull();
    expect(spaceWarning({ totalBytes: 100 * GB, freeBytes: 90 * GB, usedBytes: 10 * GB }, null)).toBeNull();
  });

  it('warns when the next backup does not fit, whatever the percentage', () => {
    const w = spaceWarning({ totalBytes: 10_000 * GB, freeBytes: 5000 * GB, usedBytes: 5000 * GB }, 6000 * GB);
    expect(w).toMatch(/Only 5\.0 TB is free, less than the next backup needs \(about 6\.0 TB\)/);
  });

  it('formats GB and TB with one decimal, MB below a gigabyte', () => {
    expect(formatSize(1.25e12)).toBe('1.3 TB');
    expect(formatSize(999e9)).toBe('999.0 GB');
    expect(formatSize(64e6)).toBe('64.0 MB');
    expect(formatSize(512)).toBe('512 bytes');
  });
});
