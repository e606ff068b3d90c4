import { createLocalUser } from '@/lib/accounts/accounts';
import { listUsers } from '@/lib/accounts/queries';
import { createUserSchema } from '@/lib/accounts/schemas';
import { jsonBody, withAuth } from '@/lib/http/route';

export const GET = withAuth('users:manage', async () => ({ users: listUsers() }), { name: 'api.users.list' });

export const POST = withAuth(
  'users:create',
  async ({ req, actor }) => {
    const input = await jsonBody(req, createUserSchema);
    return { user: await createLocalUser(actor, input) };
  },
  { name: 'api.users.create' },
);
