import { z } from 'zod';

/** Comma- or newline-separated claim values, e.g. "webconf-admins, ops". */
const claimValuesSchema = z
  .string()
  .trim()
  .max(500, 'At most 500 characters.')
  .regex(/^[^<>"]*$/, 'Claim values cannot contain <, > or ".')
  .transform((s) => s.split(/[,\n]/).map((v) => v.trim()).filter(Boolean));

/** The form an admin submits to configure the OpenID Connect provider. */
export const oidcFormSchema = z.object({
  enabled: z
    .union([z.literal('on'), z.literal('off'), z.undefined()])
    .transform((v) => v === 'on'),
  displayName: z.string().trim().min(1, 'Enter the name shown on the sign-in button.').max(40, 'At most 40 characters.'),
  issuer: z
    .string()
    .trim()
    .min(1, 'Enter the issuer URL.')
    .max(300, 'At most 300 characters.')
    .regex(/^https?:\/\/[^/]/, 'Enter an http(s) URL, e.g. https://login.example.com/realms/main.')
    .pipe(z.url({ protocol: /^https?$/, error: 'Enter an http(s) URL, e.g. https://login.example.com/realms/main.' }))
    .refine((u) => {
      // The client secret and tokens travel to the issuer: TLS, except to a provider on this machine.
      const url = new URL(u);
      return url.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) || url.hostname.startsWith('127.');
    }, 'Use an https:// issuer URL (plain http only for a provider on this machine).')
    .transform((u) => u.replace(/\/+$/, '')),
  clientId: z.string().trim().min(1, 'Enter the client id.').max(200, 'At most 200 characters.'),
  /** Empty keeps the secret already stored. */
  clientSecret: z.string().max(500, 'At most 500 characters.').optional().default(''),
  roleClaim: z
    .string()
    .trim()
    .min(1, 'Enter the claim that carries the role, e.g. groups.')
    .max(100, 'At most 100 characters.')
    .regex(/^[A-Za-z0-9_.:/-]+$/, 'A claim name has letters, digits and _ . : / - only.'),
  adminValues: claimValuesSchema,
  operatorValues: claimValuesSchema,
  supportValues: claimValuesSchema,
});

/** What is stored (settings key "oidc"): the client secret only sealed. */
export const oidcConfigSchema = z.object({
  enabled: z.boolean(),
  displayName: z.string(),
  issuer: z.string(),
  clientId: z.string(),
  clientSecretSealed: z.string(),
  roleClaim: z.string(),
  roleMapping: z.object({ admin: z.array(z.string()), operator: z.array(z.string()), support: z.array(z.string()) }),
});

export type OidcForm = z.infer<typeof oidcFormSchema>;
export type OidcConfig = z.infer<typeof oidcConfigSchema>;
