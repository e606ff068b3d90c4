'use server';
import { revalidatePath } from 'next/cache';
import { z } from 'zod';
import { createLocalUser, deleteUser, removeOtpUser } from '@/lib/accounts/accounts';
import { createUserSchema, deleteUserSchema } from '@/lib/accounts/schemas';
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
