import { and, asc, eq, lte, sql } from 'drizzle-orm';
import { db } from '../db/client';
import { alertChannels, alertOutbox, type AlertChannel, type AlertOutboxRow } from '../db/schema';
import { log } from '../log';
import { processState } from '../process-state';
import { channelSecret } from './channels';
import { queueDueReminders } from './conditions';
import { alertMessageSchema } from './schemas';
import { AlertSendError } from './send-error';
import { sendThrough } from './senders';

/**
 * The background deliverer: every tick it queues the reminders due, then
 * sends what is pending in the outbox, oldest first, one channel at a time
 * in order (so a channel's alerts arrive in the order they happened). A
 * failure puts the row back with exponential back-off (30 s doubling, at
 * most an hour) and stops that channel for this tick: its later alerts wait
 * behind the first. A row older than ABANDON_AFTER_MS is given up.
 *
 * Runs in the console process but only ever awaits the network: a backup
 * never waits for it; the domain only wrote rows (conditions.ts).
 */
const TICK_MS = 10_000;
const BACKOFF_BASE_MS = 30_000;
const BACKOFF_MAX_MS = 3_600_000;
export const ABANDON_AFTER_MS = 7 * 24 * 3_600_000;

export function backoffMs(attempts: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
}

export type DeliveryReport = { delivered: number; failed: number; abandoned: number };

/** One pass: reminders due, then the due rows. `now` is injectable for tests (reminders and back-off follow it). */
export async function deliverDue(now: () => Date = () => new Date()): Promise<DeliveryReport> {
  queueDueReminders(now());
  const report: DeliveryReport = { delivered: 0, failed: 0, abandoned: 0 };
  const due = db()
    .select()
    .from(alertOutbox)
    .where(and(eq(alertOutbox.status, 'pending'), lte(alertOutbox.nextAttemptAt, now())))
    .orderBy(asc(alertOutbox.id))
    .all();
  const byChannel = new Map<number, AlertOutboxRow[]>();
  for (const row of due) byChannel.set(row.channelId, [...(byChannel.get(row.channelId) ?? []), row]);
  // Channels in parallel: one slow server does not hold back the others.
  await Promise.all([...byChannel].map(([id, rows]) => deliverChannel(id, rows, now, report)));
  return report;
}

async function deliverChannel(channelId: number, rows: AlertOutboxRow[], now: () => Date, report: DeliveryReport): Promise<void> {
  const channel = db().select().from(alertChannels).where(eq(alertChannels.id, channelId)).get();
  if (!channel || !channel.enabled) return;
  let secret: string | null;
  try {
    secret = channelSecret(channel);
  } catch {
    return recordFailure(channel, rows[0]!, 'The channel\'s secret cannot be opened on this appliance (restored from another one?); edit the channel and enter it again.', now(), report);
  }
  for (const row of rows) {
    if (now().getTime() - row.createdAt.getTime() > ABANDON_AFTER_MS) {
      db().update(alertOutbox).set({ status: 'abandoned', lastError: 'Given up after 7 days without delivery.' }).where(eq(alertOutbox.id, row.id)).run();
      report.abandoned++;
      continue;
    }
    try {
      await sendThrough(channel, secret, alertMessageSchema.parse(JSON.parse(row.message)));
    } catch (err) {
      const words = err instanceof AlertSendError ? err.message : 'Delivery failed because of a fault on the appliance; it was logged.';
      if (!(err instanceof AlertSendError)) log.error({ event: 'alerts.deliver.fault', channel: channel.id, err: (err as Error).message }, 'alert delivery failed unexpectedly');
      return recordFailure(channel, row, words, now(), report);
    }
    const at = now();
    db().transaction((tx) => {
      tx.update(alertOutbox).set({ status: 'delivered', deliveredAt: at, attempts: row.attempts + 1, lastError: null }).where(eq(alertOutbox.id, row.id)).run();
      tx.update(alertChannels).set({ lastDeliveredAt: at, lastError: null, consecutiveFailures: 0 }).where(eq(alertChannels.id, channel.id)).run();
    });
    report.delivered++;
  }
}

function recordFailure(channel: AlertChannel, row: AlertOutboxRow, words: string, at: Date, report: DeliveryReport): void {
  const attempts = row.attempts + 1;
  db().transaction((tx) => {
    tx.update(alertOutbox).set({ attempts, nextAttemptAt: new Date(at.getTime() + backoffMs(attempts)), lastError: words }).where(eq(alertOutbox.id, row.id)).run();
    tx.update(alertChannels)
      .set({ lastFailedAt: at, lastError: words, consecutiveFailures: sql`${alertChannels.consecutiveFailures} + 1` })
      .where(eq(alertChannels.id, channel.id))
      .run();
  });
  log.warn({ event: 'alerts.deliver.failed', channel: channel.id, kind: channel.kind, attempts, reason: words }, 'alert not delivered; will retry');
  report.failed++;
}

/** Pending alerts per channel (the page shows them). */
export function pendingCounts(): Map<number, number> {
  const rows = db()
    .select({ channelId: alertOutbox.channelId, n: sql<number>`count(*)` })
    .from(alertOutbox)
    .where(eq(alertOutbox.status, 'pending'))
    .groupBy(alertOutbox.channelId)
    .all();
  return new Map(rows.map((r) => [r.channelId, Number(r.n)]));
}

/** Starts the background deliverer (server.ts, beside the backup scheduler). Returns its stop function. */
export function startAlertDeliverer(): () => void {
  const state = processState('alerts.deliverer', () => ({ busy: false }));
  const tick = async () => {
    if (state.busy) return;
    state.busy = true;
    try {
      await deliverDue();
    } catch (err) {
      log.error({ event: 'alerts.deliverer.error', err: (err as Error).message }, 'alert delivery pass failed');
    } finally {
      state.busy = false;
    }
  };
  const timer = setInterval(() => void tick(), TICK_MS);
  timer.unref();
  void tick();
  return () => clearInterval(timer);
}
