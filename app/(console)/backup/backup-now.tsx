'use client';
import { useActionState, useEffect, useState } from 'react';
import type { BackupStatus } from '@/lib/backup/status';
import { Banner } from '@/app/ui/banner';
import { SubmitButton } from '@/app/ui/submit-button';
import { backupNowAction } from './actions';

/**
 * Backup now. Disabled, with the reason, while a backup runs or while one
 * cannot be created; it follows the status panel's live updates.
 */
export function BackupNowButton({ initial }: { initial: Pick<BackupStatus, 'running' | 'blocker'> }) {
  const [state, action] = useActionState(backupNowAction, undefined);
  const [live, setLive] = useState({ running: Boolean(initial.running), blocker: initial.blocker });
  // "Backup #N started." stays until that run is seen to end.
  const [ended, setEnded] = useState(false);
  useEffect(() => {
    if (state?.ok) {
      setEnded(false);
      window.dispatchEvent(new Event('webconf:backup-started'));
    }
  }, [state]);
  useEffect(() => {
    const on = (e: Event) => {
      const s = (e as CustomEvent<BackupStatus>).detail;
      setLive((prev) => {
        if (prev.running && !s.running) setEnded(true);
        return { running: Boolean(s.running), blocker: s.blocker };
      });
    };
    window.addEventListener('webconf:backup-status', on);
    return () => window.removeEventListener('webconf:backup-status', on);
  }, []);
  const reason = live.running ? 'A backup is in progress.' : live.blocker;
  return (
    <form action={action} className="flex flex-col items-start gap-2">
      <SubmitButton disabled={Boolean(reason)}>Backup now</SubmitButton>
      {reason ? <p className="text-xs text-slate-600" data-testid="backup-now-reason">{reason}</p> : null}
      {state && !(state.ok && ended) ? <Banner kind={state.ok ? 'success' : 'error'} testId="backup-now-result">{state.message}</Banner> : null}
    </form>
  );
}
