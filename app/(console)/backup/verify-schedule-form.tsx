'use client';
import { useActionState } from 'react';
import { describeVerifySchedule } from '@/lib/verify/describe';
import type { VerifySchedule } from '@/lib/verify/schemas';
import { Field } from '@/app/ui/field';
import { FormMessage } from '@/app/ui/form-message';
import { SubmitButton } from '@/app/ui/submit-button';
import { saveVerifyScheduleAction } from './actions';

/** Scheduled Verification (admins): verify the backups on the target on a schedule, each again after N days. */
export function VerifyScheduleForm({ schedule }: { schedule: VerifySchedule }) {
  const [state, action] = useActionState(saveVerifyScheduleAction, undefined);
  const v = state?.values;
  const e = state?.fieldErrors ?? {};
  return (
    <form action={action} noValidate aria-labelledby="verify-schedule-title" className="max-w-xl">
      <h3 id="verify-schedule-title" className="mb-2 font-semibold">Scheduled Verification</h3>
      <p className="mb-3 text-sm text-slate-600" data-testid="verify-schedule-description">{describeVerifySchedule(schedule)}</p>
      <FormMessage state={state} />
      <div className="mb-4">
        <div className="flex items-center gap-2">
          <input id="verifyEnabled" name="verifyEnabled" type="checkbox" value="on" defaultChecked={v ? v.verifyEnabled === 'on' : schedule.enabled}
            aria-describedby="verifyEnabled-hint" className="h-4 w-4" />
          <label htmlFor="verifyEnabled" className="text-sm font-medium">Verify the backups on the storage location automatically</label>
        </div>
        <p id="verifyEnabled-hint" className="mt-1 text-xs text-slate-500">
          A full verification reads the whole file and checks every chunk, every file against its SHA-256 and the database, as a restore would. It changes nothing.
        </p>
      </div>
      <Field name="everyDays" label="Verify each backup again after (days)" type="number" defaultValue={v?.everyDays ?? String(schedule.everyDays)} errors={e.everyDays}
        hint="1 to 365 days; 30 by default. Backups never verified are verified first." />
      <SubmitButton>Save Verification Schedule</SubmitButton>
    </form>
  );
}
