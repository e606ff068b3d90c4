'use client';
import { useActionState, useEffect, useState } from 'react';
import { CopyButton } from '@/app/ui/copy-button';
import { Field } from '@/app/ui/field';
import { FormMessage } from '@/app/ui/form-message';
import { SubmitButton } from '@/app/ui/submit-button';
import { issueTokenAction } from './actions';

export function IssueTokenForm() {
  const [state, action] = useActionState(issueTokenAction, undefined);
  // A new, empty form after each success; the old one with its values after a failure.
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (state?.ok) setGeneration((g) => g + 1);
  }, [state]);
  const v = state?.ok ? {} : (state?.values ?? {});
  return (
    <div>
      {state?.ok && state.secret ? (
        <section aria-labelledby="new-token-title" data-testid="new-token" className="mb-6 rounded-md border border-amber-300 bg-amber-50 p-4 text-sm text-amber-950">
          <h3 id="new-token-title" className="mb-1 font-semibold">{state.message}</h3>
          <p className="mb-2">
            Copy it now: it is shown this once and the console keeps only its hash. Anyone holding it acts with its role; keep it in a file
            readable by you only, never on a command line.
          </p>
          <div className="flex flex-wrap items-center gap-2">
            <code id="new-token-value" data-testid="new-token-value" className="min-w-0 rounded bg-white px-2 py-1 font-mono text-xs [overflow-wrap:anywhere]">
              {state.secret}
            </code>
            <CopyButton text={state.secret} label="Copy the token" targetId="new-token-value"
              className="rounded-md border border-amber-400 bg-white px-3 py-1 text-sm font-medium hover:bg-amber-100" />
          </div>
          <p className="mt-2">The command line reads it from <code>WEBCONF_TOKEN</code> or <code>--token-file</code> (see <code>webconf backup --help</code>).</p>
        </section>
      ) : null}
      <form action={action} noValidate aria-labelledby="issue-token-title" className="max-w-xl" key={generation}>
        <h2 id="issue-token-title" className="mb-4 text-lg font-semibold">Issue a token</h2>
        {state && !state.ok ? <FormMessage state={state} /> : null}
        <Field name="name" label="Name" defaultValue={v.name} errors={state?.fieldErrors?.name} autoComplete="off" required
          hint="What uses it, e.g. backup-cron. Letters, digits, dot, dash, underscore; the audit trail shows it as token:NAME." />
        <Field name="role" label="Role" defaultValue={v.role ?? 'support'} errors={state?.fieldErrors?.role} required
          hint="Support: reads status. Operator: also runs and downloads backups. Admin: everything, including devices and keys.">
          <option value="support">Support</option>
          <option value="operator">Operator</option>
          <option value="admin">Admin</option>
        </Field>
        <SubmitButton>Issue token</SubmitButton>
      </form>
    </div>
  );
}
