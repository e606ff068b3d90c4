import { z } from 'zod';
import { backupDetailsOfRun } from '@/lib/backup/backup-details-view';
import { storageRefusal } from '@/lib/storage/refusal';
import { withAuth } from '@/lib/http/route';

/** Backup Details of a run from the Backup History, read from its file on the configured storage. */
export const GET = withAuth<{ id: string }>(
  'backup:read',
  async ({ params }) => {
    const { id } = z.object({ id: z.coerce.number().int().positive() }).parse(params);
    return { details: await storageRefusal(() => backupDetailsOfRun(id)) };
  },
  { name: 'api.backups.details' },
);
