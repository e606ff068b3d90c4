import { z } from 'zod';
import { runView } from '@/lib/fleet/views';
import { withAuth } from '@/lib/http/route';

export const GET = withAuth<{ id: string }>(
  'devices:read',
  async ({ params }) => runView(z.object({ id: z.coerce.number().int().positive() }).parse(params).id),
  { name: 'api.fleet.run.read', touch: false },
);
