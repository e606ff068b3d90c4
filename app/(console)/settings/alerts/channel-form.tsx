'use client';
import { useActionState, useEffect, useState } from 'react';
import { Field } from '@/app/ui/field';
import { FormMessage } from '@/app/ui/form-message';
import { SubmitButton } from '@/app/ui/submit-button';
import { saveChannelAction } from './actions';

type Kind = 'email' | 'webhook' | 'syslog';

/** A textarea tied to its hint and error like Field's inputs. */
function PemField({ errors, defaultValue }: { errors?: string[]; defaultValue?: string }) {
  const invalid = Boolean(errors?.length);
  return (
    <div className="mb-4">
      <label htmlFor="trustedCa" className="block text-sm font-medium text-slate-700">Trusted certificate (PEM, optional)</label>
      <textarea id="trustedCa" name="trustedCa" rows={4} defaultValue={defaultValue} aria-invalid={invalid}
        aria-describedby={['trustedCa-hint', invalid ? 'trustedCa-error' : null].filter(Boolean).join(' ')}
        className={`mt-1 block w-full rounded-md border px-3 py-2 font-mono text-xs shadow-sm focus:outline-none focus:ring-2 focus:ring-sky-500 ${invalid ? 'border-red-500' : 'border-slate-300'}`} />
      <p id="trustedCa-hint" className="mt-1 text-xs text-slate-500">
        The server&apos;s certificate is always checked. For a server with a self-signed certificate or a private CA, paste that certificate here
        (-----BEGIN CERTIFICATE----- …); it is trusted in addition to the usual CAs.
      </p>
      {invalid ? <p id="trustedCa-error" role="alert" className="mt-1 text-sm text-red-700">{errors![0]}</p> : null}
    </div>
  );
}

export function ChannelForm() {
  const [state, action] = useActionState(saveChannelAction, undefined);
  const [kind, setKind] = useState<Kind>('email');
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (state?.ok) setGeneration((g) => g + 1);
  }, [state]);
  const v = state?.ok ? {} : (state?.values ?? {});
  const e = state?.fieldErrors ?? {};
  return (
    <form action={action} noValidate aria-labelledby="add-channel-title" className="max-w-xl" key={generation}>
      <h2 id="add-channel-title" className="mb-4 text-lg font-semibold">Add a channel</h2>
      <FormMessage state={state} />
      <div className="mb-4">
        <label htmlFor="kind" className="block text-sm font-medium text-slate-700">Kind</label>
        <select id="kind" name="kind" value={kind} onChange={(ev) => setKind(ev.currentTarget.value as Kind)}
          className="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm shadow-sm focus:outline-none focus:ring-2 focus:ring-sky-500">
          <option value="email">E-mail (SMTP with STARTTLS)</option>
          <option value="webhook">Webhook (signed JSON POST)</option>
          <option value="syslog">Syslog (RFC 5424)</option>
        </select>
      </div>
      <Field name="name" label="Name" defaultValue={v.name} errors={e.name} required hint="How the page and the audit trail name it, e.g. Ops mail." />
      {kind === 'email' ? (
        <>
          <Field name="host" label="SMTP server" defaultValue={v.host} errors={e.host} required hint="Host name or address, e.g. smtp.example.net." />
          <Field name="port" label="Port" type="number" defaultValue={v.port ?? '587'} errors={e.port} required hint="587 (STARTTLS, required) or 465 (TLS from the start)." />
          <Field name="username" label="User name" defaultValue={v.username} errors={e.username} autoComplete="off" required />
          <Field name="secret" label="Password" type="password" errors={e.secret} autoComplete="new-password" required
            hint="Kept sealed on the appliance and never shown again." />
          <Field name="from" label="From" type="email" defaultValue={v.from} errors={e.from} required hint="The sender address, e.g. webconf@example.net." />
          <Field name="to" label="To" defaultValue={v.to} errors={e.to} required hint="One or more recipients, separated by commas." />
        </>
      ) : kind === 'webhook' ? (
        <>
          <Field name="url" label="URL" type="url" defaultValue={v.url} errors={e.url} required hint="Receives a JSON POST per alert (https:// recommended)." />
          <Field name="secret" label="Signing secret" type="password" errors={e.secret} autoComplete="new-password" required
            hint="At least 16 characters; the receiver checks X-Webconf-Signature with it (see the README). Never shown again." />
        </>
      ) : (
        <>
          <Field name="host" label="Syslog server" defaultValue={v.host} errors={e.host} required hint="Host name or address." />
          <Field name="transport" label="Transport" defaultValue={v.transport ?? 'tls'} errors={e.transport} required hint="TLS (RFC 5425) protects the messages on the way.">
            <option value="tls">TLS</option>
            <option value="tcp">TCP</option>
            <option value="udp">UDP</option>
          </Field>
          <Field name="port" label="Port" type="number" defaultValue={v.port ?? '6514'} errors={e.port} required hint="6514 for TLS, 514 for UDP or TCP, by convention." />
        </>
      )}
      <PemField errors={e.trustedCa} defaultValue={v.trustedCa} />
      <SubmitButton>Add channel</SubmitButton>
    </form>
  );
}
