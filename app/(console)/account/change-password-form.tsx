'use client';
import { useActionState, useEffect, useState } from 'react';
import { Field } from '@/app/ui/field';
import { FormMessage } from '@/app/ui/form-message';
import { SubmitButton } from '@/app/ui/submit-button';
import { changeOwnPasswordAction } from './actions';

export function ChangePasswordForm() {
  const [state, action] = useActionState(changeOwnPasswordAction, undefined);
  // Empty fields after a success; a password is never echoed back after a failure either.
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (state?.ok) setGeneration((g) => g + 1);
  }, [state]);
  const errors = state?.ok ? undefined : state?.fieldErrors;
  return (
    <form action={action} noValidate aria-labelledby="password-title" className="max-w-xl">
      <h2 id="password-title" className="mb-4 text-lg font-semibold">
        Change your password
      </h2>
      <FormMessage state={state} />
      <div key={generation}>
        <Field name="currentPassword" label="Current password" type="password" autoComplete="current-password" required errors={errors?.currentPassword} />
        <Field name="password" label="New password" type="password" autoComplete="new-password" required hint="At least 12 characters." errors={errors?.password} />
        <Field name="confirmPassword" label="Repeat the new password" type="password" autoComplete="new-password" required errors={errors?.confirmPassword} />
      </div>
      <SubmitButton>Change password</SubmitButton>
    </form>
  );
}
