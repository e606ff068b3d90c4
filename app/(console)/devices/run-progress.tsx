'use client';
import type { RunView } from './api';

const WORDS: Record<RunView['status'], string> = {
  running: 'Backing up',
  succeeded: 'Every device was backed up',
  failed: 'The run failed',
  partial: 'Some devices failed',
  cancelled: 'The run was cancelled',
};

/** A device backup run: a progress bar over its tasks, each task's state and reason. */
export function RunProgress({ run, canCancel, onCancel }: { run: RunView; canCancel: boolean; onCancel: () => void }) {
  const done = run.tasks.filter((t) => t.status !== 'PENDING' && t.status !== 'IN PROGRESS').length;
  const failed = run.tasks.filter((t) => t.status === 'FAILED');
  return (
    <section aria-labelledby="run-title" className="rounded-lg border border-sky-200 bg-sky-50 p-4" data-testid="fleet-run">
      <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
        <h2 id="run-title" className="font-semibold">
          {WORDS[run.status]} ({done} of {run.tasks.length} devices done)
        </h2>
        {run.status === 'running' && canCancel ? (
          <button type="button" onClick={onCancel} className="rounded-md border border-slate-300 bg-white px-3 py-1 text-sm hover:bg-slate-50">
            Cancel the run
          </button>
        ) : null}
      </div>
      <progress className="h-2 w-full" max={Math.max(1, run.tasks.length)} value={done} aria-label="Devices done" />
      <ul className="mt-2 space-y-0.5 text-sm">
        {run.tasks.map((t) => (
          <li key={t.device} data-testid={`task-${t.device}`}>
            <span className="font-medium">{t.device}</span>: {t.status}
            {t.unchanged ? ' (unchanged since the last backup: no new copy)' : ''}
            {t.error ? <span className="text-red-800"> — {t.error}</span> : null}
          </li>
        ))}
      </ul>
      {failed.length && run.status !== 'running' ? <p className="mt-2 text-sm text-red-800">{failed.length} failed: their reasons are above and in the status table.</p> : null}
    </section>
  );
}
