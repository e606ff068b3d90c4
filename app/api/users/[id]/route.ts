import { deleteUser } from '@/lib/accounts/accounts';
import { changeRole, resetPassword, setDisabled } from '@/lib/accounts/manage';
import { getUser } from '@/lib/accounts/queries';
import { deleteUserSchema, patchUserSchema } from '@/lib/accounts/schemas';
import { jsonBody, withAuth } from '@/lib/http/route';

export const DELETE = withAuth<{ id: string }>(
  'users:manage',
  async ({ params, actor }) => {
    const { id } = deleteUserSchema.parse(params);
    deleteUser(actor, id);
    return { ok: true };
  },
  { name: 'api.users.delete' },
);

/** One change per request: { role }, { disabled } or { password, confirmPassword }. Each ends the account's sessions. */
export const PATCH = withAuth<{ id: string }>(
  'users:manage',
  async ({ params, actor, req }) => {
    const { id } = deleteUserSchema.parse(params);
    const change = await jsonBody(req, patchUserSchema);
    const result =
      change.role !== undefined
        ? changeRole(actor, id, change.role)
        : change.disabled !== undefined
          ? setDisabled(actor, id, change.disabled)
          : await resetPassword(actor, id, change.password!);
    return { changed: result.changed, sessionsEnded: result.sessionsEnded, user: getUser(id) };
  },
  { name: 'api.users.update' },
);
