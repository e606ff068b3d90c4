'use server';
import { revalidatePath } from 'next/cache';
import { z } from 'zod';
import { createLocalUser, deleteUser, removeOtpUser } from '@/lib/accounts/accounts';
import { changeRole, resetPassword, setDisabled } from '@/lib/accounts/manage';
import { changeRoleSchema, createUserSchema, deleteUserSchema, resetPasswordSchema, setDisabledSchema } from '@/lib/accounts/schemas';
import { ROLE_LABELS } from '@/lib/auth/roles';
import { validatedAction } from '@/lib/auth/validated-action';

export const createUserAction = validatedAction(
  'users:create',
  createUserSchema,
  async (data, { actor }) => {
    const user = await createLocalUser(actor, data);
    revalidatePath('/users');
    return { ok: true, message: `Account "${user.username}" (${user.role}) created. It can sign in now.` };
  },
  { name: 'account.create' },
);

export const deleteUserAction = validatedAction(
  'users:manage',
  deleteUserSchema,
  async (data, { actor }) => {
    deleteUser(actor, data.id);
    revalidatePath('/users');
    return { ok: true, message: 'Account deleted.' };
  },
  { name: 'account.delete' },
);

export const removeOtpUserAction = validatedAction(
  'users:manage',
  z.object({}),
  async (_data, { actor }) => {
    removeOtpUser(actor);
    revalidatePath('/users');
    return { ok: true, message: 'The OTP User was removed.' };
  },
  { name: 'account.otp.remove' },
);

export const changeRoleAction = validatedAction(
  'users:manage',
  changeRoleSchema,
  async (data, { actor }) => {
    const r = changeRole(actor, data.id, data.role);
    revalidatePath('/users');
    return {
      ok: true,
      message: r.changed
        ? `"${r.username}" now has the ${ROLE_LABELS[data.role]} role. ${sessionsWords(r.sessionsEnded)}`
        : `"${r.username}" already has the ${ROLE_LABELS[data.role]} role; nothing changed.`,
    };
  },
  { name: 'user.role.change' },
);

export const resetPasswordAction = validatedAction(
  'users:manage',
  resetPasswordSchema,
  async (data, { actor }) => {
    const r = await resetPassword(actor, data.id, data.password);
    revalidatePath('/users');
    return { ok: true, message: `The password of "${r.username}" was reset. ${sessionsWords(r.sessionsEnded)} Give them the new password in person.` };
  },
  { name: 'user.password.reset' },
);

export const setDisabledAction = validatedAction(
  'users:manage',
  setDisabledSchema,
  async (data, { actor }) => {
    const r = setDisabled(actor, data.id, data.disabled);
    revalidatePath('/users');
    if (!r.changed) return { ok: true, message: `"${r.username}" is already ${data.disabled ? 'disabled' : 'enabled'}; nothing changed.` };
    return {
      ok: true,
      message: data.disabled ? `"${r.username}" is disabled and cannot sign in. ${sessionsWords(r.sessionsEnded)}` : `"${r.username}" is enabled and can sign in again.`,
    };
  },
  { name: 'user.state.change' },
);

function sessionsWords(n: number): string {
  return n === 0 ? 'They had no open session.' : n === 1 ? 'Their open session was ended.' : `Their ${n} open sessions were ended.`;
}
