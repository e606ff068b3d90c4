'use client';
import { useActionState, useState } from 'react';
import { Banner } from '@/app/ui/banner';
import { Field } from '@/app/ui/field';
import { SubmitButton } from '@/app/ui/submit-button';
import { setDmsAction } from './actions';

/** Backup Protection: the Set Domain Master Secret form, behind its button as in the seed. */
export function DmsForm() {
  const [open, setOpen] = useState(false);
  const [state, action] = useActionState(setDmsAction, undefined);
  if (state?.ok) {
    return (
      <Banner kind="success" testId="dms-set">
        DOMAIN MASTER SECRET IS SET.
      </Banner>
    );
  }
  if (!open) {
    return (
      <button type="button" onClick={() => setOpen(true)} className="rounded-md bg-sky-700 px-4 py-2 text-sm font-semibold text-white hover:bg-sky-800">
        Set Domain Master Secret
      </button>
    );
  }
  return (
    <form action={action} noValidate aria-label="Set Domain Master Secret" className="max-w-md">
      <Banner kind="warning">
        The Domain Master Secret can only be set once. Keep a copy of it in a safe place for the entire lifetime of your Software Appliance: without it, no backup can be restored.
      </Banner>
      {state && !state.ok && state.message && !state.fieldErrors ? <Banner kind="error">{state.message}</Banner> : null}
      <Field name="dms" label="Domain Master Secret" type="password" autoComplete="new-password" errors={state?.fieldErrors?.dms} required
        // The rule is the hint; while the field shows an error (often the same words) the hint gives way to it.
        hint={state?.fieldErrors?.dms?.length ? undefined : 'Domain Master Secret must be at least 8 characters long!'} />
      <Field name="dmsRepeat" label="Repeat Domain Master Secret" type="password" autoComplete="new-password" errors={state?.fieldErrors?.dmsRepeat} required />
      <div className="flex gap-2">
        <SubmitButton>Set Domain Master Secret</SubmitButton>
        <button type="button" onClick={() => setOpen(false)} className="rounded-md border border-slate-300 px-4 py-2 text-sm">
          Cancel
        </button>
      </div>
    </form>
  );
}
