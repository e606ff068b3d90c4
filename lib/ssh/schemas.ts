import { z } from 'zod';
import { checkHost, checkUser, normalizeHost } from './fields';
import { normalizeFingerprint } from './host-key';
import { isKeyProblem, usablePrivateKey } from './private-key';

/**
 * The fields of an SSH login, checked at the boundary before anything
 * connects; each domain's schemas (lib/sources, lib/devices) build on them.
 * Messages are per field: host, port, user, and for credentials:
 * "credentials" (neither or both of a password and a key), "privateKey" (not
 * a readable private key) and "passphrase" (missing or wrong for an
 * encrypted key). Server-only: the key check reads keys with ssh2.
 */

export const hostSchema = z
  .string({ error: 'Enter the host name or address.' })
  .trim()
  .transform((h) => h.replace(/^\[(.*)\]$/, '$1'))
  .superRefine((h, ctx) => {
    const problem = checkHost(h);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .transform(normalizeHost);

export const portSchema = z.coerce
  .number({ error: 'The port must be a number from 1 to 65535.' })
  .int('The port must be a number from 1 to 65535.')
  .min(1, 'The port must be a number from 1 to 65535.')
  .max(65535, 'The port must be a number from 1 to 65535.');

export const userSchema = z
  .string({ error: 'Enter the user name to log in as.' })
  .trim()
  .superRefine((u, ctx) => {
    const problem = checkUser(u);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** "SHA256:" + 43 base64 characters, as `ssh-keygen -lf` prints it; accepted with or without "SHA256:" and padding. */
export const fingerprintSchema = z
  .string({ error: 'Enter the host key fingerprint (SHA256:…, as ssh-keygen -lf prints it).' })
  .transform((f, ctx) => {
    const n = normalizeFingerprint(f);
    if (!n) {
      ctx.addIssue({ code: 'custom', message: 'A host key fingerprint is written SHA256: and 43 letters, digits, + or /, as ssh-keygen -lf prints it.' });
      return z.NEVER;
    }
    return n;
  });

export const keyTypeSchema = z
  .string({ error: 'The key type is missing.' })
  .regex(/^[a-z0-9][a-z0-9@.-]{0,63}$/, 'The key type is not an SSH key type (ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa, …).');

/** How to log in. Holds secrets: never log it, never return it. */
export type SshCredentials = { password: string } | { privateKey: string; passphrase?: string };

const MAX_SECRET = 64 * 1024;

/** The credential fields of a form or API body; toCredentials makes them one SshCredentials. */
export const credentialFields = {
  /** Never trimmed: spaces are part of a password. */
  password: z.string().max(1024, 'The password has at most 1024 characters.').optional(),
  privateKey: z.string().max(MAX_SECRET, 'The private key is too long to be an SSH key.').optional(),
  passphrase: z.string().max(1024, 'The passphrase has at most 1024 characters.').optional(),
};

type CredentialFields = { password?: string; privateKey?: string; passphrase?: string };

/**
 * Exactly one of a password and a private key; a key must be readable (with
 * its passphrase, if it has one), and comes out in a form ssh2 reads (private-key.ts).
 * For use in a zod transform: adds the issue and returns z.NEVER when the fields do not fit.
 */
export function toCredentials(v: CredentialFields, ctx: z.RefinementCtx): SshCredentials | typeof z.NEVER {
  const password = v.password === '' ? undefined : v.password;
  const privateKey = v.privateKey?.trim() ? v.privateKey : undefined;
  const passphrase = v.passphrase === '' ? undefined : v.passphrase;
  if (password !== undefined && privateKey !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['credentials'], message: 'Give either a password or a private key, not both.' });
    return z.NEVER;
  }
  if (password === undefined && privateKey === undefined) {
    ctx.addIssue({ code: 'custom', path: ['credentials'], message: 'Enter the password, or paste a private key (PEM or OpenSSH format).' });
    return z.NEVER;
  }
  if (password !== undefined) return { password };
  const usable = usablePrivateKey(privateKey!, passphrase);
  if (isKeyProblem(usable)) {
    ctx.addIssue({ code: 'custom', path: [usable.field], message: usable.message });
    return z.NEVER;
  }
  return usable;
}
