'use client';
import { useActionState, useCallback, useEffect, useRef, useState } from 'react';
import { nextRuns as computeNextRuns } from '@/lib/backup/schedule';
import { scheduleFormSchema, type Schedule } from '@/lib/backup/schemas';
import { currentZoneName } from '@/lib/time/zones';
import { TimeZonePicker } from '@/app/ui/time-zone-picker';
import { Field } from '@/app/ui/field';
import { FormMessage } from '@/app/ui/form-message';
import { SubmitButton } from '@/app/ui/submit-button';
import { useResetSafeSelect } from '@/app/ui/use-reset-safe-select';
import { saveScheduleAction } from './actions';

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Reads a cron expression back into the form's preset, when it is one. */
function presetOf(cron: string): { preset: 'daily' | 'weekly' | 'custom'; time: string; weekday: string } {
  const m = /^(\d{1,2}) (\d{1,2}) \* \* (\*|[0-6])$/.exec(cron);
  if (!m) return { preset: 'custom', time: '02:00', weekday: '0' };
  const time = `${m[2]!.padStart(2, '0')}:${m[1]!.padStart(2, '0')}`;
  return m[3] === '*' ? { preset: 'daily', time, weekday: '0' } : { preset: 'weekly', time, weekday: m[3]! };
}

export function ScheduleForm({
  schedule,
  retention,
  nextRuns,
  description,
  timezones,
}: {
  schedule: Schedule;
  retention: number;
  nextRuns: string[];
  description: string;
  timezones: string[];
}) {
  const [state, action] = useActionState(saveScheduleAction, undefined);
  const initial = presetOf(schedule.cron);
  const v = state?.values;
  const [preset, setPreset] = useState(v?.preset ?? initial.preset);
  // After a refused time the select would otherwise show, and send, "Daily".
  const presetSelect = useResetSafeSelect(preset);
  const e = state?.fieldErrors ?? {};
  // Next runs follow the form as it is edited: the same schema and the same croner the server uses, run in the browser.
  const form = useRef<HTMLFormElement>(null);
  const [preview, setPreview] = useState<{ runs: string[]; timezone: string; enabled: boolean; problem?: string } | null>(null);
  const recompute = useCallback(() => {
    if (!form.current) return;
    const parsed = scheduleFormSchema.safeParse(Object.fromEntries(new FormData(form.current).entries()));
    // Said as the form is edited, before Save: the first problem, in the schema's words (the fields are marked only by Save).
    if (!parsed.success) return setPreview({ runs: [], timezone: '', enabled: true, problem: parsed.error.issues[0]?.message });
    const s = parsed.data.schedule;
    setPreview({ runs: computeNextRuns(s, 3).map((d) => d.toISOString()), timezone: s.timezone, enabled: s.enabled });
  }, []);
  useEffect(() => {
    recompute();
  }, [preset, recompute]);
  const shown = preview ?? { runs: nextRuns, timezone: schedule.timezone, enabled: schedule.enabled };
  return (
    <form ref={form} action={action} noValidate aria-labelledby="schedule-title" className="max-w-xl" onInput={recompute} onChange={recompute}>
      <h3 id="schedule-title" className="mb-2 font-semibold">Automated Backup Schedule</h3>
      {/* What is saved now, told apart from the form below while it is being edited. */}
      <p className="mb-3 text-sm text-slate-600">
        Saved schedule: <span data-testid="schedule-description">{schedule.enabled ? description : 'Automated backups are turned off.'}</span>
      </p>
      <FormMessage state={state} />
      <div className="mb-4 flex items-center gap-2">
        <input id="enabled" name="enabled" type="checkbox" value="on" defaultChecked={v ? v.enabled === 'on' : schedule.enabled} className="h-4 w-4" />
        <label htmlFor="enabled" className="text-sm font-medium">Run automated backups</label>
      </div>
      <div className="mb-4">
        <label htmlFor="preset" className="block text-sm font-medium text-slate-700">Repeat</label>
        <select ref={presetSelect} id="preset" name="preset" value={preset} onChange={(ev) => setPreset(ev.target.value as typeof preset)}
          className="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm">
          <option value="daily">Daily at a time</option>
          <option value="weekly">Weekly on a day at a time</option>
          <option value="custom">Custom (cron expression)</option>
        </select>
      </div>
      {preset === 'weekly' ? (
        <Field name="weekday" label="Day" defaultValue={v?.weekday ?? initial.weekday} errors={e.weekday}>
          {DAYS.map((d, i) => (
            <option key={d} value={String(i)}>{d}</option>
          ))}
        </Field>
      ) : null}
      {preset !== 'custom' ? (
        <Field name="time" label="Time (HH:MM, 24-hour)" defaultValue={v?.time ?? initial.time} errors={e.time} />
      ) : (
        <Field name="cron" label="Cron expression" defaultValue={v?.cron ?? schedule.cron} errors={e.cron}
          hint="Minute hour day-of-month month day-of-week, e.g. 30 2 * * 1-5 for 02:30 on weekdays." />
      )}
      <TimeZonePicker name="timezone" label="Time zone" zones={timezones} defaultValue={currentZoneName(v?.timezone ?? schedule.timezone)} errors={e.timezone}
        onChange={() => setTimeout(recompute, 0)} />
      <Field name="retention" label="Keep the most recent successful backups" type="number" defaultValue={v?.retention ?? String(retention)} errors={e.retention}
        hint="0 keeps all. Older backups this console wrote are removed from the storage location after each successful backup; the newest is never removed." />
      <div className="mb-4 text-sm" aria-live="polite">
        {!shown.enabled ? (
          <p className="text-slate-600" data-testid="next-runs-off">No automated backups will run.</p>
        ) : shown.runs.length ? (
          <>
            <span className="font-medium">Next runs:</span>
            <ul className="ml-4 list-disc text-slate-700" data-testid="next-runs">
              {shown.runs.map((r) => (
                <li key={r}>
                  <time dateTime={r}>{new Date(r).toLocaleString('en-GB', { timeZone: shown.timezone, dateStyle: 'medium', timeStyle: 'short' })}</time> ({shown.timezone})
                </li>
              ))}
            </ul>
          </>
        ) : (
          <p className="text-slate-600" data-testid="next-runs-none">
            Next runs appear when the schedule is complete and valid{'problem' in shown && shown.problem ? `: ${shown.problem}` : '.'}
          </p>
        )}
      </div>
      <SubmitButton>Save Schedule</SubmitButton>
    </form>
  );
}
