'use server';
import { revalidatePath } from 'next/cache';
import { backupSettingsFormSchema } from '@/lib/backup/schemas';
import { saveBackupSettings } from '@/lib/backup/settings';
import { validatedAction } from '@/lib/auth/validated-action';

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
