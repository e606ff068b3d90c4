'use client';
import { useActionState } from 'react';
import { Field } from '@/app/ui/field';
import { FormMessage } from '@/app/ui/form-message';
import { SubmitButton } from '@/app/ui/submit-button';
import { saveBackupSettingsAction } from './actions';

export function BackupSettingsForm({ filenamePrefix }: { filenamePrefix: string }) {
  const [state, action] = useActionState(saveBackupSettingsAction, undefined);
  return (
    <form action={action} aria-labelledby="backup-filename-title" noValidate className="max-w-xl">
      <h3 id="backup-filename-title" className="mb-2 font-semibold">
        Backup Filename (optional)
      </h3>
      <FormMessage state={state} />
      <Field
        name="filenamePrefix"
        label="Backup Filename Prefix"
        defaultValue={state?.values?.filenamePrefix ?? filenamePrefix}
        errors={state?.fieldErrors?.filenamePrefix}
        hint="Letters, digits, dot, dash and underscore; at most 40 characters. The appliance name and a UTC timestamp follow it."
      />
      <SubmitButton>Save Settings</SubmitButton>
    </form>
  );
}
