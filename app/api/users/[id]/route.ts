import { deleteUser } from '@/lib/accounts/accounts';
import { deleteUserSchema } from '@/lib/accounts/schemas';
import { withAuth } from '@/lib/http/route';

export const DELETE = withAuth<{ id: string }>(
  'users:manage',
  async ({ params, actor }) => {
    const { id } = deleteUserSchema.parse(params);
    deleteUser(actor, id);
    return { ok: true };
  },
  { name: 'api.users.delete' },
);
