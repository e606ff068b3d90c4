import { z } from 'zod';
import { credentialFields, fingerprintSchema, hostSchema, keyTypeSchema, portSchema, toCredentials, userSchema, type SshCredentials } from '../ssh/schemas';
import { DEFAULT_SSH_PORT } from '../ssh/fields';
import { checkPath, parseRemoteUrl, RemoteUrlError, type RemoteLocation } from './remote-url';

/** The SSH login fields (lib/ssh/schemas.ts), part of this domain's inputs too. */
export { fingerprintSchema, hostSchema, keyTypeSchema, portSchema, userSchema };

/**
 * The inputs of the restore sources, checked at the boundary (forms, the API,
 * the CLI) before anything connects. Messages are per field: host, port,
 * user, path, url, and for credentials: "credentials" (neither or both of a
 * password and a key), "privateKey" (not a readable private key) and
 * "passphrase" (missing or wrong for an encrypted key). Server-only: the key
 * check reads keys with ssh2 (client components import only its types).
 */

export const remotePathSchema = z
  .string({ error: 'Enter the path of the backup file on the host.' })
  .transform((p) => p.replace(/^[ \t]+|[ \t]+$/g, ''))
  .superRefine((p, ctx) => {
    const problem = checkPath(p);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const remoteProtocolSchema = z.enum(['sftp', 'scp'], { error: 'Choose SFTP or SCP.' });

export type RemoteCredentials = SshCredentials;

/** A remote file and how to log in: what fetchRemoteFile takes. Holds secrets: never log it, never return it. */
export type RemoteSource = RemoteLocation & { credentials: RemoteCredentials };

const MAX_SECRET = 64 * 1024;

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
