import { backupDetailsAt } from '@/lib/backup/backup-details-view';
import { locationQuerySchema } from '@/lib/storage/schemas';
import { storageRefusal } from '@/lib/storage/refusal';
import { withAuth } from '@/lib/http/route';

/** Backup Details of a file in a storage location, read from its header and signed manifest only. */
export const GET = withAuth(
  'backup:read',
  async ({ req }) => {
    const q = locationQuerySchema.parse(Object.fromEntries(req.nextUrl.searchParams));
    return { details: await storageRefusal(() => backupDetailsAt(q.url)) };
  },
  { name: 'api.storage.details' },
);
