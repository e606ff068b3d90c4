'use server';
import { revalidatePath } from 'next/cache';
import { issueToken, revokeToken } from '@/lib/auth/api-tokens';
import { issueTokenSchema, tokenIdSchema } from '@/lib/auth/schemas';
import { validatedAction } from '@/lib/auth/validated-action';

export const issueTokenAction = validatedAction(
  'tokens:manage',
  issueTokenSchema,
  async (data, { actor }) => {
    const t = issueToken(actor, data);
    revalidatePath('/settings/tokens');
    return { ok: true, message: `Token "${t.name}" (${t.role}) issued.`, secret: t.token };
  },
  { name: 'token.issue' },
);

export const revokeTokenAction = validatedAction(
  'tokens:manage',
  tokenIdSchema,
  async (data, { actor }) => {
    const t = revokeToken(actor, data.id);
    revalidatePath('/settings/tokens');
    return { ok: true, message: `Token "${t.name}" revoked. Requests with it are refused from now on.` };
  },
  { name: 'token.revoke' },
);
