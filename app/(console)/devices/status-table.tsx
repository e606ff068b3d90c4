'use client';
import { useState } from 'react';
import { RelativeTime } from '@/app/ui/relative-time';
import type { FleetStatus } from './api';

/**
 * The backup status of every device, as `webconf backup status` prints it (the
 * NetDefense seed): Device | Backup | Key | Last Backup | Status, a failure with
 * its message, and the totals. Operators pick devices to back up now.
 */
export function StatusTable({ status, canRun, running, onRun }: { status: FleetStatus; canRun: boolean; running: boolean; onRun: (devices?: string[]) => void }) {
  const [picked, setPicked] = useState<string[]>([]);
  const toggle = (name: string) => setPicked((p) => (p.includes(name) ? p.filter((n) => n !== name) : [...p, name]));
  return (
    <section aria-labelledby="status-title" className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6" data-testid="fleet-status">
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
        <h2 id="status-title" className="text-lg font-semibold">
          Backup status
        </h2>
        {canRun && status.total ? (
          <div className="flex flex-wrap gap-2">
            <button
              type="button"
              disabled={running || picked.length === 0}
              onClick={() => onRun(picked)}
              className="rounded-md border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-50 disabled:opacity-50"
            >
              Back up selected ({picked.length})
            </button>
            <button type="button" disabled={running || status.enabled === 0} onClick={() => onRun()} className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800 disabled:opacity-50">
              Back up all enabled
            </button>
          </div>
        ) : null}
      </div>
      {status.total === 0 ? (
        <p className="text-sm text-slate-600">No managed devices yet. An admin adds them below with their address and SSH login; they can be backed up once their host key is confirmed and they are approved.</p>
      ) : (
        // On a narrow screen each device is a card with its labels (no sideways scrolling to reach Status).
        <div className="sm:overflow-x-auto">
          <table className="w-full text-left text-sm max-sm:block sm:min-w-[32rem]">
            <thead className="max-sm:hidden">
              <tr className="border-b border-slate-200 text-slate-600">
                {canRun ? (
                  <th scope="col" className="w-8 py-2">
                    <span className="sr-only">Select</span>
                  </th>
                ) : null}
                <th scope="col" className="py-2">Device</th>
                <th scope="col" className="py-2">Backup</th>
                <th scope="col" className="py-2">Key</th>
                <th scope="col" className="py-2">Last Backup</th>
                <th scope="col" className="py-2">Status</th>
              </tr>
            </thead>
            <tbody className="max-sm:block">
              {status.devices.map((d) => (
                <tr
                  key={d.name}
                  className={`border-b border-slate-100 align-top max-sm:grid max-sm:gap-x-3 max-sm:py-2 [&>td]:max-sm:py-0.5 ${canRun ? 'max-sm:grid-cols-[auto_1fr]' : 'max-sm:grid-cols-1'}`}
                  data-testid={`status-${d.name}`}
                >
                  {canRun ? (
                    <td className="py-2 max-sm:row-span-5">
                      <input type="checkbox" aria-label={`Select ${d.name}`} checked={picked.includes(d.name)} onChange={() => toggle(d.name)} disabled={d.backup !== 'Enabled'} />
                    </td>
                  ) : null}
                  <td className="py-2 font-medium">{d.name}</td>
                  <td className="py-2">
                    <span className="text-slate-600 sm:hidden">Backup: </span>
                    {d.backup}
                  </td>
                  <td className="py-2">
                    <span className="text-slate-600 sm:hidden">Key: </span>
                    {d.key}
                  </td>
                  <td className="py-2">
                    <span className="text-slate-600 sm:hidden">Last Backup: </span>
                    {d.lastBackupAt ? <RelativeTime iso={d.lastBackupAt} /> : 'Never'}
                  </td>
                  <td className="py-2">
                    <span className="text-slate-600 sm:hidden">Status: </span>
                    {d.status === 'SUCCESS' ? <span className="text-green-800">● SUCCESS</span> : d.status === 'FAILED' ? <span className="text-red-700">● FAILED</span> : '-'}
                    {d.status === 'FAILED' && d.message ? <p className="mt-0.5 text-xs text-red-800">{d.message}</p> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="mt-3 text-sm text-slate-600" data-testid="fleet-total">
        Total: {status.total} {status.total === 1 ? 'device' : 'devices'} ({status.enabled} with backup enabled)
      </p>
    </section>
  );
}
