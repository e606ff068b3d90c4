import { AppError } from '@/lib/errors';
import { withAuth } from '@/lib/http/route';
import { getVerification } from '@/lib/verify/queries';
import { verifyIdSchema } from '@/lib/verify/schemas';

/** One verification: its status, its progress while it runs (bytes), then its result. Polling it is not activity. */
export const GET = withAuth<{ id: string }>(
  'backup:read',
  async ({ params }) => {
    const { id } = verifyIdSchema.parse(params);
    const verification = getVerification(id);
    if (!verification) throw new AppError('not_found', `There is no verification #${id}.`);
    return { verification };
  },
  { name: 'api.verifications.read', touch: false },
);
