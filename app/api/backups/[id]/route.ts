import { z } from 'zod';
import { getBackupRun } from '@/lib/backup/runs';
import { toRunView } from '@/lib/backup/run-view';
import { AppError } from '@/lib/errors';
import { withAuth } from '@/lib/http/route';

export const GET = withAuth<{ id: string }>(
  'backup:read',
  async ({ params }) => {
    const { id } = z.object({ id: z.coerce.number().int().positive() }).parse(params);
    const run = getBackupRun(id);
    if (!run) throw new AppError('not_found', `There is no backup #${id}.`);
    return { run: toRunView(run) };
  },
  { name: 'api.backups.read' },
);
