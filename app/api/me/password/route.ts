import { changeOwnPassword } from '@/lib/accounts/manage';
import { changeOwnPasswordSchema } from '@/lib/accounts/schemas';
import { jsonBody, withAuth } from '@/lib/http/route';

/** The signed-in user's own password, with the current one; their other sessions end. */
export const POST = withAuth(
  null,
  async ({ req, user, actor }) => {
    const input = await jsonBody(req, changeOwnPasswordSchema);
    return changeOwnPassword(user, actor.ip, input);
  },
  { name: 'api.me.password' },
);
