'use server';
import { revalidatePath } from 'next/cache';
import { saveOidcConfig } from '@/lib/oidc/config';
import { oidcFormSchema } from '@/lib/oidc/schemas';
import { validatedAction } from '@/lib/auth/validated-action';

export const saveOidcAction = validatedAction(
  'auth:configure',
  oidcFormSchema,
  async (data, { actor }) => {
    saveOidcConfig(actor, data);
    revalidatePath('/settings/sign-in');
    return { ok: true, message: 'OpenID Connect settings saved.' };
  },
  { name: 'auth.oidc.configure' },
);
