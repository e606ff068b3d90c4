import { describeStorage, getStorageConfig, saveStorageConfig } from '@/lib/storage/config';
import { storageFormSchema } from '@/lib/storage/schemas';
import { jsonBody, withAuth } from '@/lib/http/route';

export const GET = withAuth('backup:read', async () => ({ config: getStorageConfig(), label: describeStorage() }), { name: 'api.backup.storage.read' });

export const PUT = withAuth(
  'backup:configure',
  async ({ req, actor }) => {
    const config = await jsonBody(req, storageFormSchema);
    await saveStorageConfig(actor, config);
    return { config, message: 'Successfully updated backup storage configuration.' };
  },
  { name: 'api.backup.storage.save' },
);
