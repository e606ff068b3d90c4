import { z } from 'zod';
import { keyProblem, normalizeFolder } from './object-key';

/**
 * Where an S3 store is and how to sign in to it: checked at the boundary
 * (a form, the API, a stored setting being loaded) before anything connects.
 * Messages are per field. Works with any S3-compatible gateway (Ceph RADOS
 * Gateway, MinIO, AWS): requests are path-style (http://host/bucket/key), so
 * the endpoint needs no wildcard DNS name.
 *
 * The output holds the secret key: never log it, never return it.
 */

/** http(s)://host[:port], no user, path, query or fragment; returned as the URL's origin (no trailing "/"). */
export const s3EndpointSchema = z
  .string({ error: 'Enter the S3 endpoint, for example https://s3.example.net.' })
  .trim()
  .min(1, 'Enter the S3 endpoint, for example https://s3.example.net.')
  .transform((s, ctx) => {
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'The S3 endpoint is not a URL; write it as https://host or https://host:port.' });
      return z.NEVER;
    }
    const problem =
      url.protocol !== 'http:' && url.protocol !== 'https:'
        ? 'The S3 endpoint must start with https:// or http://.'
        : url.username || url.password
          ? 'The S3 endpoint cannot contain a user name or password; enter the access key and secret in their own fields.'
          : url.pathname !== '/' || url.search || url.hash || s.includes('?') || s.includes('#')
            ? 'The S3 endpoint is only the address of the gateway (https://host:port), without a path; the bucket and folder have their own fields.'
            : null;
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    return url.origin;
  });

/** AWS region names, or a gateway's own ("default", "us-east-1" for most S3-compatible stores). */
export const s3RegionSchema = z
  .string({ error: 'Enter the region.' })
  .trim()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/i, 'A region is letters, digits and "-" (for example us-east-1; most S3-compatible gateways accept any).');

/**
 * S3's bucket names: 3 to 63 letters, digits, ".", "-", starting and ending
 * with a letter or digit, not an IP address. Upper-case letters and "_" are
 * accepted because older buckets may have them and path-style requests allow it.
 */
export const s3BucketSchema = z
  .string({ error: 'Enter the bucket name.' })
  .trim()
  .min(1, 'Enter the bucket name.')
  .superRefine((b, ctx) => {
    const problem =
      b.length < 3 || b.length > 63
        ? 'A bucket name has 3 to 63 characters.'
        : !/^[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]$/.test(b)
          ? 'A bucket name is letters, digits, ".", "-" and "_", and starts and ends with a letter or digit.'
          : b.includes('..')
            ? 'A bucket name cannot contain "..".'
            : /^\d+\.\d+\.\d+\.\d+$/.test(b)
              ? 'A bucket name cannot be an IP address.'
              : null;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** The folder inside the bucket every object goes under; "" or missing: the top of the bucket. Slashes at the ends are dropped. */
export const s3FolderSchema = z
  .string({ error: 'The folder must be text.' })
  .default('')
  .transform(normalizeFolder)
  .superRefine((f, ctx) => {
    const problem = keyProblem(f, 'folder');
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
    else if (Buffer.byteLength(f, 'utf8') > 512) ctx.addIssue({ code: 'custom', message: 'The folder is longer than 512 bytes.' });
  });

export const s3AccessKeyIdSchema = z
  .string({ error: 'Enter the access key.' })
  .trim()
  .min(1, 'Enter the access key.')
  .max(128, 'The access key is longer than 128 characters.')
  .regex(/^[\x21-\x7e]+$/, 'The access key is letters, digits and punctuation, without spaces.');

/** Not trimmed (a secret is used as given); printable ASCII, as every S3 gateway issues them. */
export const s3SecretAccessKeySchema = z
  .string({ error: 'Enter the secret key.' })
  .min(1, 'Enter the secret key.')
  .max(256, 'The secret key is longer than 256 characters.')
  .regex(/^[\x21-\x7e]+$/, 'The secret key is letters, digits and punctuation, without spaces.');

export const s3ConfigSchema = z.object({
  endpoint: s3EndpointSchema,
  region: s3RegionSchema.default('us-east-1'),
  bucket: s3BucketSchema,
  folder: s3FolderSchema,
  accessKeyId: s3AccessKeyIdSchema,
  secretAccessKey: s3SecretAccessKeySchema,
  /** How long to wait for the TCP (and TLS) connection to the gateway. */
  connectTimeoutMs: z.number().int().min(100).max(120_000).default(5_000),
  /** How long a request may see no traffic at all (no bytes sent or received) before it fails. */
  idleTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
});

/** What a form or a stored setting gives (defaults not applied yet). */
export type S3ConfigInput = z.input<typeof s3ConfigSchema>;
/** A checked configuration: what S3Store takes. Holds the secret key. */
export type S3Config = z.output<typeof s3ConfigSchema>;
