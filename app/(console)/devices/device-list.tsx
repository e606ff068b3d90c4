'use client';
import { useEffect, useState } from 'react';
import { Banner } from '@/app/ui/banner';
import { formatBytes } from '@/app/ui/format';
import { RelativeTime } from '@/app/ui/relative-time';
import { api, type DeviceView } from './api';
import { ConfirmDialog } from '@/app/ui/confirm-dialog';
import { EncryptionKeyForm } from './fleet-config';

type Backup = { id: number; createdAt: string; sizeBytes: number; keyKind: 'org' | 'device'; firmwareVersion: string | null; sha256: string };

const STATE_STYLE: Record<DeviceView['state'], string> = {
  PENDING: 'bg-amber-100 text-amber-900',
  SYNCED: 'bg-green-100 text-green-900',
  'NOT SYNCED': 'bg-red-100 text-red-900',
};

/** Every device with what can be done to it: confirm its host key, approve, enable or disable its backups, its key, its backups and downloads, remove. */
export function DeviceList({
  devices,
  canConfigure,
  canDownload,
  canRun,
  running,
  onChanged,
  onRun,
}: {
  devices: DeviceView[];
  canConfigure: boolean;
  canDownload: boolean;
  canRun: boolean;
  running: boolean;
  onChanged: () => void;
  onRun: (devices: string[]) => void;
}) {
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);
  const [removing, setRemoving] = useState<string | null>(null);
  const [withBackups, setWithBackups] = useState(false);
  const [busy, setBusy] = useState(false);

  async function act(label: string, method: string, url: string, body?: unknown) {
    setBusy(true);
    const r = await api<unknown>(method, url, body);
    setBusy(false);
    setMessage(r.ok ? { kind: 'success', text: label } : { kind: 'error', text: r.message });
    if (r.ok) onChanged();
    return r.ok;
  }
  const path = (d: string, rest = '') => `/api/devices/${encodeURIComponent(d)}${rest}`;

  return (
    <section aria-labelledby="devices-title" className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6" data-testid="device-list">
      <h2 id="devices-title" className="mb-3 text-lg font-semibold">
        Devices
      </h2>
      {message ? (
        <Banner kind={message.kind} onDismiss={() => setMessage(null)}>
          {message.text}
        </Banner>
      ) : null}
      {devices.length === 0 ? <p className="text-sm text-slate-600">No devices yet.{canConfigure ? ' Add the first one below.' : ' An admin adds them.'}</p> : null}
      <ul className="divide-y divide-slate-100">
        {devices.map((d) => (
          <li key={d.name} className="py-3" data-testid={`device-${d.name}`}>
            <div className="flex flex-wrap items-center gap-2">
              <span className="font-medium">{d.name}</span>
              <span className={`rounded px-2 py-0.5 text-xs font-medium ${STATE_STYLE[d.state]}`}>{d.state}</span>
              <span className="text-xs text-slate-600">
                {d.username}@{d.host}:{d.port} · {d.modelName}
                {d.firmwareVersion ? ` · firmware ${d.firmwareVersion}` : ''}
                {d.lastContactAt ? (
                  <>
                    {' '}· last contact <RelativeTime iso={d.lastContactAt} />
                  </>
                ) : null}
              </span>
            </div>
            {d.lastError ? <p className="mt-1 text-sm text-red-800">{d.lastError}</p> : null}
            <HostKey device={d} canConfigure={canConfigure} busy={busy} onPin={(fp) => act(`Pinned the host key of ${d.name}.`, 'POST', path(d.name, '/host-key'), { fingerprint: fp })} />
            <div className="mt-2 flex flex-wrap gap-2 text-sm">
              {canConfigure && d.state === 'PENDING' && d.hostKey.pinned ? (
                <button type="button" disabled={busy} onClick={() => void act(`Approved ${d.name}: its backups now apply.`, 'POST', path(d.name, '/approve'))} className="rounded-md bg-sky-700 px-3 py-1 text-white hover:bg-sky-800 disabled:opacity-60">
                  Approve
                </button>
              ) : null}
              {canConfigure ? (
                <button
                  type="button"
                  role="switch"
                  aria-checked={d.backup === 'enabled'}
                  disabled={busy}
                  onClick={() => void act(`Backups of ${d.name} ${d.backup === 'enabled' ? 'disabled' : 'enabled'}.`, 'PUT', path(d.name, '/backup'), { enabled: d.backup !== 'enabled' })}
                  className="flex items-center gap-2 rounded-md border border-slate-300 px-3 py-1 hover:bg-slate-50 disabled:opacity-60"
                >
                  <span aria-hidden="true" className={`inline-block h-3 w-6 rounded-full ${d.backup === 'enabled' ? 'bg-green-600' : 'bg-slate-300'}`} />
                  Backup {d.backup === 'enabled' ? 'Enabled' : 'Disabled'}
                </button>
              ) : (
                <span className="rounded-md border border-slate-200 px-3 py-1 text-slate-600">Backup {d.backup === 'enabled' ? 'Enabled' : 'Disabled'}</span>
              )}
              {canRun && d.backup === 'enabled' && d.state !== 'PENDING' ? (
                <button type="button" disabled={running} onClick={() => onRun([d.name])} className="rounded-md border border-slate-300 px-3 py-1 hover:bg-slate-50 disabled:opacity-50">
                  Back up now
                </button>
              ) : null}
              {canConfigure ? (
                <button type="button" onClick={() => setRemoving(d.name)} className="rounded-md border border-red-300 px-3 py-1 text-red-800 hover:bg-red-50">
                  Remove…
                </button>
              ) : null}
            </div>
            <details className="mt-2 text-sm">
              <summary className="cursor-pointer text-sky-800">Backups and key ({d.key === 'device' ? 'own key' : d.key === 'org' ? 'organisation key' : 'no key'})</summary>
              <DeviceBackups name={d.name} canDownload={canDownload} version={d.lastBackup?.at ?? null} />
              {canConfigure ? <EncryptionKeyForm configured={d.key === 'device'} device={d.name} onSaved={onChanged} /> : null}
            </details>
          </li>
        ))}
      </ul>
      <ConfirmDialog
        open={removing !== null}
        title={`Remove ${removing ?? ''}?`}
        confirmLabel="Remove the device"
        danger
        busy={busy}
        onCancel={() => {
          setRemoving(null);
          setWithBackups(false);
        }}
        onConfirm={() => {
          const name = removing!;
          void act(`Removed ${name}.`, 'DELETE', path(name, withBackups ? '?deleteBackups=true' : '')).then(() => {
            setRemoving(null);
            setWithBackups(false);
          });
        }}
      >
        <p>The device leaves the inventory and its sealed credentials are erased.</p>
        <label className="mt-3 flex items-start gap-2">
          <input type="checkbox" className="mt-0.5" checked={withBackups} onChange={(e) => setWithBackups(e.target.checked)} />
          <span>Also delete its stored backups. Without this, a device that has backups is not removed: disable its backups instead to keep its history.</span>
        </label>
      </ConfirmDialog>
    </section>
  );
}

/** The host key: pinned, or presented and waiting for an admin to compare it with the device's own `ssh-keygen -lf` and confirm it. */
function HostKey({ device, canConfigure, busy, onPin }: { device: DeviceView; canConfigure: boolean; busy: boolean; onPin: (fingerprint: string) => void }) {
  const { pinned, presented, changed } = device.hostKey;
  if (pinned && !changed) return <p className="mt-1 text-xs text-slate-600">Host key <code className="break-all">{pinned}</code></p>;
  if (!presented) return <p className="mt-1 text-xs text-amber-800">The device has not shown its host key yet: the console reads it at the next contact.</p>;
  return (
    <div className={`mt-2 rounded-md border p-3 text-sm ${changed ? 'border-red-300 bg-red-50' : 'border-amber-300 bg-amber-50'}`} data-testid={`host-key-${device.name}`}>
      {changed ? (
        <p className="mb-1 font-medium text-red-900">
          The host key changed: backups of this device stop until an admin accepts the new one. Pinned <code className="break-all">{pinned}</code>; presented now:
        </p>
      ) : (
        <p className="mb-1 font-medium">Compare this fingerprint with the one the device shows (ssh-keygen -lf on its host key):</p>
      )}
      <code className="block break-all text-xs">{presented}</code>
      {canConfigure ? (
        <button type="button" disabled={busy} onClick={() => onPin(presented)} className="mt-2 rounded-md border border-slate-300 bg-white px-3 py-1 text-sm hover:bg-slate-50 disabled:opacity-60">
          {changed ? 'Accept the new host key' : 'Confirm this fingerprint'}
        </button>
      ) : null}
    </div>
  );
}

/** The device's stored backups, newest first, with downloads of the encrypted files; read again after each backup of it (`version`). */
function DeviceBackups({ name, canDownload, version }: { name: string; canDownload: boolean; version: string | null }) {
  const [backups, setBackups] = useState<Backup[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void api<{ backups: Backup[] }>('GET', `/api/devices/${encodeURIComponent(name)}/backups`).then((r) => {
      if (!live) return;
      if (r.ok) setBackups(r.data.backups);
      else setError(r.message);
    });
    return () => {
      live = false;
    };
  }, [name, version]);
  if (error) return <p className="mt-2 text-red-800">{error}</p>;
  if (!backups) return <p className="mt-2 text-slate-600">Loading…</p>;
  if (!backups.length) return <p className="mt-2 text-slate-600">No backups of this device yet. They appear here after its first successful run.</p>;
  return (
    <ul className="mt-2 space-y-1">
      {backups.map((b) => (
        <li key={b.id} className="flex flex-wrap items-center gap-2">
          <RelativeTime iso={b.createdAt} />
          <span className="text-slate-600">
            {formatBytes(b.sizeBytes)} · {b.keyKind === 'device' ? 'device key' : 'organisation key'}
            {b.firmwareVersion ? ` · firmware ${b.firmwareVersion}` : ''}
          </span>
          {canDownload ? (
            <a href={`/api/devices/${encodeURIComponent(name)}/backups/${b.id}/download`} className="text-sky-800 underline">
              Download
            </a>
          ) : null}
        </li>
      ))}
    </ul>
  );
}
