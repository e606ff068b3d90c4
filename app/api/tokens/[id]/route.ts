import { revokeToken } from '@/lib/auth/api-tokens';
import { tokenIdSchema } from '@/lib/auth/schemas';
import { withAuth } from '@/lib/http/route';

export const DELETE = withAuth<{ id: string }>(
  'tokens:manage',
  async ({ params, actor }) => ({ token: revokeToken(actor, tokenIdSchema.parse(params).id) }),
  { name: 'api.tokens.revoke' },
);
