'use client';
import { useActionState } from 'react';
import { SubmitButton } from '@/app/ui/submit-button';
import { deleteUserAction, removeOtpUserAction } from './actions';

export function DeleteUserButton({ id, username }: { id: number; username: string }) {
  const [state, action] = useActionState(deleteUserAction, undefined);
  return (
    <form
      action={action}
      onSubmit={(e) => {
        if (!confirm(`Delete the account "${username}"? It is signed out at once.`)) e.preventDefault();
      }}
    >
      <input type="hidden" name="id" value={id} />
      <SubmitButton variant="secondary">Delete</SubmitButton>
      {state && !state.ok ? <p role="alert" className="mt-1 text-sm text-red-700">{state.message}</p> : null}
    </form>
  );
}

export function RemoveOtpButton() {
  const [state, action] = useActionState(removeOtpUserAction, undefined);
  return (
    <form
      action={action}
      onSubmit={(e) => {
        if (!confirm('Remove the OTP User? Its one-time password stops working at once.')) e.preventDefault();
      }}
    >
      <SubmitButton variant="danger">Remove OTP User</SubmitButton>
      {state && !state.ok ? <p role="alert" className="mt-1 text-sm text-red-700">{state.message}</p> : null}
    </form>
  );
}
