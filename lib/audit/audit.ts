import { desc } from 'drizzle-orm';
import { db } from '../db/client';
import { auditEvents, type AuditEvent } from '../db/schema';
import { log } from '../log';

export type Actor = { id: number | null; name: string; ip: string | null };
export type Outcome = AuditEvent['outcome'];

/**
 * Records one audited event in SQLite and as a log line. `detail` must never
 * hold a secret: callers pass names, ids and reasons only.
 */
export function audit(
  actor: Actor,
  action: string,
  outcome: Outcome,
  opts: { target?: string | null; detail?: Record<string, unknown> } = {},
): void {
  const at = new Date();
  db()
    .insert(auditEvents)
    .values({
      at,
      actorId: actor.id,
      actorName: actor.name,
      ip: actor.ip,
      action,
      target: opts.target ?? null,
      outcome,
      detail: opts.detail ? JSON.stringify(opts.detail) : null,
    })
    .run();
  log.info({ event: 'audit', action, outcome, actor: actor.name, ip: actor.ip, target: opts.target, detail: opts.detail }, action);
}

export function recentAuditEvents(limit = 200): AuditEvent[] {
  return db().select().from(auditEvents).orderBy(desc(auditEvents.id)).limit(limit).all();
}
