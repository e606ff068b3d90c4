import type { VerifySchedule } from './schemas';

/** The scheduled verifier's setting in words (the Backup page's form and its read-only view). Pure: client components use it. */
export function describeVerifySchedule(s: VerifySchedule): string {
  return s.enabled
    ? `Each backup on the storage location is fully verified again ${s.everyDays === 1 ? 'every day' : `after ${s.everyDays} days`}, one at a time, never while a backup runs.`
    : 'Turned off: backups are verified only when someone clicks Quick verify or Full verify.';
}
