import { z } from 'zod';
import { parseX25519Recipient } from '../age';
import { cronProblem, validTimezone } from '../backup/schemas';
import { commandSchema, deviceModelIdSchema } from '../devices/schemas';
import { s3AccessKeyIdSchema, s3BucketSchema, s3EndpointSchema, s3FolderSchema, s3RegionSchema, s3SecretAccessKeySchema } from '../s3/schemas';
import { credentialFields, fingerprintSchema, hostSchema, portSchema, userSchema } from '../ssh/schemas';

/**
 * The managed devices' boundaries: the organisation backup configuration as
 * stored (settings key "fleet-backup") and as the API takes it, and the
 * device inventory's inputs. Secrets (the S3 secret key, device passwords and
 * keys) are sealed before they are stored and never come back out.
 */

export const DEFAULT_RETENTION = 5;
export const DEFAULT_CRON = '0 2 * * *';

/** Device names: unique, 1..64 letters, digits, ".", "_", "-" (they become part of object names). */
export const deviceNameSchema = z
  .string({ error: 'Enter the device name.' })
  .trim()
  .min(1, 'Enter the device name.')
  .max(64, 'A device name has at most 64 characters.')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'A device name is letters, digits, ".", "_" and "-", starting with a letter or digit.')
  .refine((n) => !n.includes('..'), 'A device name cannot contain "..".');

/** An age X25519 recipient ("age1..."), checked by lib/age; kept in its canonical spelling. */
export const recipientSchema = z
  .string({ error: 'Enter the age recipient (age1...).' })
  .trim()
  .min(1, 'Enter the age recipient (age1...).')
  .max(200, 'An age recipient has about 62 characters.')
  .transform((r, ctx) => {
    try {
      return parseX25519Recipient(r).toString();
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `Not an age X25519 recipient: ${(err as Error).message}` });
      return z.NEVER;
    }
  });

export const fleetScheduleSchema = z
  .object({
    cron: z.string({ error: 'Enter a cron expression.' }).trim().min(1, 'Enter a cron expression.').max(100, 'A cron expression has at most 100 characters.'),
    timezone: z
      .string({ error: 'Choose a time zone.' })
      .trim()
      .min(1, 'Choose a time zone.')
      .max(64, 'At most 64 characters.')
      .refine(validTimezone, 'Unknown time zone. Use an IANA name such as UTC or Europe/Berlin.'),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (!validTimezone(v.timezone)) return;
    const problem = cronProblem(v.cron, v.timezone);
    if (problem) ctx.addIssue({ code: 'custom', path: ['cron'], message: `Not a valid cron expression: ${problem}.` });
  });

export const retentionSchema = z
  .number({ error: 'Retention is a whole number of backups from 1 to 100.' })
  .int('Retention is a whole number of backups from 1 to 100.')
  .min(1, 'Retention is a whole number of backups from 1 to 100 (the newest good backup is always kept).')
  .max(100, 'Retention is a whole number of backups from 1 to 100.');

/** As stored in the settings table (the S3 secret sealed under purpose "fleet-s3-secret"). */
export const storedFleetConfigSchema = z.object({
  enabled: z.boolean(),
  storage: z
    .discriminatedUnion('kind', [
      z.object({
        kind: z.literal('s3'),
        endpoint: z.string(),
        region: z.string(),
        bucket: z.string(),
        folder: z.string(),
        accessKeyId: z.string(),
        secretSealed: z.string(),
      }),
      z.object({ kind: z.literal('console') }),
    ])
    .nullable(),
  schedule: z.object({ cron: z.string(), timezone: z.string() }),
  recipient: z.string().nullable(),
  retention: z.number().int().min(1),
  createdAt: z.string(),
  updatedAt: z.string(),
  updatedBy: z.string(),
});
export type StoredFleetConfig = z.infer<typeof storedFleetConfigSchema>;

export const s3StorageInputSchema = z
  .object({
    kind: z.literal('s3'),
    endpoint: s3EndpointSchema,
    region: s3RegionSchema.default('us-east-1'),
    bucket: s3BucketSchema,
    folder: s3FolderSchema,
    accessKeyId: s3AccessKeyIdSchema,
    /** Omitted: keep the stored one. */
    secretKey: s3SecretAccessKeySchema.optional(),
  })
  .strict();

export const fleetStorageInputSchema = z.discriminatedUnion(
  'kind',
  [s3StorageInputSchema, z.object({ kind: z.literal('console') }).strict()],
  { error: 'Choose the storage: "s3" (an S3-compatible bucket) or "console" (the console\'s own backup storage).' },
);

/** PUT /api/fleet/config. */
export const fleetConfigInputSchema = z
  .object({
    enabled: z.boolean({ error: 'enabled must be true or false.' }).optional(),
    storage: fleetStorageInputSchema.optional(),
    schedule: fleetScheduleSchema.optional(),
    retention: retentionSchema.optional(),
  })
  .strict();
export type FleetConfigInput = z.infer<typeof fleetConfigInputSchema>;

const ONE_KEY = 'Give either a recipient (age1...) or generate: true.';

/** PUT /api/fleet/encryption-key: { recipient } or { generate: true }. */
export const orgKeyInputSchema = z
  .object({ recipient: recipientSchema.optional(), generate: z.literal(true, { error: 'generate must be true.' }).optional() })
  .strict()
  .refine((v) => (v.recipient === undefined) !== (v.generate === undefined), ONE_KEY);

/** PUT /api/devices/[name]/encryption-key: a recipient, a new one generated, or null (back to the organisation key). */
export const deviceKeyInputSchema = z
  .object({ recipient: recipientSchema.nullable().optional(), generate: z.literal(true, { error: 'generate must be true.' }).optional() })
  .strict()
  .refine((v) => (v.recipient === undefined) !== (v.generate === undefined), ONE_KEY);

const optionalCommand = z
  .string()
  .nullish()
  .transform((v) => (v === undefined || v === null || v.trim() === '' ? null : v))
  .pipe(commandSchema.nullable());

/** POST /api/devices. */
export const deviceAddSchema = z
  .object({
    name: deviceNameSchema,
    host: hostSchema,
    port: portSchema.default(22),
    username: userSchema,
    ...credentialFields,
    model: deviceModelIdSchema,
    exportCommand: optionalCommand,
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.model === 'generic' && !v.exportCommand) ctx.addIssue({ code: 'custom', path: ['exportCommand'], message: 'A generic device needs the command that prints its configuration.' });
    // Told at the field the form shows (a key was being given if the body has one), with the other fields' problems.
    if (!v.password && !v.privateKey?.trim()) {
      ctx.addIssue(
        v.privateKey !== undefined
          ? { code: 'custom', path: ['privateKey'], message: 'Paste the private key (PEM or OpenSSH format), or log in with a password.' }
          : { code: 'custom', path: ['password'], message: 'Enter the SSH password, or log in with a private key.' },
      );
    }
  });
export type DeviceAddInput = z.input<typeof deviceAddSchema>;

/** PATCH /api/devices/[name]: only what is given changes; a new password or key replaces the stored credentials. */
export const deviceChangeSchema = z
  .object({
    host: hostSchema.optional(),
    port: portSchema.optional(),
    username: userSchema.optional(),
    ...credentialFields,
    model: deviceModelIdSchema.optional(),
    exportCommand: optionalCommand.optional(),
  })
  .strict();
export type DeviceChangeInput = z.input<typeof deviceChangeSchema>;

export const pinInputSchema = z.object({ fingerprint: fingerprintSchema }).strict();
export const backupToggleSchema = z.object({ enabled: z.boolean({ error: 'enabled must be true or false.' }) }).strict();
export const runInputSchema = z
  .object({ devices: z.array(deviceNameSchema).min(1, 'Name at least one device, or leave the list out for all.').max(10_000).optional() })
  .strict();
