import { z } from 'zod';
import { cancelFleetRun } from '@/lib/fleet/run';
import { runView } from '@/lib/fleet/views';
import { withAuth } from '@/lib/http/route';

export const POST = withAuth<{ id: string }>(
  'devices:run',
  async ({ params, actor }) => {
    const { id } = z.object({ id: z.coerce.number().int().positive() }).parse(params);
    cancelFleetRun(actor, id);
    return runView(id);
  },
  { name: 'api.fleet.run.cancel' },
);
