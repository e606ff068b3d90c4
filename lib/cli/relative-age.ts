/**
 * How long ago, in the seed's short form: "45s", "12m", "6h", "2d"; days
 * run on to "364d", then years ("1y"). Whole units,
 * rounded down (a backup 47 hours old is "1d": at least a day, not yet two).
 * Never → "Never"; a time a little in the future (clocks apart) → "0s".
 */
export function relativeAge(iso: string | null, now: Date): string {
  if (!iso) return 'Never';
  const seconds = Math.max(0, Math.floor((now.getTime() - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  if (seconds < 365 * 86_400) return `${Math.floor(seconds / 86_400)}d`;
  return `${Math.floor(seconds / (365 * 86_400))}y`;
}

/** "2026-02-20 19:19:51" (UTC), as the seed prints Created and Updated; "-" for none. */
export function exactTime(iso: string | null | undefined): string {
  return iso ? `${new Date(iso).toISOString().replace('T', ' ').slice(0, 19)} UTC` : '-';
}
