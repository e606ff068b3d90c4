import { getSetting, putSetting } from '../settings/store';
import { DEFAULT_REMINDER_HOURS, reminderSettingSchema } from './schemas';

const KEY = 'alerts.reminder';

/** Hours between reminders while a condition stays failed (default 24). */
export function reminderHours(): number {
  return getSetting(KEY, reminderSettingSchema)?.hours ?? DEFAULT_REMINDER_HOURS;
}

export function saveReminderHours(hours: number, updatedBy: string): void {
  putSetting(KEY, reminderSettingSchema, { hours }, updatedBy);
}
