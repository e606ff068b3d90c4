'use client';
import { useActionState, useEffect, useState } from 'react';
import type { ChannelView } from '@/lib/alerts/channels';
import { Field } from '@/app/ui/field';
import { FormMessage } from '@/app/ui/form-message';
import { SubmitButton } from '@/app/ui/submit-button';
import { saveChannelAction } from './actions';

type Kind = ChannelView['kind'];
const KIND_LABEL: Record<Kind, string> = { email: 'E-mail (SMTP with STARTTLS)', webhook: 'Webhook (signed JSON POST)', syslog: 'Syslog (RFC 5424)' };

/** A textarea tied to its hint and error like Field's inputs. */
function PemField({ id, errors, defaultValue }: { id: string; errors?: string[]; defaultValue?: string }) {
  const invalid = Boolean(errors?.length);
  return (
    <div className="mb-4">
      <label htmlFor={id} className="block text-sm font-medium text-slate-700">Trusted certificate (PEM, optional)</label>
      <textarea id={id} name="trustedCa" rows={4} defaultValue={defaultValue} aria-invalid={invalid}
        aria-describedby={[`${id}-hint`, invalid ? `${id}-error` : null].filter(Boolean).join(' ')}
        className={`mt-1 block w-full rounded-md border px-3 py-2 font-mono text-xs shadow-sm focus:outline-none focus:ring-2 focus:ring-sky-500 ${invalid ? 'border-red-500' : 'border-slate-300'}`} />
      <p id={`${id}-hint`} className="mt-1 text-xs text-slate-500">
        The server&apos;s certificate is always checked. For a server with a self-signed certificate or a private CA, paste that certificate here
        (-----BEGIN CERTIFICATE----- …); it is trusted in addition to the usual CAs.
      </p>
      {invalid ? <p id={`${id}-error`} role="alert" className="mt-1 text-sm text-red-700">{errors![0]}</p> : null}
    </div>
  );
}

/** The form's flat fields from a stored channel, for editing it. */
function valuesOf(c: ChannelView): Record<string, string> {
  const cfg = c.config as Record<string, unknown>;
  const text = (v: unknown) => (v === null || v === undefined ? '' : Array.isArray(v) ? v.join(', ') : String(v));
  return { name: c.name, host: text(cfg.host), port: text(cfg.port), username: text(cfg.username), from: text(cfg.from), to: text(cfg.to), url: text(cfg.url), transport: text(cfg.transport), trustedCa: text(cfg.trustedCa) };
}

/**
 * Adds a channel, or with `channel` edits one: its kind is fixed, an empty
 * secret keeps the stored one, and its enabled state is left as it is (the
 * form sends no `enabled`).
 */
export function ChannelForm({ channel, onDone }: { channel?: ChannelView; onDone?: (message: string) => void }) {
  const [state, action] = useActionState(saveChannelAction, undefined);
  const [kind, setKind] = useState<Kind>(channel?.kind ?? 'email');
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (!state?.ok) return;
    if (onDone) onDone(state.message ?? 'Channel saved.');
    else setGeneration((g) => g + 1);
  }, [state, onDone]);
  const editing = Boolean(channel);
  // Field ids are prefixed on an edit form: the add form is on the same page.
  const p = channel ? `edit-${channel.id}-` : '';
  const v = state?.ok ? (channel ? valuesOf(channel) : {}) : (state?.values ?? (channel ? valuesOf(channel) : {}));
  const e = state?.fieldErrors ?? {};
  const titleId = channel ? `${p}channel-form-title` : 'add-channel-title';
  const secretHint = editing ? 'Leave empty to keep the stored one. ' : '';
  return (
    <form action={action} noValidate aria-labelledby={titleId} className="max-w-xl" key={generation} data-testid={channel ? `edit-channel-${channel.id}` : 'add-channel'}>
      <h2 id={titleId} className="mb-4 text-lg font-semibold">{channel ? `Edit “${channel.name}”` : 'Add a channel'}</h2>
      <FormMessage state={state} />
      {channel ? (
        <>
          <input type="hidden" name="id" value={channel.id} />
          <input type="hidden" name="kind" value={channel.kind} />
          <p className="mb-4 text-sm text-slate-700">Kind: {KIND_LABEL[channel.kind]}. To change the kind, add a new channel and remove this one.</p>
        </>
      ) : (
        <div className="mb-4">
          <label htmlFor="kind" className="block text-sm font-medium text-slate-700">Kind</label>
          <select id="kind" name="kind" value={kind} onChange={(ev) => setKind(ev.currentTarget.value as Kind)}
            className="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm shadow-sm focus:outline-none focus:ring-2 focus:ring-sky-500">
            {(Object.keys(KIND_LABEL) as Kind[]).map((k) => <option key={k} value={k}>{KIND_LABEL[k]}</option>)}
          </select>
        </div>
      )}
      <Field id={`${p}name`} name="name" label="Name" defaultValue={v.name} errors={e.name} required hint="How the page and the audit trail name it, e.g. Ops mail." />
      {kind === 'email' ? (
        <>
          <Field id={`${p}host`} name="host" label="SMTP server" defaultValue={v.host} errors={e.host} required hint="Host name or address, e.g. smtp.example.net." />
          <Field id={`${p}port`} name="port" label="Port" type="number" defaultValue={v.port ?? '587'} errors={e.port} required hint="587 (STARTTLS, required) or 465 (TLS from the start)." />
          <Field id={`${p}username`} name="username" label="User name" defaultValue={v.username} errors={e.username} autoComplete="off" required />
          <Field id={`${p}secret`} name="secret" label="Password" type="password" errors={e.secret} autoComplete="new-password" required={!editing}
            hint={`${secretHint}Kept sealed on the appliance and never shown again.`} />
          <Field id={`${p}from`} name="from" label="From" type="email" defaultValue={v.from} errors={e.from} required hint="The sender address, e.g. webconf@example.net." />
          <Field id={`${p}to`} name="to" label="To" defaultValue={v.to} errors={e.to} required hint="One or more recipients, separated by commas." />
        </>
      ) : kind === 'webhook' ? (
        <>
          <Field id={`${p}url`} name="url" label="URL" type="url" defaultValue={v.url} errors={e.url} required hint="Receives a JSON POST per alert (https:// recommended)." />
          <Field id={`${p}secret`} name="secret" label="Signing secret" type="password" errors={e.secret} autoComplete="new-password" required={!editing}
            hint={`${secretHint}At least 16 characters; the receiver checks X-Webconf-Signature with it (see the README). Never shown again.`} />
        </>
      ) : (
        <>
          <Field id={`${p}host`} name="host" label="Syslog server" defaultValue={v.host} errors={e.host} required hint="Host name or address." />
          <Field id={`${p}transport`} name="transport" label="Transport" defaultValue={v.transport ?? 'tls'} errors={e.transport} required hint="TLS (RFC 5425) protects the messages on the way.">
            <option value="tls">TLS</option>
            <option value="tcp">TCP</option>
            <option value="udp">UDP</option>
          </Field>
          <Field id={`${p}port`} name="port" label="Port" type="number" defaultValue={v.port ?? '6514'} errors={e.port} required hint="6514 for TLS, 514 for UDP or TCP, by convention." />
        </>
      )}
      <PemField id={`${p}trustedCa`} errors={e.trustedCa} defaultValue={v.trustedCa} />
      <div className="flex flex-wrap gap-2">
        <SubmitButton>{editing ? 'Save channel' : 'Add channel'}</SubmitButton>
        {channel && onDone ? (
          <button type="button" onClick={() => onDone('')} className="rounded-md border border-slate-300 px-4 py-2 text-sm font-semibold hover:bg-slate-100">Cancel</button>
        ) : null}
      </div>
    </form>
  );
}
