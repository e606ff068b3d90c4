import type { ReadRange } from './types';

/**
 * A read range checked and with its start filled in: whole, non-negative
 * byte offsets; `end` (exclusive) stays undefined for "to the end of the
 * file". An end before the start is an empty range, not an error.
 */
export function checkRange(range: ReadRange = {}): { start: number; end: number | undefined } {
  const start = range.start ?? 0;
  const end = range.end;
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`a read range starts at a whole number of bytes >= 0, not ${start}`);
  if (end !== undefined && (!Number.isSafeInteger(end) || end < 0)) throw new RangeError(`a read range ends at a whole number of bytes >= 0, not ${end}`);
  return { start, end };
}
