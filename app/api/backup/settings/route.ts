import { backupSettingsFormSchema } from '@/lib/backup/schemas';
import { getBackupSettings, saveBackupSettings } from '@/lib/backup/settings';
import { jsonBody, withAuth } from '@/lib/http/route';

export const GET = withAuth('backup:read', async () => getBackupSettings(), { name: 'api.backup.settings.read' });

export const PUT = withAuth(
  'backup:configure',
  async ({ req, actor }) => {
    const body = await jsonBody(req, backupSettingsFormSchema.strict());
    return saveBackupSettings(actor, { filenamePrefix: body.filenamePrefix });
  },
  { name: 'api.backup.settings.save' },
);
