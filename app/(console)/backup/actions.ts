'use server';
import { revalidatePath } from 'next/cache';
import { z } from 'zod';
import { validatedAction } from '@/lib/auth/validated-action';
import { setDms } from '@/lib/backup/dms';
import { startBackup } from '@/lib/backup/engine';
import { backupSettingsFormSchema, dmsFormSchema, scheduleFormSchema } from '@/lib/backup/schemas';
import { saveBackupSettings } from '@/lib/backup/settings';
import { saveStorageConfig } from '@/lib/storage/config';
import { storageLocationFormSchema } from '@/lib/storage/schemas';
import { verifyScheduleFormSchema } from '@/lib/verify/schemas';
import { saveVerifySchedule } from '@/lib/verify/settings';

/** The Backup page's actions: each one line through validatedAction (session, permission, input, errors in words). */
export const saveBackupSettingsAction = validatedAction(
  'backup:configure',
  backupSettingsFormSchema,
  async (data, { actor }) => {
    saveBackupSettings(actor, { filenamePrefix: data.filenamePrefix });
    revalidatePath('/backup');
    return { ok: true, message: 'Backup settings saved.', values: { filenamePrefix: data.filenamePrefix } };
  },
  { name: 'backup.settings.save' },
);

export const setDmsAction = validatedAction(
  'backup:configure',
  dmsFormSchema,
  async (data, { actor }) => {
    await setDms(actor, data.dms);
    revalidatePath('/backup');
    return { ok: true, message: 'DOMAIN MASTER SECRET IS SET.' };
  },
  { name: 'backup.dms.set' },
);

export const saveScheduleAction = validatedAction(
  'backup:configure',
  scheduleFormSchema,
  async (data, { actor }) => {
    saveBackupSettings(actor, data);
    revalidatePath('/backup');
    return { ok: true, message: 'Automated backup schedule saved.' };
  },
  { name: 'backup.schedule.save' },
);

export const saveVerifyScheduleAction = validatedAction(
  'backup:configure',
  verifyScheduleFormSchema,
  async (data, { actor }) => {
    saveVerifySchedule(actor, data);
    revalidatePath('/backup');
    return {
      ok: true,
      message: data.enabled ? `Scheduled verification saved: each backup is fully verified again after ${data.everyDays} day${data.everyDays === 1 ? '' : 's'}.` : 'Scheduled verification turned off.',
    };
  },
  { name: 'backup.verify.schedule.save' },
);

export const saveStorageAction = validatedAction(
  'backup:configure',
  storageLocationFormSchema,
  async (data, { actor }) => {
    await saveStorageConfig(actor, data, { field: 'location' });
    revalidatePath('/backup');
    return { ok: true, message: 'Successfully updated backup storage configuration.' };
  },
  { name: 'backup.storage.configure' },
);

export const backupNowAction = validatedAction(
  'backup:run',
  z.object({}),
  async (_data, { actor }) => {
    const run = await startBackup('manual', actor);
    return { ok: true, message: `Backup #${run.id} started.` };
  },
  { name: 'backup.start' },
);
