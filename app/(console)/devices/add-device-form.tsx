'use client';
import { useRef, useState } from 'react';
import { Banner } from '@/app/ui/banner';
import { Field } from '@/app/ui/field';
import { api, MODELS, type DeviceView } from './api';

/**
 * Adds a device: its address and SSH login (password or private key, sealed by
 * the console and never shown again) and its model. The console then reads the
 * host key it presents; the device stays PENDING until an admin confirmed that
 * fingerprint and approved it.
 */
export function AddDeviceForm({ onAdded }: { onAdded: (d: DeviceView) => void }) {
  const [fields, setFields] = useState<Record<string, string[]>>({});
  const [message, setMessage] = useState<{ kind: 'success' | 'error'; text: string } | null>(null);
  const [auth, setAuth] = useState<'password' | 'key'>('password');
  const [model, setModel] = useState<string>('opnsense');
  const [busy, setBusy] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  async function add(form: FormData) {
    setBusy(true);
    setMessage(null);
    const text = (k: string) => String(form.get(k) ?? '').trim();
    const body = {
      name: text('name'),
      host: text('host'),
      port: text('port') ? Number(text('port')) : undefined,
      username: text('username'),
      ...(auth === 'password' ? { password: String(form.get('password') ?? '') } : { privateKey: String(form.get('privateKey') ?? ''), passphrase: String(form.get('passphrase') ?? '') || undefined }),
      model,
      exportCommand: model === 'generic' ? text('exportCommand') : undefined,
    };
    const r = await api<DeviceView>('POST', '/api/devices', body);
    setBusy(false);
    if (!r.ok) {
      setFields(r.fields);
      setMessage({ kind: 'error', text: r.message });
      return;
    }
    setFields({});
    formRef.current?.reset();
    setMessage({ kind: 'success', text: `Added ${r.data.name}. Check its host key fingerprint below and confirm it, then approve the device.` });
    onAdded(r.data);
  }

  return (
    <section aria-labelledby="add-device-title" className="min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:p-6">
      <h2 id="add-device-title" className="mb-3 text-lg font-semibold">
        Add a device
      </h2>
      {message ? (
        <Banner kind={message.kind} onDismiss={() => setMessage(null)}>
          {message.text}
        </Banner>
      ) : null}
      <form
        ref={formRef}
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void add(new FormData(e.currentTarget));
        }}
      >
        <div className="grid gap-x-4 sm:grid-cols-2">
          <Field name="name" label="Name" hint="How the device is named in the table and in its backups' object names" errors={fields.name} required />
          <Field name="host" label="Address" hint="Host name or IP address the console reaches it at" errors={fields.host} required />
          <Field name="port" label="SSH port" type="number" defaultValue="22" errors={fields.port} />
          <Field name="username" label="SSH user" autoComplete="off" errors={fields.username} required />
        </div>
        <fieldset className="mb-4">
          <legend className="mb-1 text-sm font-medium text-slate-700">Log in with</legend>
          <div className="flex flex-wrap gap-4 text-sm">
            <label className="flex items-center gap-2">
              <input type="radio" name="auth" checked={auth === 'password'} onChange={() => setAuth('password')} /> Password
            </label>
            <label className="flex items-center gap-2">
              <input type="radio" name="auth" checked={auth === 'key'} onChange={() => setAuth('key')} /> Private key
            </label>
          </div>
        </fieldset>
        {auth === 'password' ? (
          <Field name="password" label="SSH password" type="password" autoComplete="new-password" hint="Stored sealed, never shown again" errors={fields.password} required />
        ) : (
          <>
            <div className="mb-4">
              <label htmlFor="privateKey" className="block text-sm font-medium text-slate-700">
                Private key (OpenSSH or PEM) <span aria-hidden="true">*</span>
              </label>
              <textarea
                id="privateKey"
                name="privateKey"
                rows={4}
                spellCheck={false}
                aria-invalid={Boolean(fields.privateKey)}
                aria-describedby={fields.privateKey ? 'privateKey-error' : undefined}
                className={`mt-1 block w-full rounded-md border px-3 py-2 font-mono text-xs ${fields.privateKey ? 'border-red-500' : 'border-slate-300'}`}
              />
              {fields.privateKey ? (
                <p id="privateKey-error" role="alert" className="mt-1 text-sm text-red-700">
                  {fields.privateKey[0]}
                </p>
              ) : null}
            </div>
            <Field name="passphrase" label="Key passphrase" type="password" autoComplete="new-password" hint="Only if the key has one" errors={fields.passphrase} />
          </>
        )}
        <div className="mb-4">
          <label htmlFor="model" className="block text-sm font-medium text-slate-700">
            Model
          </label>
          <select id="model" name="model" value={model} onChange={(e) => setModel(e.target.value)} className="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm" aria-describedby={fields.model ? 'model-error' : undefined} aria-invalid={Boolean(fields.model)}>
            {MODELS.map((m) => (
              <option key={m.id} value={m.id}>
                {m.label}
              </option>
            ))}
          </select>
          {fields.model ? (
            <p id="model-error" role="alert" className="mt-1 text-sm text-red-700">
              {fields.model[0]}
            </p>
          ) : null}
        </div>
        {model === 'generic' ? <Field name="exportCommand" label="Export command" hint="Prints the whole configuration on standard output" errors={fields.exportCommand} required /> : null}
        {fields._form ? <p className="mb-3 text-sm text-red-700">{fields._form[0]}</p> : null}
        <button type="submit" disabled={busy} className="rounded-md bg-sky-700 px-4 py-2 text-sm font-medium text-white hover:bg-sky-800 disabled:opacity-60">
          {busy ? 'Reading its host key…' : 'Add device'}
        </button>
      </form>
    </section>
  );
}
