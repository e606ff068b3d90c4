import { z } from 'zod';
import { parseX25519Recipient } from '../age';

/**
 * The command line's boundaries: its arguments, and the console's JSON
 * answers (the contract in the README, "Managed devices: the JSON API").
 * Answers are checked for what the tables need and otherwise kept as they
 * are (--json prints them untouched).
 */

// --- arguments -------------------------------------------------------------

export const deviceNameSchema = z
  .string({ error: 'Name the device with --device NAME.' })
  .min(1, 'Name the device with --device NAME.')
  .max(64, 'A device name has at most 64 characters.')
  .regex(/^[A-Za-z0-9._-]+$/, 'A device name has letters, digits, dot, dash or underscore only.');

export const recipientSchema = z
  .string()
  .trim()
  .refine((s) => {
    try {
      parseX25519Recipient(s);
      return true;
    } catch {
      return false;
    }
  }, 'The recipient is not an age X25519 public key ("age1" and 58 more characters, as age-keygen -y prints it).');

export const consoleUrlSchema = z
  .string({ error: 'Say where the console is: WEBCONF_URL or --url (for example https://webconf.example:8443).' })
  .min(1, 'Say where the console is: WEBCONF_URL or --url (for example https://webconf.example:8443).')
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
    } catch {
      return false;
    }
  }, 'The console URL must be http:// or https://, without a user name or password in it.');

export const connectionSchema = z.object({ url: consoleUrlSchema, token: z.string() });

export const backupCommandSchema = z.discriminatedUnion('command', [
  z.object({ command: z.literal('config show') }),
  z.object({ command: z.literal('status') }),
  z
    .object({
      command: z.literal('encryption-key set'),
      device: deviceNameSchema.optional(),
      recipient: recipientSchema.optional(),
      generate: z.boolean().default(false),
      clear: z.boolean().default(false),
      identityOut: z.string().min(1, 'Name the file for the identity with --identity-out FILE.').optional(),
      json: z.boolean(),
    })
    .superRefine((v, ctx) => {
      const given = [v.recipient !== undefined, v.generate, v.clear].filter(Boolean).length;
      if (given !== 1) ctx.addIssue({ code: 'custom', message: 'Give exactly one of --recipient age1…, --generate, or --clear (with --device).' });
      if (v.clear && !v.device) ctx.addIssue({ code: 'custom', message: '--clear removes a device key (the device goes back to the organisation key): give --device NAME.' });
      if (v.generate && !v.identityOut && !v.json) {
        ctx.addIssue({ code: 'custom', message: 'A generated identity is written to a file, never printed: give --identity-out FILE (or --json to receive it in the JSON).' });
      }
      if (v.identityOut && !v.generate) ctx.addIssue({ code: 'custom', message: '--identity-out goes with --generate.' });
    }),
  z.object({ command: z.enum(['enable', 'disable']), device: deviceNameSchema }),
  z.object({
    command: z.literal('run'),
    devices: z.array(deviceNameSchema).refine((d) => new Set(d).size === d.length, 'A device is named twice.'),
    wait: z.boolean().default(false),
  }),
]);

export type BackupCommand = z.infer<typeof backupCommandSchema>;

// --- the console's answers ---------------------------------------------------

const iso = z.string();

export const apiErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), fields: z.record(z.string(), z.array(z.string())).optional() }),
});

export const fleetConfigSchema = z.object({
  status: z.enum(['enabled', 'disabled']),
  storage: z
    .discriminatedUnion('kind', [
      z.object({ kind: z.literal('s3'), endpoint: z.string(), region: z.string().nullish(), bucket: z.string(), folder: z.string().nullish(), accessKeyId: z.string() }),
      z.object({ kind: z.literal('console') }),
    ])
    .nullable(),
  schedule: z.object({ cron: z.string(), timezone: z.string().nullish() }).nullable(),
  encryptionKey: z.object({ configured: z.boolean(), recipient: z.string().nullable() }),
  retention: z.number().int().nullish(),
  createdAt: iso.nullish(),
  updatedAt: iso.nullish(),
  updatedBy: z.string().nullish(),
});
export type FleetConfigView = z.infer<typeof fleetConfigSchema>;

export const fleetStatusSchema = z.object({
  devices: z.array(
    z.object({
      name: z.string(),
      backup: z.enum(['Enabled', 'Disabled']),
      key: z.enum(['org', 'device', '-']),
      lastBackupAt: iso.nullable(),
      status: z.enum(['SUCCESS', 'FAILED']).nullable(),
      message: z.string().nullable(),
    }),
  ),
  total: z.number().int(),
  enabled: z.number().int(),
});
export type FleetStatusView = z.infer<typeof fleetStatusSchema>;

export const runStartedSchema = z.object({ runId: z.union([z.number(), z.string()]) });

export const RUN_TASK_STATUSES = ['PENDING', 'IN PROGRESS', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export const fleetRunSchema = z.object({
  id: z.union([z.number(), z.string()]),
  status: z.enum(['running', 'succeeded', 'failed', 'partial', 'cancelled']),
  trigger: z.string().nullish(),
  startedAt: iso.nullish(),
  finishedAt: iso.nullish(),
  tasks: z.array(z.object({ device: z.string(), status: z.enum(RUN_TASK_STATUSES), unchanged: z.boolean().nullish(), error: z.string().nullish() })),
});
export type FleetRunView = z.infer<typeof fleetRunSchema>;

export const encryptionKeyAnswerSchema = z.object({ recipient: z.string().nullable().optional(), identity: z.string().optional() });
