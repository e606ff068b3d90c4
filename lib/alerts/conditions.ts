import { and, eq, lte } from 'drizzle-orm';
import { applianceIdentity } from '../backup/appliance';
import { db } from '../db/client';
import { alertChannels, alertConditions, alertOutbox, type AlertCondition } from '../db/schema';
import { log } from '../log';
import { composeMessage } from './message';
import type { AlertEvent, AlertKind } from './schemas';
import { reminderHours } from './settings';

/**
 * The state machine behind "no flood". One row per condition key:
 *
 *   (none | ok) --alertFailing--> failing   queues a failure alert
 *   failing     --alertFailing--> failing   nothing queued (the event is remembered)
 *   failing     --tick, reminder interval passed since the last alert--> failing   queues a reminder
 *   failing     --alertRecovered--> ok      queues a recovery alert
 *   (none | ok) --alertRecovered--> (same)  nothing written
 *
 * Each transition and the outbox rows it queues (one per enabled channel) are
 * one SQLite transaction. The calls never throw: a fault is logged, and the
 * backup (or whatever reported the event) goes on.
 */

/** Condition keys, as documented on the alert_conditions table. */
export const CONDITION = {
  backup: 'backup',
  verify: 'verify',
  storage: 'storage',
  storageSpace: 'storage-space',
  scheduleMissed: 'schedule-missed',
  device: (name: string) => `device:${name}`,
  deviceHostKey: (name: string) => `device-host-key:${name}`,
} as const;

type Tx = Parameters<Parameters<ReturnType<typeof db>['transaction']>[0]>[0];

function queue(tx: Tx, kind: AlertKind, key: string, event: AlertEvent, at: Date, failingSince: Date | null): number {
  const channels = tx.select({ id: alertChannels.id }).from(alertChannels).where(eq(alertChannels.enabled, true)).all();
  if (!channels.length) return 0;
  const message = JSON.stringify(composeMessage({ kind, condition: key, appliance: applianceIdentity().name, event, at, failingSince }));
  for (const c of channels) {
    tx.insert(alertOutbox).values({ channelId: c.id, conditionKey: key, kind, message, createdAt: at, status: 'pending', attempts: 0, nextAttemptAt: at }).run();
  }
  return channels.length;
}

function guarded(what: string, key: string, step: () => void): void {
  try {
    step();
  } catch (err) {
    log.error({ event: 'alerts.condition.error', key, step: what, err: (err as Error).message }, 'could not record an alert condition');
  }
}

/** The condition `key` is failing (again). Queues an alert only when it was not failing already. */
export function alertFailing(key: string, event: AlertEvent, now: Date = new Date()): void {
  guarded('failing', key, () => {
    db().transaction((tx) => {
      const row = tx.select().from(alertConditions).where(eq(alertConditions.key, key)).get();
      const detail = JSON.stringify(event);
      if (row?.state === 'failing') {
        tx.update(alertConditions).set({ lastEventAt: now, detail }).where(eq(alertConditions.key, key)).run();
        return;
      }
      const values = { key, state: 'failing' as const, since: now, lastEventAt: now, lastNotifiedAt: now, reminders: 0, detail };
      tx.insert(alertConditions).values(values).onConflictDoUpdate({ target: alertConditions.key, set: values }).run();
      queue(tx, 'failure', key, event, now, now);
    });
  });
}

/** The condition `key` works again. Queues a recovery alert only when it was failing. */
export function alertRecovered(key: string, event: AlertEvent, now: Date = new Date()): void {
  guarded('recovered', key, () => {
    // The common case (nothing was failing) is one read and no write.
    const row = db().select({ state: alertConditions.state }).from(alertConditions).where(eq(alertConditions.key, key)).get();
    if (row?.state !== 'failing') return;
    db().transaction((tx) => {
      const cur = tx.select().from(alertConditions).where(eq(alertConditions.key, key)).get();
      if (cur?.state !== 'failing') return;
      tx.update(alertConditions)
        .set({ state: 'ok', since: now, lastEventAt: now, lastNotifiedAt: now, reminders: 0, detail: JSON.stringify(event) })
        .where(eq(alertConditions.key, key))
        .run();
      queue(tx, 'recovery', key, event, now, cur.since);
    });
  });
}

/** Queues the reminders due at `now` (called by the deliverer's tick). Returns how many conditions were reminded. */
export function queueDueReminders(now: Date = new Date()): number {
  const interval = reminderHours() * 3_600_000;
  const due = db()
    .select()
    .from(alertConditions)
    .where(and(eq(alertConditions.state, 'failing'), lte(alertConditions.lastNotifiedAt, new Date(now.getTime() - interval))))
    .all();
  let n = 0;
  for (const row of due) {
    guarded('reminder', row.key, () => {
      db().transaction((tx) => {
        tx.update(alertConditions)
          .set({ lastNotifiedAt: now, reminders: row.reminders + 1 })
          .where(and(eq(alertConditions.key, row.key), eq(alertConditions.state, 'failing')))
          .run();
        queue(tx, 'reminder', row.key, parseDetail(row), now, row.since);
      });
      n++;
    });
  }
  return n;
}

function parseDetail(row: AlertCondition): AlertEvent {
  try {
    return JSON.parse(row.detail ?? '') as AlertEvent;
  } catch {
    return { what: `Condition ${row.key} is still failing` };
  }
}

export function failingConditions(): AlertCondition[] {
  return db().select().from(alertConditions).where(eq(alertConditions.state, 'failing')).all();
}
