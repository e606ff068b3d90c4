'use client';
import { useRouter } from 'next/navigation';
import { useEffect, useRef, useState } from 'react';
import type { BackupStatus } from '@/lib/backup/status';
import { RelativeTime } from '@/app/ui/relative-time';
import { formatBytes } from '@/app/ui/format';

const PHASES: Record<string, string> = {
  preparing: 'Preparing',
  snapshot: 'Copying the internal database',
  hashing: 'Reading the configuration',
  writing: 'Encrypting and writing',
  verifying: 'Verifying the written file',
  publishing: 'Publishing',
  done: 'Done',
};

/**
 * The Backup Status Information table. It refreshes itself: every second
 * while a backup runs, every five seconds otherwise, without a page reload.
 */
export function StatusPanel({ initial }: { initial: BackupStatus }) {
  const router = useRouter();
  const [status, setStatus] = useState(initial);
  const [stale, setStale] = useState(false);
  const running = useRef(Boolean(initial.running));
  // The newest status shown so far, by the server's clock: an answer read earlier never replaces it
  // (a page rendered before the last poll, or a poll overtaken by a render, would show the past).
  const newest = useRef(0);
  // A server render after an action (the DMS just set, a location saved) brings a newer status: it replaces the shown one at once.
  useEffect(() => {
    if (initial.readAt < newest.current) return;
    newest.current = initial.readAt;
    setStatus(initial);
    running.current = Boolean(initial.running);
    // Backup now follows too (it listens to the panel's updates).
    window.dispatchEvent(new CustomEvent<BackupStatus>('webconf:backup-status', { detail: initial }));
  }, [initial]);
  useEffect(() => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Each poll has a number; an answer to an older poll (one overtaken by the
    // "backup started" event) is dropped, so that only one polling loop runs.
    let latest = 0;
    const poll = async () => {
      const mine = ++latest;
      clearTimeout(timer);
      const current = () => !cancelled && mine === latest;
      try {
        const res = await fetch('/api/backup/status', { cache: 'no-store' });
        if (!current()) return;
        if (res.ok) {
          const next = (await res.json()) as BackupStatus;
          if (!current()) return;
          if (next.readAt < newest.current) {
            // Overtaken by a newer server render: keep polling, show nothing older.
            timer = setTimeout(poll, running.current ? 1000 : 5000);
            return;
          }
          newest.current = next.readAt;
          const wasRunning = running.current;
          // The next delay depends on this answer, not on the last render.
          running.current = Boolean(next.running);
          setStatus(next);
          setStale(false);
          window.dispatchEvent(new CustomEvent<BackupStatus>('webconf:backup-status', { detail: next }));
          // A run ended: the server-rendered parts (history, Backup now) catch up.
          if (wasRunning && !next.running) router.refresh();
        } else setStale(true);
      } catch {
        if (!current()) return;
        setStale(true);
      }
      if (current()) timer = setTimeout(poll, running.current ? 1000 : 5000);
    };
    timer = setTimeout(poll, 1000);
    const onStarted = () => {
      // A backup was just started: poll now and every second, and refresh the page when it ends, however short it is.
      running.current = true;
      void poll();
    };
    window.addEventListener('webconf:backup-started', onStarted);
    return () => {
      cancelled = true;
      clearTimeout(timer);
      window.removeEventListener('webconf:backup-started', onStarted);
    };
  }, [router]);

  const r = status.running;
  const pct = r && r.bytesExpected ? Math.min(100, Math.floor((r.bytesDone / r.bytesExpected) * 100)) : null;
  return (
    <div data-running={r ? 'true' : 'false'}>
      {stale ? <p className="mb-2 text-xs text-amber-800" role="status">The status could not be refreshed; retrying.</p> : null}
      {status.storage?.warning ? (
        <p role="status" className="mb-3 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="status-space-warning">
          {status.storage.warning}
        </p>
      ) : null}
      {/* Fixed columns: the progress bar appearing and going does not move the other two. */}
      <table className="w-full text-left text-sm max-sm:block sm:table-fixed" aria-label="Backup Status Information">
        <thead className="max-sm:hidden">
          <tr className="border-b border-slate-200 text-slate-600">
            <th scope="col" className="py-2 pr-4">Current Backup Status</th>
            <th scope="col" className="py-2 pr-4">Last Successful Backup</th>
            <th scope="col" className="py-2">Next Scheduled Backup Execution</th>
          </tr>
        </thead>
        <tbody className="max-sm:block">
          <tr className="align-top max-sm:block">
            <td className="py-2 pr-4 max-sm:block">
              <span className="block text-xs font-medium text-slate-600 sm:hidden">Current Backup Status</span>
              <span className={`font-semibold ${r ? 'text-sky-800' : ''}`} data-testid="current-status">{status.current}</span>
              {r ? (
                <div className="mt-2 w-full max-w-64">
                  <div className="mb-1 text-xs text-slate-600" data-testid="progress-phase">{PHASES[r.phase] ?? r.phase}</div>
                  <div
                    role="progressbar"
                    aria-label="Backup progress"
                    aria-valuemin={0}
                    aria-valuemax={100}
                    aria-valuenow={pct ?? undefined}
                    aria-valuetext={pct === null ? PHASES[r.phase] ?? r.phase : undefined}
                    className="h-2 w-full overflow-hidden rounded bg-slate-200"
                  >
                    {/* Until the archive's size is known (reading the configuration) the bar is indeterminate. */}
                    <div className={`h-2 bg-sky-600 ${pct === null ? 'w-full animate-pulse opacity-40' : 'transition-all'}`} style={pct === null ? undefined : { width: `${pct}%` }} />
                  </div>
                  {r.bytesExpected ? (
                    <div className="mt-1 text-xs text-slate-600" data-testid="progress-bytes">
                      {formatBytes(r.bytesDone)} of {formatBytes(r.bytesExpected)} ({pct}%)
                    </div>
                  ) : null}
                </div>
              ) : null}
            </td>
            <td className="py-2 pr-4 max-sm:block max-sm:border-t max-sm:border-slate-100">
              <span className="block text-xs font-medium text-slate-600 sm:hidden">Last Successful Backup</span>
              <div data-testid="last-success">
              {status.lastSuccessfulAt ? <RelativeTime iso={status.lastSuccessfulAt} /> : 'No successful backup yet'}
              {status.lastSuccessfulFile ? <span className="block break-all text-xs text-slate-500">{status.lastSuccessfulFile}</span> : null}
              </div>
            </td>
            <td className="py-2 max-sm:block max-sm:border-t max-sm:border-slate-100">
              <span className="block text-xs font-medium text-slate-600 sm:hidden">Next Scheduled Backup Execution</span>
              <div data-testid="next-run">
              {status.nextScheduledAt ? (
                <RelativeTime iso={status.nextScheduledAt} />
              ) : (
                <>
                  <span className="font-semibold">Schedule Disabled</span>
                  {status.scheduleDisabledReason ? <span className="block text-xs text-slate-600" data-testid="schedule-disabled-reason">{status.scheduleDisabledReason}</span> : null}
                </>
              )}
              </div>
            </td>
          </tr>
        </tbody>
      </table>
    </div>
  );
}
