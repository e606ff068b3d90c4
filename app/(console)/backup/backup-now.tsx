'use client';
import { useActionState, useEffect } from 'react';
import { Banner } from '@/app/ui/banner';
import { SubmitButton } from '@/app/ui/submit-button';
import { backupNowAction } from './engine-actions';

export function BackupNowButton({ disabledReason }: { disabledReason: string | null }) {
  const [state, action] = useActionState(backupNowAction, undefined);
  useEffect(() => {
    if (state?.ok) window.dispatchEvent(new Event('webconf:backup-started'));
  }, [state]);
  return (
    <form action={action} className="flex flex-col items-start gap-2">
      <SubmitButton>Backup now</SubmitButton>
      {disabledReason ? <p className="text-xs text-slate-600">{disabledReason}</p> : null}
      {state ? <Banner kind={state.ok ? 'success' : 'error'} testId="backup-now-result">{state.message}</Banner> : null}
    </form>
  );
}
