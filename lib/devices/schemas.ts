import { z } from 'zod';
import { DEFAULT_SSH_PORT } from '../ssh/fields';
import { credentialFields, fingerprintSchema, hostSchema, keyTypeSchema, portSchema, toCredentials, userSchema, type SshCredentials } from '../ssh/schemas';
import { DeviceError } from './errors';

/**
 * The inputs of lib/devices, checked before anything connects: how to reach
 * a device and log in, which model it is (and so which command exports its
 * configuration), and how a fleet run behaves. Plain objects in, so the
 * console's forms, its API and its scheduler can all hand them over; the
 * console's database and UI are not known here. Messages are per field.
 */

const MiB = 1024 * 1024;

/** Empty form fields count as not given. */
const blank = (v: string | null | undefined) => v === undefined || v === null || v.trim() === '';

function millis(what: string, min: number, max: number, dflt: number) {
  const message = `${what} is a number of milliseconds from ${min} to ${max}.`;
  return z.coerce.number({ error: message }).int(message).min(min, message).max(max, message).default(dflt);
}

/**
 * How to reach one device and log in. `hostKeyFingerprint` is the pinned key
 * ("SHA256:…", as `ssh-keygen -lf` prints it); null or absent is probe mode:
 * the device is only asked for its host key, nothing is authenticated and no
 * command runs. Holds secrets: never log it, never return it.
 */
export const deviceConnectionSchema = z
  .object({
    host: hostSchema,
    port: portSchema.default(DEFAULT_SSH_PORT),
    username: userSchema,
    ...credentialFields,
    hostKeyFingerprint: z
      .string()
      .nullish()
      .transform((v) => (blank(v) ? null : v!))
      .pipe(fingerprintSchema.nullable()),
    /** The pinned key's type (ssh-ed25519, …): offered first, so a device with several keys presents the pinned one. */
    hostKeyType: z
      .string()
      .optional()
      .transform((v) => (blank(v) ? undefined : v))
      .pipe(keyTypeSchema.optional()),
    /** TCP connect, SSH handshake and login. */
    connectTimeoutMs: millis('The connect timeout', 500, 600_000, 20_000),
    /** From the command's start to its exit status, for each command. */
    commandTimeoutMs: millis('The command time limit', 500, 3_600_000, 120_000),
    keepaliveIntervalMs: millis('The keepalive interval', 500, 600_000, 10_000),
    keepaliveCountMax: z.coerce
      .number({ error: 'The number of unanswered keepalives is a whole number from 1 to 100.' })
      .int('The number of unanswered keepalives is a whole number from 1 to 100.')
      .min(1, 'The number of unanswered keepalives is a whole number from 1 to 100.')
      .max(100, 'The number of unanswered keepalives is a whole number from 1 to 100.')
      .default(3),
    maxOutputBytes: z.coerce
      .number({ error: 'The output limit is a number of bytes from 1 to 1 GiB.' })
      .int('The output limit is a number of bytes from 1 to 1 GiB.')
      .min(1, 'The output limit is a number of bytes from 1 to 1 GiB.')
      .max(1024 * MiB, 'The output limit is a number of bytes from 1 to 1 GiB.')
      .default(64 * MiB),
  })
  .transform((v, ctx): DeviceConnection => {
    const credentials = toCredentials(v, ctx) as SshCredentials;
    return {
      host: v.host,
      port: v.port,
      username: v.username,
      credentials,
      hostKey: v.hostKeyFingerprint ? { fingerprint: v.hostKeyFingerprint, keyType: v.hostKeyType } : null,
      limits: {
        connectTimeoutMs: v.connectTimeoutMs,
        commandTimeoutMs: v.commandTimeoutMs,
        keepaliveIntervalMs: v.keepaliveIntervalMs,
        keepaliveCountMax: v.keepaliveCountMax,
        maxOutputBytes: v.maxOutputBytes,
      },
    };
  });

export type DeviceConnectionInput = z.input<typeof deviceConnectionSchema>;

export type DeviceLimits = {
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  maxOutputBytes: number;
};

export type DeviceConnection = {
  host: string;
  port: number;
  username: string;
  credentials: SshCredentials;
  /** Null: probe mode. */
  hostKey: { fingerprint: string; keyType?: string } | null;
  limits: DeviceLimits;
};

/** One line, as a shell or a device CLI takes it. */
export const commandSchema = z
  .string({ error: 'Enter the command that prints the configuration.' })
  .trim()
  .min(1, 'Enter the command that prints the configuration.')
  .max(4096, 'The command has at most 4096 characters.')
  // eslint-disable-next-line no-control-regex
  .refine((c) => !/[\u0000-\u001f\u007f]/.test(c), 'The command must be one line, without control characters.');

export const deviceModelIdSchema = z.enum(['opnsense', 'cisco-ios', 'generic'], { error: 'Choose the device model: OPNsense, Cisco IOS or Generic.' });
export type DeviceModelId = z.infer<typeof deviceModelIdSchema>;

const optionalCommand = z
  .string()
  .optional()
  .transform((v) => (blank(v) ? undefined : v))
  .pipe(commandSchema.optional());

/**
 * Which model a device is, and the device's own export command where it
 * differs from the model's (the inventory keeps it per device). Generic has no
 * command of its own: the admin gives it, and optionally one that prints the
 * firmware version.
 */
export const deviceModelSchema = z.discriminatedUnion(
  'model',
  [
    z.object({ model: z.literal('opnsense'), command: optionalCommand }),
    z.object({ model: z.literal('cisco-ios'), command: optionalCommand }),
    z.object({
      model: z.literal('generic'),
      command: commandSchema,
      firmwareCommand: optionalCommand,
    }),
  ],
  { error: 'Choose the device model: OPNsense, Cisco IOS or Generic.' },
);

export type DeviceModelInput = z.input<typeof deviceModelSchema>;
export type DeviceModelSpec = z.output<typeof deviceModelSchema>;

/** How a fleet run behaves (pool.ts). */
export const poolOptionsSchema = z.object({
  /** At most this many SSH sessions at once. */
  concurrency: z.coerce
    .number({ error: 'The number of concurrent sessions is a whole number from 1 to 256.' })
    .int('The number of concurrent sessions is a whole number from 1 to 256.')
    .min(1, 'The number of concurrent sessions is a whole number from 1 to 256.')
    .max(256, 'The number of concurrent sessions is a whole number from 1 to 256.')
    .default(16),
  /** Tries per device, the first one included; only transient failures are tried again. */
  attempts: z.coerce
    .number({ error: 'The number of attempts is a whole number from 1 to 10.' })
    .int('The number of attempts is a whole number from 1 to 10.')
    .min(1, 'The number of attempts is a whole number from 1 to 10.')
    .max(10, 'The number of attempts is a whole number from 1 to 10.')
    .default(3),
  /** The wait before the first retry; doubled for each next one, up to backoffMaxMs; each wait is stretched by a random 0–100 % (jitter). */
  backoffBaseMs: millis('The first back-off', 0, 600_000, 1000),
  backoffMaxMs: millis('The longest back-off', 0, 3_600_000, 30_000),
  /** The watchdog: an attempt still running this long after it started is ended and its session destroyed. Default: from the device's own limits. */
  deadlineMs: z.coerce
    .number({ error: 'The watchdog deadline is a number of milliseconds from 100 to 86400000.' })
    .int('The watchdog deadline is a number of milliseconds from 100 to 86400000.')
    .min(100, 'The watchdog deadline is a number of milliseconds from 100 to 86400000.')
    .max(86_400_000, 'The watchdog deadline is a number of milliseconds from 100 to 86400000.')
    .optional(),
  /** After the watchdog fired, how long an attempt that ignores it may still hold its slot. */
  abandonAfterMs: millis('The grace after the deadline', 0, 600_000, 5000),
});

export type PoolOptionsInput = z.input<typeof poolOptionsSchema>;
export type PoolSettings = z.output<typeof poolOptionsSchema>;

/** Parses or throws the first problem as a DeviceError (invalid_input, or bad_private_key), naming its field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, prefix?: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.map(String).join('.') || undefined;
  const keyField = field === 'privateKey' || field === 'passphrase';
  throw new DeviceError(keyField ? 'bad_private_key' : 'invalid_input', issue.message, { field: prefix && field ? `${prefix}.${field}` : (field ?? prefix) });
}
