'use client';
import { useActionState } from 'react';
import { Field } from '@/app/ui/field';
import { FormMessage } from '@/app/ui/form-message';
import { SubmitButton } from '@/app/ui/submit-button';
import { saveReminderAction } from './actions';

export function ReminderForm({ hours }: { hours: number }) {
  const [state, action] = useActionState(saveReminderAction, undefined);
  return (
    <form action={action} noValidate aria-labelledby="reminder-title" className="max-w-xl">
      <h2 id="reminder-title" className="mb-4 text-lg font-semibold">Reminders</h2>
      {state ? <FormMessage state={state} /> : null}
      <Field name="hours" label="Remind every (hours)" type="number" defaultValue={state?.values?.hours ?? String(hours)} errors={state?.fieldErrors?.hours} required
        hint="While something stays failed, a reminder is sent this often (1 to 720 hours; default 24)." />
      <SubmitButton>Save</SubmitButton>
    </form>
  );
}
