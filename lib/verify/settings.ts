import { audit, type Actor } from '../audit/audit';
import { getSetting, putSetting } from '../settings/store';
import { DEFAULT_VERIFY_EVERY_DAYS, verifyScheduleSchema, type VerifySchedule } from './schemas';

/** The scheduled verifier's setting, key "verifySchedule": off, every 30 days, until an admin changes it. */
const KEY = 'verifySchedule';

export function getVerifySchedule(): VerifySchedule {
  return getSetting(KEY, verifyScheduleSchema) ?? { enabled: false, everyDays: DEFAULT_VERIFY_EVERY_DAYS };
}

export function saveVerifySchedule(actor: Actor, next: VerifySchedule): VerifySchedule {
  putSetting(KEY, verifyScheduleSchema, next, actor.name);
  audit(actor, 'backup.verify.schedule.save', 'success', { detail: next });
  return next;
}
