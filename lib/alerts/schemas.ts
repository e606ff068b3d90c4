import { z } from 'zod';

/**
 * The alerts domain's boundaries: a channel's settings as an admin enters
 * them, what is stored (without the secret), the reminder setting, and the
 * message handed to the senders.
 */

const hostSchema = z
  .string()
  .trim()
  .min(1, 'Enter the server name or address.')
  .max(253, 'The server name is too long.')
  .regex(/^[A-Za-z0-9.\-:[\]]+$/, 'Enter a host name or an IP address, without a scheme or a port.');
const portSchema = z.coerce.number({ error: 'Enter a port number.' }).int('Enter a whole port number.').min(1, 'Enter a port from 1 to 65535.').max(65535, 'Enter a port from 1 to 65535.');
const pemSchema = z
  .string()
  .trim()
  .max(20_000, 'The certificate is too long.')
  .refine((s) => s === '' || /-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(s), 'Paste a certificate in PEM form (-----BEGIN CERTIFICATE----- …).')
  .transform((s) => (s === '' ? null : s));
const emailAddressSchema = z.string().trim().email('Enter an e-mail address such as backups@example.net.');
const nameSchema = z.string().trim().min(1, 'Give the channel a name.').max(80, 'Keep the name under 80 characters.');

/** E-mail over SMTP: STARTTLS is always required and the login always used; `trustedCa` is an extra CA (PEM) to accept, e.g. a self-signed server's. */
export const emailConfigSchema = z.object({
  host: hostSchema,
  port: portSchema.default(587),
  username: z.string().trim().min(1, 'Enter the SMTP user name.').max(320, 'The user name is too long.'),
  from: emailAddressSchema,
  to: z
    .string()
    .trim()
    .min(1, 'Enter at least one recipient.')
    .transform((s) => s.split(/[,\s]+/).filter(Boolean))
    .pipe(z.array(emailAddressSchema).min(1, 'Enter at least one recipient.').max(20, 'At most 20 recipients.')),
  trustedCa: pemSchema.optional().default(''),
});
export type EmailConfig = z.output<typeof emailConfigSchema>;

export const webhookConfigSchema = z.object({
  url: z
    .string()
    .trim()
    .url('Enter a URL such as https://hooks.example.net/webconf.')
    .refine((u) => /^https?:\/\//i.test(u), 'The URL must start with https:// or http://.'),
  trustedCa: pemSchema.optional().default(''),
});
export type WebhookConfig = z.output<typeof webhookConfigSchema>;

export const SYSLOG_TRANSPORTS = ['udp', 'tcp', 'tls'] as const;
export const syslogConfigSchema = z.object({
  host: hostSchema,
  port: portSchema,
  transport: z.enum(SYSLOG_TRANSPORTS, { error: 'Choose UDP, TCP or TLS.' }),
  trustedCa: pemSchema.optional().default(''),
});
export type SyslogConfig = z.output<typeof syslogConfigSchema>;

const secretSchema = z.string().max(1000, 'The secret is too long.');

/** A channel as an admin submits it. An empty secret on an edit keeps the stored one. */
export const channelInputSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('email'), name: nameSchema, enabled: z.boolean().default(true), config: emailConfigSchema, secret: secretSchema.optional() }),
  z.object({ kind: z.literal('webhook'), name: nameSchema, enabled: z.boolean().default(true), config: webhookConfigSchema, secret: secretSchema.optional() }),
  z.object({ kind: z.literal('syslog'), name: nameSchema, enabled: z.boolean().default(true), config: syslogConfigSchema, secret: z.undefined().optional() }),
]);
export type ChannelInput = z.input<typeof channelInputSchema>;
export type ParsedChannelInput = z.output<typeof channelInputSchema>;

/** What is stored in alert_channels.config, per kind: the parsed form (recipients as a list, no certificate as null). */
const storedCa = z.string().nullable();
export const storedConfigSchemas = {
  email: z.object({ host: z.string(), port: z.number().int(), username: z.string(), from: z.string(), to: z.array(z.string()).min(1), trustedCa: storedCa }),
  webhook: z.object({ url: z.string(), trustedCa: storedCa }),
  syslog: z.object({ host: z.string(), port: z.number().int(), transport: z.enum(SYSLOG_TRANSPORTS), trustedCa: storedCa }),
} as const;

export const reminderSettingSchema = z.object({
  hours: z.coerce
    .number({ error: 'Enter a number of hours.' })
    .int('Enter a whole number of hours.')
    .min(1, 'Remind at least every 1 hour.')
    .max(24 * 30, 'Remind at most every 720 hours (30 days).'),
});
export const DEFAULT_REMINDER_HOURS = 24;

/** A domain event: what happened, where, why in words, what to do. */
export const alertEventSchema = z.object({
  what: z.string().min(1),
  where: z.string().min(1).optional(),
  why: z.string().optional(),
  action: z.string().optional(),
});
export type AlertEvent = z.infer<typeof alertEventSchema>;

export const ALERT_KINDS = ['failure', 'reminder', 'recovery', 'test'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** The message each sender renders (stored in alert_outbox.message as JSON). */
export const alertMessageSchema = z.object({
  kind: z.enum(ALERT_KINDS),
  condition: z.string().nullable(),
  subject: z.string(),
  text: z.string(),
  appliance: z.string(),
  where: z.string(),
  what: z.string(),
  why: z.string().nullable(),
  action: z.string().nullable(),
  /** ISO time of the event. */
  at: z.string(),
  /** ISO time the condition started failing (reminders and recoveries). */
  failingSince: z.string().nullable(),
});
export type AlertMessage = z.infer<typeof alertMessageSchema>;

const formText = z.string().optional().default('');
/**
 * The Alerts page's form: flat fields, turned into a channel input
 * (channelInputSchema checks it, field by field, in channels.ts). An empty
 * secret on an edit keeps the stored one.
 */
export const channelFormSchema = z
  .object({
    id: z.coerce.number().int().positive().optional().or(z.literal('').transform(() => undefined)),
    kind: z.enum(['email', 'webhook', 'syslog'], { error: 'Choose e-mail, webhook or syslog.' }),
    name: formText,
    host: formText,
    port: formText,
    username: formText,
    from: formText,
    to: formText,
    url: formText,
    transport: formText,
    trustedCa: formText,
    secret: formText,
    enabled: z.string().optional(),
  })
  .transform((f) => ({
    id: f.id,
    input: {
      kind: f.kind,
      name: f.name,
      // No `enabled` field (the edit form sends none): an edit keeps the channel's state, a new channel starts enabled.
      enabled: f.enabled === undefined ? undefined : f.enabled !== 'off',
      secret: f.kind === 'syslog' ? undefined : f.secret || undefined,
      config:
        f.kind === 'email'
          ? { host: f.host, port: f.port || 587, username: f.username, from: f.from, to: f.to, trustedCa: f.trustedCa }
          : f.kind === 'webhook'
            ? { url: f.url, trustedCa: f.trustedCa }
            : { host: f.host, port: f.port, transport: f.transport, trustedCa: f.trustedCa },
    },
  }));

export const channelIdSchema = z.object({ id: z.coerce.number({ error: 'Unknown channel.' }).int('Unknown channel.').positive('Unknown channel.') });
export const channelEnableSchema = channelIdSchema.extend({ enabled: z.enum(['true', 'false']).transform((v) => v === 'true') });
