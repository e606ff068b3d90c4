'use client';
import { useState } from 'react';
import { Banner } from '@/app/ui/banner';
import { Field } from '@/app/ui/field';
import { RelativeTime } from '@/app/ui/relative-time';
import { api, type FleetConfigView } from './api';
import { currentZoneName, timeZoneNames } from '@/lib/time/zones';
import { TimeZonePicker } from '@/app/ui/time-zone-picker';

const pick = (fields: Record<string, string[]>, ...keys: string[]) => keys.map((k) => fields[k]).find(Boolean);

/**
 * The organisation's backup configuration, shown as `webconf backup config show`
 * prints it (the NetDefense seed), with the form to change it for admins. The S3
 * secret key is never shown again: left empty, the stored one is kept.
 */
export function FleetConfig({ config, canConfigure, onSaved }: { config: FleetConfigView | null; canConfigure: boolean; onSaved: () => void }) {
  const [editing, setEditing] = useState(false);
  const [fields, setFields] = useState<Record<string, string[]>>({});
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  // The form only renders after Edit (never on the server), so the browser's own zone list cannot mismatch the HTML.
  const [zones] = useState(timeZoneNames);
  const [kind, setKind] = useState<'s3' | 'console'>(config?.storage?.kind ?? 's3');
  const s3 = config?.storage?.kind === 's3' ? config.storage : null;

  async function save(form: FormData) {
    setBusy(true);
    setMessage(null);
    const text = (k: string) => String(form.get(k) ?? '').trim();
    const secretKey = String(form.get('secretKey') ?? '');
    const body = {
      enabled: form.get('enabled') === 'on',
      storage:
        kind === 's3'
          ? { kind: 's3', endpoint: text('endpoint'), region: text('region') || undefined, bucket: text('bucket'), folder: text('folder'), accessKeyId: text('accessKeyId'), ...(secretKey ? { secretKey } : {}) }
          : { kind: 'console' },
      schedule: { cron: text('cron'), timezone: text('timezone') || 'UTC' },
      retention: Number(text('retention') || '5'),
    };
    const r = await api<FleetConfigView>('PUT', '/api/fleet/config', body);
    setBusy(false);
    if (!r.ok) {
      setFields(r.fields);
      setMessage({ kind: 'error', text: r.message });
      return;
    }
    setFields({});
    setEditing(false);
    setMessage({ kind: 'success', text: 'Saved the organisation backup configuration.' });
    onSaved();
  }

  const row = (label: string, value: React.ReactNode) => (
    <div className="grid grid-cols-[9rem_1fr] gap-2 py-0.5 sm:grid-cols-[11rem_1fr]">
      <dt className="text-slate-600">{label}</dt>
      <dd className="min-w-0 break-words">{value}</dd>
    </div>
  );

  return (
    <section aria-labelledby="fleet-config-title" className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6" data-testid="fleet-config">
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
        <h2 id="fleet-config-title" className="text-lg font-semibold">
          Organisation backup configuration
        </h2>
        {canConfigure && !editing ? (
          <button type="button" onClick={() => setEditing(true)} className="rounded-md border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-50">
            {config?.storage ? 'Change' : 'Set up'}
          </button>
        ) : null}
      </div>
      {message ? (
        <Banner kind={message.kind} onDismiss={() => setMessage(null)}>
          {message.text}
        </Banner>
      ) : null}
      {!config?.storage && !editing ? (
        <p className="text-sm text-slate-600">
          Not set up yet. {canConfigure ? 'Choose where device backups go (an S3 bucket or this console’s backup storage), a schedule and an encryption key.' : 'An admin sets it up.'}
        </p>
      ) : null}
      {config?.storage && !editing ? (
        <dl className="text-sm">
          {row(
            'Status',
            config.status === 'enabled' ? <span className="text-green-800">● ENABLED</span> : <span className="text-slate-600">○ DISABLED</span>,
          )}
          {s3 ? (
            <>
              {row('S3 Endpoint', s3.endpoint)}
              {row('S3 Bucket', s3.bucket)}
              {row('S3 Folder', s3.folder || '(the bucket’s top)')}
              {row('S3 Key ID', s3.accessKeyId)}
            </>
          ) : (
            row('Storage', 'This console’s backup storage location')
          )}
          {row('Schedule', `${config.schedule.cron} (${config.schedule.timezone})`)}
          {row('Keep per device', `${config.retention} most recent backups`)}
          {row(
            'Encryption Key',
            config.encryptionKey.configured ? (
              <span>
                <span className="text-green-800">● Configured</span> <code className="break-all text-xs text-slate-600">{config.encryptionKey.recipient}</code>
              </span>
            ) : (
              <span className="text-amber-800">○ Not configured: device backups cannot run until a key is set</span>
            ),
          )}
          {row('Created', config.createdAt ? <RelativeTime iso={config.createdAt} /> : '—')}
          {row('Updated', config.updatedAt ? <><RelativeTime iso={config.updatedAt} />{config.updatedBy ? ` by ${config.updatedBy}` : ''}</> : '—')}
        </dl>
      ) : null}
      {editing ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void save(new FormData(e.currentTarget));
          }}
          noValidate
        >
          <div className="mb-4 flex items-center gap-2">
            <input id="enabled" name="enabled" type="checkbox" defaultChecked={config?.status === 'enabled'} className="h-4 w-4" />
            <label htmlFor="enabled" className="text-sm">
              Back up the enabled devices on the schedule
            </label>
          </div>
          <fieldset className="mb-4">
            <legend className="mb-1 text-sm font-medium text-slate-700">Storage</legend>
            <div className="flex flex-wrap gap-4 text-sm">
              <label className="flex items-center gap-2">
                <input type="radio" name="kind" checked={kind === 's3'} onChange={() => setKind('s3')} /> S3-compatible bucket
              </label>
              <label className="flex items-center gap-2">
                <input type="radio" name="kind" checked={kind === 'console'} onChange={() => setKind('console')} /> This console’s backup storage
              </label>
            </div>
          </fieldset>
          {kind === 's3' ? (
            <div className="grid gap-x-4 sm:grid-cols-2">
              <Field name="endpoint" label="S3 Endpoint" defaultValue={s3?.endpoint} hint="For example https://s3.example.com" errors={pick(fields, 'storage.endpoint', 'endpoint')} required />
              <Field name="region" label="Region" defaultValue={s3?.region} hint="Leave empty for us-east-1" errors={pick(fields, 'storage.region', 'region')} />
              <Field name="bucket" label="S3 Bucket" defaultValue={s3?.bucket} errors={pick(fields, 'storage.bucket', 'bucket')} required />
              <Field name="folder" label="S3 Folder" defaultValue={s3?.folder} hint="Objects go to folder/device/time" errors={pick(fields, 'storage.folder', 'folder')} />
              <Field name="accessKeyId" label="S3 Key ID" defaultValue={s3?.accessKeyId} autoComplete="off" errors={pick(fields, 'storage.accessKeyId', 'accessKeyId')} required />
              <Field
                name="secretKey"
                label="S3 Secret Key"
                type="password"
                autoComplete="new-password"
                hint={s3 ? 'Stored and never shown again; leave empty to keep it' : 'Stored sealed, never shown again'}
                errors={pick(fields, 'storage.secretKey', 'secretKey')}
                required={!s3}
              />
            </div>
          ) : null}
          <div className="grid gap-x-4 sm:grid-cols-3">
            <Field name="cron" label="Schedule (cron)" defaultValue={config?.schedule.cron ?? '0 2 * * *'} hint="0 2 * * * is every day at 2:00" errors={pick(fields, 'schedule.cron', 'cron', 'schedule')} required />
            <TimeZonePicker name="timezone" label="Time zone" zones={zones} defaultValue={currentZoneName(config?.schedule.timezone ?? 'UTC')} errors={pick(fields, 'schedule.timezone', 'timezone')} />
            <Field name="retention" label="Backups kept per device" type="number" defaultValue={String(config?.retention ?? 5)} errors={pick(fields, 'retention')} />
          </div>
          {fields._form ? <p className="mb-3 text-sm text-red-700">{fields._form[0]}</p> : null}
          <div className="flex flex-wrap gap-2">
            <button type="submit" disabled={busy} className="rounded-md bg-sky-700 px-4 py-2 text-sm font-medium text-white hover:bg-sky-800 disabled:opacity-60">
              {busy ? 'Checking the storage…' : 'Save'}
            </button>
            <button type="button" onClick={() => { setEditing(false); setFields({}); }} className="rounded-md border border-slate-300 px-4 py-2 text-sm hover:bg-slate-50">
              Cancel
            </button>
          </div>
        </form>
      ) : null}
      {canConfigure && !editing ? <EncryptionKeyForm configured={Boolean(config?.encryptionKey.configured)} onSaved={onSaved} /> : null}
    </section>
  );
}

/** Sets the organisation key: an age recipient pasted, or a key pair made here whose identity is shown once (only the public half is kept). */
export function EncryptionKeyForm({ configured, onSaved, device }: { configured: boolean; onSaved: () => void; device?: string }) {
  const [identity, setIdentity] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = device ? `recipient-${device}` : 'org-recipient';
  const url = device ? `/api/devices/${encodeURIComponent(device)}/encryption-key` : '/api/fleet/encryption-key';

  async function send(body: unknown) {
    setBusy(true);
    setError(null);
    const r = await api<{ recipient: string | null; identity?: string }>('PUT', url, body);
    setBusy(false);
    if (!r.ok) return setError(r.fields.recipient?.[0] ?? r.message);
    if (r.data.identity) setIdentity(r.data.identity);
    onSaved();
  }

  return (
    <div className="mt-4 border-t border-slate-100 pt-4">
      <h3 className="mb-2 text-sm font-semibold">{device ? `Encryption key of ${device}` : configured ? 'Replace the encryption key' : 'Set the encryption key'}</h3>
      {identity ? (
        <div role="status" className="mb-3 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm" data-testid="new-identity">
          <p className="mb-2 font-medium">Keep this secret key now: it is shown once and the console does not keep it. Without it nobody can decrypt these backups.</p>
          <code className="block break-all rounded bg-white p-2 text-xs">{identity}</code>
          <div className="mt-2 flex flex-wrap gap-2">
            <button type="button" onClick={() => void navigator.clipboard?.writeText(identity)} className="rounded-md border border-slate-300 bg-white px-3 py-1 text-xs">
              Copy
            </button>
            <a
              download={device ? `${device}-identity.txt` : 'organisation-identity.txt'}
              href={`data:text/plain;charset=utf-8,${encodeURIComponent(`# Webconf device backups: decrypt with age -d -i this-file\n${identity}\n`)}`}
              className="rounded-md border border-slate-300 bg-white px-3 py-1 text-xs"
            >
              Download identity file
            </a>
            <button type="button" onClick={() => setIdentity(null)} className="rounded-md border border-slate-300 bg-white px-3 py-1 text-xs">
              I have stored it
            </button>
          </div>
        </div>
      ) : null}
      <form
        className="flex flex-wrap items-end gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          const recipient = String(new FormData(e.currentTarget).get('recipient') ?? '').trim();
          void send({ recipient });
        }}
        noValidate
      >
        <div className="w-full min-w-0 sm:w-auto sm:flex-1">
          <label htmlFor={id} className="block text-sm text-slate-700">
            Age public key (age1…)
          </label>
          <input
            id={id}
            name="recipient"
            autoComplete="off"
            aria-invalid={Boolean(error)}
            aria-describedby={error ? `${id}-error` : undefined}
            className={`mt-1 block w-full rounded-md border px-3 py-2 font-mono text-xs ${error ? 'border-red-500' : 'border-slate-300'}`}
          />
        </div>
        <button type="submit" disabled={busy} className="rounded-md border border-slate-300 px-3 py-2 text-sm hover:bg-slate-50 disabled:opacity-60">
          Use this key
        </button>
        <button type="button" disabled={busy} onClick={() => void send({ generate: true })} className="rounded-md border border-slate-300 px-3 py-2 text-sm hover:bg-slate-50 disabled:opacity-60">
          Make a new key pair
        </button>
        {device ? (
          <button type="button" disabled={busy} onClick={() => void send({ recipient: null })} className="rounded-md border border-slate-300 px-3 py-2 text-sm hover:bg-slate-50 disabled:opacity-60">
            Use the organisation key
          </button>
        ) : null}
      </form>
      {error ? (
        <p id={`${id}-error`} role="alert" className="mt-1 text-sm text-red-700">
          {error}
        </p>
      ) : null}
    </div>
  );
}
