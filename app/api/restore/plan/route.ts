import { jsonBody, withAuth } from '@/lib/http/route';
import { restorePlanRequestSchema } from '@/lib/restore/schemas';
import { planFor } from '@/lib/restore/service';

/** The dry-run: full verify and the plan, nothing changed. */
export const POST = withAuth('backup:restore', async ({ actor, req }) => ({ plan: await planFor(actor, await jsonBody(req, restorePlanRequestSchema), req.signal) }), {
  name: 'api.restore.plan',
});
