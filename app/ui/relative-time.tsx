'use client';
import { useEffect, useState } from 'react';

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];

export function formatRelative(date: Date, now: Date): string {
  const diff = (date.getTime() - now.getTime()) / 1000;
  // Within a few seconds either way (the clock read at the last refresh, or the server's a little ahead): "now", never "in 2 seconds".
  if (Math.abs(diff) < 10) return 'just now';
  const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
  for (const [unit, secs] of UNITS) {
    if (Math.abs(diff) >= secs || unit === 'second') return rtf.format(Math.round(diff / secs), unit);
  }
  return '';
}

/** "3 hours ago", with the exact time (UTC) on hover; refreshes itself every 15 s. */
export function RelativeTime({ iso }: { iso: string }) {
  const date = new Date(iso);
  const [now, setNow] = useState<Date | null>(null);
  useEffect(() => {
    setNow(new Date());
    const t = setInterval(() => setNow(new Date()), 15_000);
    return () => clearInterval(t);
    // A new time to show is measured against the clock now, not at the last refresh.
  }, [iso]);
  const exact = `${date.toISOString().replace('T', ' ').slice(0, 19)} UTC`;
  return (
    <time dateTime={iso} title={exact} className="underline decoration-dotted underline-offset-2">
      {now ? formatRelative(date, now) : exact}
    </time>
  );
}
