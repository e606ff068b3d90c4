import { and, desc, eq, gte, like, lt, lte, or, type SQL } from 'drizzle-orm';
import { db } from '../db/client';
import { auditEvents, type AuditEvent } from '../db/schema';
import { describeAuditEvent, reasonOf } from './phrases';
import type { AuditFilter } from './schemas';

export const AUDIT_PAGE_SIZE = 50;

/** One entry as the page, the API and the CSV show it. */
export type AuditEntryView = {
  id: number;
  at: string;
  who: string;
  from: string | null;
  action: string;
  outcome: AuditEvent['outcome'];
  sentence: string;
  reason: string;
  target: string | null;
};

export function viewOf(e: AuditEvent): AuditEntryView {
  return {
    id: e.id,
    at: e.at.toISOString(),
    who: e.actorName,
    from: e.ip,
    action: e.action,
    outcome: e.outcome,
    sentence: describeAuditEvent(e),
    reason: e.outcome === 'success' ? '' : reasonOf(e),
    target: e.target,
  };
}

/** LIKE with its wildcards taken literally (ESCAPE '\'). */
function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function conditions(f: AuditFilter): SQL | undefined {
  const c: (SQL | undefined)[] = [];
  if (f.user) c.push(eq(auditEvents.actorName, f.user));
  if (f.action) {
    // "backup" or "backup.*" is a group: the code itself and everything under it; anything else is one exact code.
    const group = f.action.replace(/\.\*$/, '');
    if (f.action.endsWith('.*') || !group.includes('.')) {
      c.push(or(eq(auditEvents.action, group), like(auditEvents.action, `${escapeLike(group)}.%`)));
    } else c.push(eq(auditEvents.action, f.action));
  }
  if (f.outcome) c.push(eq(auditEvents.outcome, f.outcome));
  if (f.from) c.push(gte(auditEvents.at, f.from));
  if (f.to) c.push(lte(auditEvents.at, f.to));
  return c.length ? and(...c) : undefined;
}

/**
 * One page of entries, newest first. Keyset paging on the id (the row id
 * grows with time): the next page is "id < last id of this one", so a page
 * costs the same deep in the trail as at its top, and entries written while
 * someone pages do not shift what they see (offset paging would repeat rows).
 * One row more than the page is read to know whether there is a next page.
 */
export function auditPage(f: AuditFilter): { entries: AuditEntryView[]; nextBefore: number | null } {
  const limit = f.limit ?? AUDIT_PAGE_SIZE;
  const where = and(conditions(f), f.before ? lt(auditEvents.id, f.before) : undefined);
  const rows = db().select().from(auditEvents).where(where).orderBy(desc(auditEvents.id)).limit(limit + 1).all();
  const page = rows.slice(0, limit);
  return { entries: page.map(viewOf), nextBefore: rows.length > limit ? page[page.length - 1]!.id : null };
}

/** Every matching entry, newest first, read in batches so an export of a long trail never holds it all. */
export function* allAuditEntries(f: AuditFilter, batch = 500): Generator<AuditEntryView> {
  let before: number | undefined;
  for (;;) {
    const { entries, nextBefore } = auditPage({ ...f, before, limit: batch });
    yield* entries;
    if (nextBefore === null) return;
    before = nextBefore;
  }
}

/** The user names that appear in the trail, for the filter's suggestions. */
export function auditActors(): string[] {
  return db()
    .selectDistinct({ name: auditEvents.actorName })
    .from(auditEvents)
    .orderBy(auditEvents.actorName)
    .limit(500)
    .all()
    .map((r) => r.name);
}
