import { z } from 'zod';
import { OAUTH_ROLES } from './roles';

/**
 * Input schemas for API tokens: one place, used by the Tokens page's
 * actions, the /api/tokens routes and the bearer check alike.
 */

/** A token is "wct_" and 32 random bytes in base64url (43 characters, no padding). */
export const API_TOKEN_PREFIX = 'wct_';
export const apiTokenSchema = z.string().regex(/^wct_[A-Za-z0-9_-]{43}$/, 'An API token is "wct_" followed by 43 letters, digits, "-" or "_".');

export const tokenNameSchema = z
  .string({ error: 'Enter a name for the token.' })
  .trim()
  .min(1, 'Enter a name for the token.')
  .max(64, 'A token name has at most 64 characters.')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'Use letters, digits, dot, dash or underscore, starting with a letter or digit.');

export const issueTokenSchema = z.object({
  name: tokenNameSchema,
  role: z.enum(OAUTH_ROLES, { error: 'Choose a role: admin, operator or support.' }),
});

export const tokenIdSchema = z.object({
  id: z.coerce.number({ error: 'Unknown token.' }).int('Unknown token.').positive('Unknown token.'),
});

export type IssueTokenInput = z.infer<typeof issueTokenSchema>;
