'use client';
import { useActionState, useEffect, useState } from 'react';
import { Field } from '@/app/ui/field';
import { FormMessage } from '@/app/ui/form-message';
import { SubmitButton } from '@/app/ui/submit-button';
import { createUserAction } from './actions';

export function CreateUserForm() {
  const [state, action] = useActionState(createUserAction, undefined);
  // A new, empty form after each success; the old one with its values after a failure.
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (state?.ok) setGeneration((g) => g + 1);
  }, [state]);
  const v = state?.ok ? {} : (state?.values ?? {});
  return (
    <form action={action} noValidate aria-labelledby="create-user-title" className="max-w-xl" key={generation}>
      <h2 id="create-user-title" className="mb-4 text-lg font-semibold">
        Create OAuth user account
      </h2>
      <FormMessage state={state} />
      <Field name="username" label="Username" defaultValue={v.username} errors={state?.fieldErrors?.username} autoComplete="off" required
        hint="3 to 32 characters: lower-case letters, digits, dot, dash, underscore." />
      <Field name="displayName" label="Display name (optional)" defaultValue={v.displayName} errors={state?.fieldErrors?.displayName} />
      <Field name="role" label="Role" defaultValue={v.role ?? 'admin'} errors={state?.fieldErrors?.role} required
        hint="Admin: everything. Operator: browse storage, start backups, read everything. Support: read-only.">
        <option value="admin">Admin</option>
        <option value="operator">Operator</option>
        <option value="support">Support</option>
      </Field>
      <Field name="password" label="Password" type="password" autoComplete="new-password" errors={state?.fieldErrors?.password} required
        hint="At least 12 characters." />
      <Field name="confirmPassword" label="Repeat password" type="password" autoComplete="new-password" errors={state?.fieldErrors?.confirmPassword} required />
      <SubmitButton>Create account</SubmitButton>
    </form>
  );
}
