'use server';
import { changeOwnPassword } from '@/lib/accounts/manage';
import { changeOwnPasswordSchema } from '@/lib/accounts/schemas';
import { validatedAction } from '@/lib/auth/validated-action';

/** Any signed-in account changes its own password, with the current one. */
export const changeOwnPasswordAction = validatedAction(
  null,
  changeOwnPasswordSchema,
  async (data, { user, actor }) => {
    const r = await changeOwnPassword(user, actor.ip, data);
    return {
      ok: true,
      message: `Your password was changed.${r.sessionsEnded ? ` Your ${r.sessionsEnded === 1 ? 'other open session was' : `${r.sessionsEnded} other open sessions were`} ended.` : ''}`,
    };
  },
  { name: 'account.password.change' },
);
