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

/** An account id from a form's hidden field or a route's segment. */
const userIdSchema = z.coerce.number({ error: 'Unknown user.' }).int('Unknown user.').positive('Unknown user.');

export const changeRoleSchema = z.object({
  id: userIdSchema,
  role: z.enum(OAUTH_ROLES, { error: 'Choose a role: admin, operator or support.' }),
});

export const resetPasswordSchema = z
  .object({
    id: userIdSchema,
    password: newPasswordSchema,
    confirmPassword: z.string({ error: 'Repeat the password.' }).min(1, 'Repeat the password.'),
  })
  .refine((v) => v.password === v.confirmPassword, { path: ['confirmPassword'], message: 'The passwords do not match.' });

/** "disabled" is the state asked for: "true" disables, "false" enables (a form's hidden field, or JSON's boolean). */
export const setDisabledSchema = z.object({
  id: userIdSchema,
  disabled: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], { error: 'Say whether to disable or enable the account.' }),
});

/** The account route's PATCH body: exactly one change per request (each is audited and ends the sessions on its own). */
export const patchUserSchema = z
  .object({
    role: changeRoleSchema.shape.role.optional(),
    disabled: z.boolean({ error: 'disabled is true or false.' }).optional(),
    password: newPasswordSchema.optional(),
    confirmPassword: z.string({ error: 'Repeat the password.' }).optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    const changes = [v.role !== undefined, v.disabled !== undefined, v.password !== undefined].filter(Boolean).length;
    if (changes !== 1) ctx.addIssue({ code: 'custom', path: [], message: 'Send one change: a role, disabled (true or false), or a password with confirmPassword.' });
    if (v.password !== undefined && v.password !== v.confirmPassword) ctx.addIssue({ code: 'custom', path: ['confirmPassword'], message: 'The passwords do not match.' });
  });

export const changeOwnPasswordSchema = z
  .object({
    currentPassword: z.string({ error: 'Enter your current password.' }).min(1, 'Enter your current password.').max(128, 'A password has at most 128 characters.'),
    password: newPasswordSchema,
    confirmPassword: z.string({ error: 'Repeat the new password.' }).min(1, 'Repeat the new password.'),
  })
  .refine((v) => v.password === v.confirmPassword, { path: ['confirmPassword'], message: 'The passwords do not match.' })
  .refine((v) => v.password !== v.currentPassword, { path: ['password'], message: 'Choose a new password different from the current one.' });

export type ChangeOwnPasswordInput = z.infer<typeof changeOwnPasswordSchema>;
