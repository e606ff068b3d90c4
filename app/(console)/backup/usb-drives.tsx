'use client';
import { useCallback, useEffect, useState } from 'react';
import type { UsbDriveView } from '@/lib/storage/usb-view';
import { formatSize } from '@/lib/storage/format-size';
import { RelativeTime } from '@/app/ui/relative-time';

/** The seed: "Webconf will fetch the USB drive every 3 minutes." */
const RECHECK_MS = 3 * 60_000;

/**
 * The attached USB drives, by label, size and free space, with Refresh,
 * Browse and (admins) Eject; and the known drives that are not offered,
 * each with the reason (a full drive is not listed: seed).
 */
export function UsbDrives({ canEject, onBrowse }: { canEject: boolean; onBrowse: (url: string) => void }) {
  const [view, setView] = useState<UsbDriveView | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async (refresh: boolean) => {
    setBusy(true);
    try {
      const res = await fetch(`/api/storage/usb${refresh ? '?refresh=1' : ''}`, { cache: 'no-store' });
      const body = await res.json().catch(() => null);
      if (!res.ok) throw new Error(body?.error?.message ?? `The console answered ${res.status}.`);
      setView(body as UsbDriveView);
      setProblem(null);
    } catch (err) {
      setProblem((err as Error).message);
    } finally {
      setBusy(false);
    }
  }, []);

  useEffect(() => {
    void load(false);
    const t = setInterval(() => void load(false), RECHECK_MS);
    return () => clearInterval(t);
  }, [load]);

  const eject = async (uuid: string) => {
    setBusy(true);
    setNotice(null);
    try {
      const res = await fetch(`/api/storage/usb/${encodeURIComponent(uuid)}/eject`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      const body = await res.json().catch(() => null);
      setNotice(res.ok ? body?.message ?? 'Ejected.' : body?.error?.message ?? `The console answered ${res.status}.`);
    } finally {
      setBusy(false);
      void load(true);
    }
  };

  return (
    <section aria-labelledby="usb-title" className="mb-4 rounded-md border border-slate-200 p-3" data-testid="usb-drives">
      <div className="mb-2 flex flex-wrap items-center gap-2">
        <h4 id="usb-title" className="text-sm font-semibold">Attached USB drives</h4>
        <button type="button" onClick={() => void load(true)} disabled={busy} className="ml-auto rounded-md border border-slate-300 px-3 py-1 text-sm hover:bg-slate-100 disabled:opacity-60">
          {busy ? 'Checking…' : 'Refresh'}
        </button>
      </div>
      {problem ? <p role="alert" className="text-sm text-red-800">{problem}</p> : null}
      {notice ? <p role="status" className="mb-2 text-sm text-slate-800" data-testid="usb-notice">{notice}</p> : null}
      {view ? (
        <>
          {view.drives.length ? (
            <ul className="divide-y divide-slate-100 text-sm">
              {view.drives.map((d) => (
                <li key={d.uuid} className="flex flex-wrap items-center gap-2 py-2" data-testid="usb-drive">
                  <span className="min-w-0 flex-1">
                    <span className="font-semibold">{d.label ?? 'No label'}</span>{' '}
                    <span className="text-xs text-slate-600">
                      {d.fsType} · {formatSize(d.totalBytes ?? d.sizeBytes)}
                      {d.freeBytes !== null ? ` · ${formatSize(d.freeBytes)} free` : ''} · UUID {d.uuid}
                    </span>
                  </span>
                  <button type="button" onClick={() => onBrowse(d.url)} className="rounded-md border border-slate-300 px-2 py-1 text-xs hover:bg-slate-100">Browse</button>
                  {canEject && d.mounted ? (
                    <button type="button" onClick={() => void eject(d.uuid)} disabled={busy} className="rounded-md border border-slate-300 px-2 py-1 text-xs hover:bg-slate-100">Eject</button>
                  ) : null}
                </li>
              ))}
            </ul>
          ) : (
            <p className="text-sm text-slate-600" data-testid="usb-empty">
              No USB drive is attached. Attach a GPT partitioned drive with an ext4 or exFAT partition to the VM (in the hypervisor: add a USB device), then click Refresh.
            </p>
          )}
          {view.hidden.length ? (
            <div className="mt-2 text-xs text-slate-700" data-testid="usb-hidden">
              <p className="font-medium">Not offered:</p>
              <ul className="list-disc pl-5">
                {view.hidden.map((h) => (
                  <li key={`${h.name}:${h.reason}`}>
                    {h.name}: {h.reason}
                  </li>
                ))}
              </ul>
            </div>
          ) : null}
          <p className="mt-2 text-xs text-slate-500">
            Checked <RelativeTime iso={view.checkedAt} />; checked again every 3 minutes.
          </p>
        </>
      ) : !problem ? (
        <p className="text-sm text-slate-600">Looking for USB drives…</p>
      ) : null}
    </section>
  );
}
