import type { RunView } from '@/lib/backup/run-view';
import { RelativeTime } from '@/app/ui/relative-time';
import { formatBytes } from '@/app/ui/format';

const STATUS_STYLE: Record<string, string> = {
  succeeded: 'bg-green-100 text-green-900',
  running: 'bg-sky-100 text-sky-900',
  failed: 'bg-red-100 text-red-900',
  interrupted: 'bg-amber-100 text-amber-900',
  aborted: 'bg-amber-100 text-amber-900',
};

/** Every run with its outcome; failures say why in words. */
export function HistoryTable({ runs, canBackup }: { runs: RunView[]; canBackup: boolean }) {
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
    <div className="overflow-x-auto">
      <table className="w-full text-left text-sm" data-testid="history">
        <thead>
          <tr className="border-b border-slate-200 text-slate-600">
            <th scope="col" className="py-2 pr-3">#</th>
            <th scope="col" className="py-2 pr-3">Started</th>
            <th scope="col" className="py-2 pr-3">Trigger</th>
            <th scope="col" className="py-2 pr-3">Status</th>
            <th scope="col" className="py-2 pr-3">File</th>
            <th scope="col" className="py-2 pr-3">Size</th>
            <th scope="col" className="py-2">Details</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} className="border-b border-slate-100 align-top" data-testid={`run-${r.id}`}>
              <td className="py-2 pr-3">{r.id}</td>
              <td className="py-2 pr-3"><RelativeTime iso={r.startedAt} /></td>
              <td className="py-2 pr-3">{r.trigger === 'manual' ? `Manual, by ${r.requestedBy}` : 'Scheduled'}</td>
              <td className="py-2 pr-3">
                <span className={`rounded px-2 py-0.5 text-xs font-semibold ${STATUS_STYLE[r.status] ?? ''}`}>{r.status}</span>
              </td>
              <td className="break-all py-2 pr-3">{r.fileName ?? '—'}{r.prunedAt ? <span className="block text-xs text-slate-500">removed by retention</span> : null}</td>
              <td className="py-2 pr-3">{formatBytes(r.sizeBytes)}</td>
              <td className="py-2 text-xs text-slate-700">
                {r.error ? <span className="text-red-800">{r.error}</span> : null}
                {r.checksum ? <span className="block break-all font-mono" title="SHA-256 of the file">sha256 {r.checksum.slice(0, 16)}…</span> : null}
                {r.manifest?.signatureVerified ? <span className="block text-green-800">Verified after writing: every chunk and the signed manifest</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
