import { z } from 'zod';
import { normalizeFingerprint } from './host-key';
import { isKeyProblem, usablePrivateKey } from './private-key';
import {
  checkHost,
  checkPath,
  checkUser,
  DEFAULT_SSH_PORT,
  normalizeHost,
  parseRemoteUrl,
  RemoteUrlError,
  type RemoteLocation,
} from './remote-url';

/**
 * The inputs of the restore sources, checked at the boundary (forms, the API,
 * the CLI) before anything connects. Messages are per field: host, port,
 * user, path, url, and for credentials: "credentials" (neither or both of a
 * password and a key), "privateKey" (not a readable private key) and
 * "passphrase" (missing or wrong for an encrypted key). Server-only: the key
 * check reads keys with ssh2 (client components import only its types).
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

/** Absolute on the host, or relative to the user's home folder. Not trimmed inside: spaces are valid in file names. */
export const remotePathSchema = z
  .string({ error: 'Enter the path of the backup file on the host.' })
  .transform((p) => p.replace(/^[ \t]+|[ \t]+$/g, ''))
  .superRefine((p, ctx) => {
    const problem = checkPath(p);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const remoteProtocolSchema = z.enum(['sftp', 'scp'], { error: 'Choose SFTP or SCP.' });

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

export type RemoteCredentials = { password: string } | { privateKey: string; passphrase?: string };

/** A remote file and how to log in: what fetchRemoteFile takes. Holds secrets: never log it, never return it. */
export type RemoteSource = RemoteLocation & { credentials: RemoteCredentials };

const MAX_SECRET = 64 * 1024;

const credentialFields = {
  /** Never trimmed: spaces are part of a password. */
  password: z.string().max(1024, 'The password has at most 1024 characters.').optional(),
  privateKey: z.string().max(MAX_SECRET, 'The private key is too long to be an SSH key.').optional(),
  passphrase: z.string().max(1024, 'The passphrase has at most 1024 characters.').optional(),
};

type CredentialFields = { password?: string; privateKey?: string; passphrase?: string };

/**
 * Exactly one of a password and a private key; a key must be readable (with
 * its passphrase, if it has one), and comes out in a form ssh2 reads (private-key.ts).
 */
function toCredentials(v: CredentialFields, ctx: z.RefinementCtx): RemoteCredentials | typeof z.NEVER {
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

/** A remote file given field by field (the console's form, the API). */
export const remoteSourceSchema = z
  .object({
    protocol: remoteProtocolSchema.default('sftp'),
    host: hostSchema,
    port: portSchema.default(DEFAULT_SSH_PORT),
    user: userSchema,
    path: remotePathSchema,
    ...credentialFields,
  })
  .transform((v, ctx): RemoteSource => {
    const credentials = toCredentials(v, ctx);
    return { protocol: v.protocol, host: v.host, port: v.port, user: v.user, path: v.path, credentials: credentials as RemoteCredentials };
  });

export type RemoteSourceInput = z.input<typeof remoteSourceSchema>;

/** sftp://user@host[:port]/path or scp://… (see remote-url.ts); the issue's params.part names the part that is wrong. */
export const remoteUrlSchema = z
  .string({ error: 'Enter the address of the backup file: sftp://user@host/path.' })
  .max(MAX_SECRET, 'The address is too long.')
  .transform((u, ctx): RemoteLocation => {
    try {
      return parseRemoteUrl(u);
    } catch (err) {
      if (!(err instanceof RemoteUrlError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message, params: { part: err.field } });
      return z.NEVER;
    }
  });

/** A remote file given as an address (the CLI: `webconf restore sftp://…`), with the credentials beside it. */
export const remoteUrlSourceSchema = z
  .object({ url: remoteUrlSchema, ...credentialFields })
  .transform((v, ctx): RemoteSource => {
    const credentials = toCredentials(v, ctx);
    return { ...v.url, credentials: credentials as RemoteCredentials };
  });

/** Which host to show the key of. */
export const probeHostKeySchema = z.object({ host: hostSchema, port: portSchema.default(DEFAULT_SSH_PORT) });

/** What an administrator confirmed: this host and port present this key. */
export const pinHostKeySchema = z.object({
  host: hostSchema,
  port: portSchema,
  keyType: keyTypeSchema,
  fingerprint: fingerprintSchema,
});

/**
 * The uploaded file's name from UPLOAD_FILE_NAME_HEADER (percent-encoded UTF-8):
 * for display and the audit only, never a path on the appliance. Folders and
 * control characters are dropped; missing or unreadable: "upload.age".
 */
export const uploadFileNameSchema = z
  .string()
  .optional()
  .transform((raw) => {
    let name = raw ?? '';
    try {
      name = decodeURIComponent(name);
    } catch {
      name = '';
    }
    // eslint-disable-next-line no-control-regex
    name = (name.split(/[/\\]/).pop() ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 255);
    return name === '' || name === '.' || name === '..' ? 'upload.age' : name;
  });
