import { issueToken, listTokens } from '@/lib/auth/api-tokens';
import { issueTokenSchema } from '@/lib/auth/schemas';
import { jsonBody, withAuth } from '@/lib/http/route';

export const GET = withAuth('tokens:manage', async () => ({ tokens: listTokens() }), { name: 'api.tokens.list' });

/** The answer holds the token itself: shown once, never again. */
export const POST = withAuth(
  'tokens:manage',
  async ({ req, actor }) => issueToken(actor, await jsonBody(req, issueTokenSchema)),
  { name: 'api.tokens.issue', sessionOnly: 'New API tokens are issued by a signed-in admin on the API tokens page, not with a token: a leaked token must not be able to make its own replacement.' },
);
