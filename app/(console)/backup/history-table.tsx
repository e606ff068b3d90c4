'use client';
import { useEffect, useRef, useState } from 'react';
import type { BackupDetailsView } from '@/lib/backup/backup-details-view';
import type { RunView } from '@/lib/backup/run-view';
import type { FileVerifications } from '@/lib/verify/verification-view';
import { Banner } from '@/app/ui/banner';
import { BackupDetailsTable } from './backup-details';
import { VerifyControl } from './verify-control';
import { RelativeTime } from '@/app/ui/relative-time';
import { formatBytes } from '@/app/ui/format';

const STATUS_STYLE: Record<string, string> = {
  succeeded: 'bg-green-100 text-green-900',
  running: 'bg-sky-100 text-sky-900',
  failed: 'bg-red-100 text-red-900',
  interrupted: 'bg-amber-100 text-amber-900',
  aborted: 'bg-amber-100 text-amber-900',
};

/** The Backup Details of one run, read from its file on the configured storage (header and manifest only). */
function DetailsDialog({ run, onClose, canVerify, verifications }: { run: RunView; onClose: () => void; canVerify: boolean; verifications?: FileVerifications }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [details, setDetails] = useState<BackupDetailsView | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    ref.current?.showModal();
    let live = true;
    (async () => {
      try {
        const res = await fetch(`/api/backups/${run.id}/details`, { cache: 'no-store' });
        const body = await res.json().catch(() => null);
        if (!live) return;
        if (res.ok) setDetails(body.details as BackupDetailsView);
        else setProblem(body?.error?.message ?? `The console answered ${res.status}.`);
      } catch {
        if (live) setProblem('The console could not be reached.');
      }
    })();
    return () => {
      live = false;
    };
  }, [run.id]);
  return (
    <dialog ref={ref} onClose={onClose} aria-labelledby="run-details-title" data-testid="run-details"
      className="m-auto w-full max-w-xl rounded-lg p-0 shadow-xl backdrop:bg-slate-900/40">
      <div className="flex items-center gap-3 border-b border-slate-200 px-4 py-3">
        <h2 id="run-details-title" className="text-lg font-semibold">Backup Details: backup #{run.id}</h2>
        {/* Closed through the dialog, so focus returns to the row's button; its close event unmounts it. */}
        <button type="button" onClick={() => ref.current?.close()} className="ml-auto rounded-md border border-slate-300 px-3 py-1 text-sm hover:bg-slate-100">Close</button>
      </div>
      <div className="max-h-[75vh] overflow-y-auto p-4">
        {details ? (
          <BackupDetailsTable details={details} />
        ) : problem ? (
          <p role="alert" className="text-sm text-red-800" data-testid="details-error">{problem}</p>
        ) : (
          <div role="progressbar" aria-label="Reading the backup's header and manifest" className="h-2 w-full animate-pulse rounded bg-sky-200" />
        )}
        <div className="mt-4 border-t border-slate-200 pt-3">
          <VerifyControl subject={{ runId: run.id }} fileName={run.fileName ?? `backup #${run.id}`} initial={verifications} canVerify={canVerify} panel />
        </div>
      </div>
    </dialog>
  );
}

/** Verifications whose verdict is a failure, for the banner above the history: as visible as a failed backup. */
function FailedVerifications({ runs, verifications }: { runs: RunView[]; verifications: Record<number, FileVerifications> }) {
  const failed = runs.filter((r) => r.status === 'succeeded' && r.fileName && !r.prunedAt && verifications[r.id]?.verdict?.status === 'failed');
  if (!failed.length) return null;
  return (
    <Banner kind="error" testId="verify-failures">
      <p className="font-semibold">{failed.length === 1 ? 'A backup failed verification.' : `${failed.length} backups failed verification.`} It cannot be restored as it is: use another backup, and make a new one.</p>
      <ul className="mt-1 list-disc pl-5">
        {failed.slice(0, 3).map((r) => {
          const v = verifications[r.id]!.verdict!;
          return (
            <li key={r.id} className="[overflow-wrap:anywhere]">
              Backup #{r.id} ({r.fileName}), {v.level} verification <RelativeTime iso={v.finishedAt ?? v.startedAt} />: {v.error}
            </li>
          );
        })}
        {failed.length > 3 ? <li>and {failed.length - 3} more (see the history below).</li> : null}
      </ul>
    </Banner>
  );
}

/** Every run with its outcome; failures say why in words. A successful run's row opens its Backup Details, and can be verified. */
export function HistoryTable({
  runs,
  canBackup,
  canVerify = false,
  canRestore = false,
  verifications = {},
}: {
  runs: RunView[];
  canBackup: boolean;
  canVerify?: boolean;
  canRestore?: boolean;
  /** Each run's latest verification and verdict, by run id. */
  verifications?: Record<number, FileVerifications>;
}) {
  const [open, setOpen] = useState<RunView | null>(null);
  if (runs.length === 0) {
    return (
      <p className="text-sm text-slate-600" data-testid="history-empty">
        {canBackup
          ? 'No backup has run yet. Click Backup now, or turn on the automated schedule.'
          : 'No backup has run yet. Set the Domain Master Secret and a storage location, then click Backup now or turn on the automated schedule.'}
      </p>
    );
  }
  return (
    <div className="sm:overflow-x-auto">
      <FailedVerifications runs={runs} verifications={verifications} />
      <table className="w-full text-left text-sm max-sm:block" data-testid="history">
        <thead className="max-sm:hidden">
          <tr className="border-b border-slate-200 text-slate-600">
            <th scope="col" className="py-2 pr-3">#</th>
            <th scope="col" className="py-2 pr-3">Started</th>
            <th scope="col" className="py-2 pr-3">Trigger</th>
            <th scope="col" className="py-2 pr-3">Status</th>
            <th scope="col" className="py-2 pr-3">File</th>
            <th scope="col" className="py-2 pr-3">Size</th>
            <th scope="col" className="py-2 pr-3">Details</th>
            <th scope="col" className="py-2">Verification</th>
          </tr>
        </thead>
        <tbody className="max-sm:block">
          {runs.map((r) => {
            const hasFile = r.status === 'succeeded' && Boolean(r.fileName) && !r.prunedAt;
            return (
            <tr key={r.id} className={`border-b border-slate-100 align-top max-sm:grid max-sm:grid-cols-[auto_1fr] max-sm:gap-x-3 max-sm:py-2 [&>td]:max-sm:py-0.5 ${hasFile ? 'cursor-pointer hover:bg-slate-50' : ''}`} data-testid={`run-${r.id}`}
              onClick={hasFile ? (e) => {
                // Buttons and selections in the row do their own thing.
                if ((e.target as HTMLElement).closest('button') || window.getSelection()?.toString()) return;
                setOpen(r);
              } : undefined}>
              <td className="py-2 pr-3"><span className="sm:hidden">Backup #</span>{r.id}</td>
              <td className="py-2 pr-3"><RelativeTime iso={r.startedAt} /></td>
              <td className="py-2 pr-3">{r.trigger === 'manual' ? `Manual, by ${r.requestedBy}` : 'Scheduled'}</td>
              <td className="py-2 pr-3">
                <span className={`rounded px-2 py-0.5 text-xs font-semibold ${STATUS_STYLE[r.status] ?? ''}`}>{r.status}</span>
              </td>
              <td className="break-all py-2 pr-3 max-sm:col-span-2 sm:min-w-48">
                {hasFile ? (
                  <button type="button" onClick={() => setOpen(r)} className="text-left text-sky-800 underline" aria-label={`Backup Details of ${r.fileName}`}>{r.fileName}</button>
                ) : (r.fileName ?? '—')}
                {r.prunedAt ? <span className="block text-xs text-slate-500">removed by retention</span> : null}
                {hasFile && canRestore && r.status === 'succeeded' ? (
                  <a href={`/backup?restore=${encodeURIComponent(r.fileName!)}#restore`} className="mt-1 block text-xs font-medium text-sky-800 underline" data-testid={`run-${r.id}-restore`}>Restore…</a>
                ) : null}
              </td>
              <td className="py-2 pr-3">{formatBytes(r.sizeBytes)}</td>
              <td className="py-2 pr-3 text-xs text-slate-700 max-sm:col-span-2">
                {r.error ? <span className="text-red-800">{r.error}</span> : null}
                {r.checksum ? <span className="block break-all font-mono" title="SHA-256 of the file">sha256 {r.checksum.slice(0, 16)}…</span> : null}
                {r.manifest?.signatureVerified ? <span className="block text-green-800">Verified after writing: every chunk and the signed manifest</span> : null}
              </td>
              <td className="py-2 max-sm:col-span-2 sm:min-w-52" data-testid={`run-${r.id}-verification`}>
                {hasFile ? (
                  <VerifyControl subject={{ runId: r.id }} fileName={r.fileName!} initial={verifications[r.id] ?? { latest: null, verdict: null }} canVerify={canVerify} />
                ) : (
                  <span className="text-xs text-slate-500">{r.status === 'succeeded' ? 'No file to verify' : '—'}</span>
                )}
              </td>
            </tr>
            );
          })}
        </tbody>
      </table>
      {open ? <DetailsDialog run={open} onClose={() => setOpen(null)} canVerify={canVerify} verifications={verifications[open.id]} /> : null}
    </div>
  );
}
