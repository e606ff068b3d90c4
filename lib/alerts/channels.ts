import { z } from 'zod';
import { asc, eq } from 'drizzle-orm';
import { applianceIdentity } from '../backup/appliance';
import type { Actor } from '../audit/audit';
import { audit } from '../audit/audit';
import { seal, unseal } from '../crypto/seal';
import { db } from '../db/client';
import { isConstraintViolation } from '../db/errors';
import { alertChannels, type AlertChannel } from '../db/schema';
import { AppError } from '../errors';
import { log } from '../log';
import { composeMessage } from './message';
import { channelInputSchema, storedConfigSchemas, type ChannelInput } from './schemas';
import { AlertSendError } from './send-error';
import { sendThrough } from './senders';

/**
 * Alert channels: stored with their settings as JSON and the secret (SMTP
 * password, webhook signing key) sealed under a purpose bound to the channel
 * kind. Views never carry the secret, only whether one is set.
 */
const purpose = (kind: AlertChannel['kind']) => `alerts.channel.${kind}`;

/** A channel keeps failing once this many deliveries in a row failed. */
export const FAILING_AFTER = 3;

export type ChannelView = {
  id: number;
  kind: AlertChannel['kind'];
  name: string;
  enabled: boolean;
  config: Record<string, unknown>;
  secretSet: boolean;
  lastDeliveredAt: string | null;
  lastFailedAt: string | null;
  lastError: string | null;
  consecutiveFailures: number;
  /** Failing since: the last failure when the failures in a row reached FAILING_AFTER and nothing was delivered since. */
  state: 'ok' | 'failing' | 'untried';
};

export function channelView(c: AlertChannel): ChannelView {
  const state = c.consecutiveFailures >= FAILING_AFTER ? 'failing' : c.lastDeliveredAt || c.lastFailedAt ? 'ok' : 'untried';
  return {
    id: c.id,
    kind: c.kind,
    name: c.name,
    enabled: c.enabled,
    config: JSON.parse(c.config) as Record<string, unknown>,
    secretSet: !!c.secretSealed,
    lastDeliveredAt: c.lastDeliveredAt?.toISOString() ?? null,
    lastFailedAt: c.lastFailedAt?.toISOString() ?? null,
    lastError: c.lastError,
    consecutiveFailures: c.consecutiveFailures,
    state,
  };
}

export function listChannels(): ChannelView[] {
  return db().select().from(alertChannels).orderBy(asc(alertChannels.name)).all().map(channelView);
}

function getChannel(id: number): AlertChannel {
  const row = db().select().from(alertChannels).where(eq(alertChannels.id, id)).get();
  if (!row) throw new AppError('not_found', 'No such alert channel (it may have been removed).');
  return row;
}

/** The channel's opened secret, for the senders only. */
export function channelSecret(c: AlertChannel): string | null {
  return c.secretSealed ? unseal(c.secretSealed, purpose(c.kind)) : null;
}

function parseInput(input: unknown) {
  const parsed = channelInputSchema.safeParse(input);
  if (!parsed.success) {
    // Every problem at once, each at the form's flat field (host, port, to…): no config. prefix, no list index.
    throw new z.ZodError(parsed.error.issues.map((issue) => ({ ...issue, path: issue.path.filter((p) => p !== 'config' && typeof p !== 'number') })));
  }
  return parsed.data;
}

function nameTaken(err: unknown): never {
  if (isConstraintViolation(err, 'UNIQUE')) throw new AppError('conflict', 'Another alert channel has this name; choose another.', { field: 'name' });
  throw err;
}

export function createChannel(actor: Actor, input: ChannelInput | unknown): ChannelView {
  const c = parseInput(input);
  const secret = 'secret' in c && c.secret ? c.secret : null;
  if (c.kind !== 'syslog' && !secret) {
    throw new AppError('unprocessable', c.kind === 'email' ? 'Enter the SMTP password.' : 'Enter a signing secret (at least 16 characters).', { field: 'secret' });
  }
  if (c.kind === 'webhook' && secret!.length < 16) throw new AppError('unprocessable', 'The signing secret must have at least 16 characters.', { field: 'secret' });
  const now = new Date();
  let row: AlertChannel;
  try {
    row = db()
      .insert(alertChannels)
      .values({ kind: c.kind, name: c.name, enabled: c.enabled, config: JSON.stringify(c.config), secretSealed: secret ? seal(secret, purpose(c.kind)) : null, createdAt: now, updatedAt: now })
      .returning()
      .get();
  } catch (err) {
    nameTaken(err);
  }
  audit(actor, 'alerts.channel.create', 'success', { target: row.name, detail: { kind: row.kind } });
  return channelView(row);
}

/** Replaces a channel's settings. A missing or empty secret keeps the stored one; a missing `enabled` keeps its state. */
export function updateChannel(actor: Actor, id: number, input: ChannelInput | unknown): ChannelView {
  const old = getChannel(id);
  const c = parseInput(input);
  const enabled = typeof (input as { enabled?: unknown } | null)?.enabled === 'boolean' ? c.enabled : old.enabled;
  if (c.kind !== old.kind) throw new AppError('unprocessable', 'The kind of a channel cannot change; add a new channel instead.', { field: 'kind' });
  const secret = 'secret' in c && c.secret ? c.secret : null;
  if (c.kind === 'webhook' && secret && secret.length < 16) throw new AppError('unprocessable', 'The signing secret must have at least 16 characters.', { field: 'secret' });
  let row: AlertChannel;
  try {
    row = db()
      .update(alertChannels)
      .set({
        name: c.name,
        enabled,
        config: JSON.stringify(c.config),
        ...(secret ? { secretSealed: seal(secret, purpose(c.kind)) } : {}),
        updatedAt: new Date(),
      })
      .where(eq(alertChannels.id, id))
      .returning()
      .get();
  } catch (err) {
    nameTaken(err);
  }
  audit(actor, 'alerts.channel.update', 'success', { target: row.name, detail: { kind: row.kind, enabled: row.enabled, secretChanged: !!secret } });
  return channelView(row);
}

export function setChannelEnabled(actor: Actor, id: number, enabled: boolean): ChannelView {
  const old = getChannel(id);
  const row = db().update(alertChannels).set({ enabled, updatedAt: new Date() }).where(eq(alertChannels.id, id)).returning().get();
  audit(actor, enabled ? 'alerts.channel.enable' : 'alerts.channel.disable', 'success', { target: old.name });
  return channelView(row!);
}

export function removeChannel(actor: Actor, id: number): void {
  const old = getChannel(id);
  // Its queued alerts go with it (ON DELETE CASCADE).
  db().delete(alertChannels).where(eq(alertChannels.id, id)).run();
  audit(actor, 'alerts.channel.delete', 'success', { target: old.name, detail: { kind: old.kind } });
}

/** Sends a test message now, outside the outbox; the result in words. Never throws for a delivery failure. */
export async function sendTest(actor: Actor, id: number): Promise<{ ok: boolean; message: string }> {
  const c = getChannel(id);
  const now = new Date();
  const appliance = applianceIdentity().name;
  const message = composeMessage({
    kind: 'test',
    condition: null,
    appliance,
    at: now,
    event: { what: `Test alert from Webconf on ${appliance}`, why: `${actor.name} pressed Send test on the channel "${c.name}".`, action: 'Nothing: this message only shows that alerts reach you.' },
  });
  try {
    await sendThrough(c, channelSecret(c), message);
    db().update(alertChannels).set({ lastDeliveredAt: new Date(), lastError: null, consecutiveFailures: 0 }).where(eq(alertChannels.id, id)).run();
    audit(actor, 'alerts.channel.test', 'success', { target: c.name, detail: { kind: c.kind } });
    return { ok: true, message: c.kind === 'syslog' && JSON.parse(c.config).transport === 'udp' ? 'Test message sent over UDP (syslog over UDP gives no confirmation; check the server).' : 'Test message delivered.' };
  } catch (err) {
    const words = err instanceof AlertSendError ? err.message : 'The test message could not be sent because of a fault on the appliance; it was logged.';
    if (!(err instanceof AlertSendError)) log.error({ event: 'alerts.test.fault', channel: c.id, err: (err as Error).message }, 'test send failed unexpectedly');
    // Shown at the channel; a test does not count towards "keeps failing" (only queued alerts do).
    db().update(alertChannels).set({ lastFailedAt: new Date(), lastError: words }).where(eq(alertChannels.id, id)).run();
    audit(actor, 'alerts.channel.test', 'failure', { target: c.name, detail: { kind: c.kind, reason: words } });
    return { ok: false, message: words };
  }
}
