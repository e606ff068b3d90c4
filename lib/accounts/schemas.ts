import { z } from 'zod';
import { OAUTH_ROLES } from '../auth/roles';

/** Input schemas for accounts: one place, used by forms, actions and routes alike. */
export const usernameSchema = z
  .string({ error: 'Enter a username.' })
  .trim()
  .min(1, 'Enter a username.')
  .max(32, 'A username has at most 32 characters.')
  .regex(/^[a-z][a-z0-9._-]*$/, 'Use lower-case letters, digits, dot, dash or underscore, starting with a letter.')
  .min(3, 'A username has at least 3 characters.');

export const newPasswordSchema = z
  .string({ error: 'Enter a password.' })
  .min(1, 'Enter a password.')
  .min(12, 'A password has at least 12 characters.')
  .max(128, 'A password has at most 128 characters.');

export const createUserSchema = z
  .object({
    username: usernameSchema,
    displayName: z.string().trim().max(64, 'A display name has at most 64 characters.').optional().default(''),
    role: z.enum(OAUTH_ROLES, { error: 'Choose a role: admin, operator or support.' }),
    password: newPasswordSchema,
    confirmPassword: z.string({ error: 'Repeat the password.' }).min(1, 'Repeat the password.'),
  })
  .refine((v) => v.password === v.confirmPassword, { path: ['confirmPassword'], message: 'The passwords do not match.' });

export const deleteUserSchema = z.object({
  id: z.coerce.number({ error: 'Unknown user.' }).int('Unknown user.').positive('Unknown user.'),
});

export const signInSchema = z.object({
  username: z
    .string({ error: 'Enter your username.' })
    .trim()
    .min(1, 'Enter your username.')
    .max(64, 'A username has at most 64 characters.')
    // Every account that has a password matches this; anything else cannot be a username.
    .regex(/^[a-z0-9._-]*$/, 'A username has lower-case letters, digits, dot, dash or underscore only.'),
  password: z.string({ error: 'Enter your password.' }).min(1, 'Enter your password.').max(128, 'A password has at most 128 characters.'),
});

export type CreateUserInput = z.infer<typeof createUserSchema>;
