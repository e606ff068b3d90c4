import { beforeEach, describe, expect, it } from 'vitest';
import { audit } from '@/lib/audit/audit';
import { allAuditEntries, auditPage } from '@/lib/audit/query';
import { auditFilterSchema } from '@/lib/audit/schemas';
import { db } from '@/lib/db/client';

const f = (q: Record<string, string>) => auditFilterSchema.parse(q);

beforeEach(() => {
  db().$client.exec('DELETE FROM audit_events');
  for (let i = 0; i < 60; i++) audit({ id: null, name: i % 2 ? 'alice' : 'bob', ip: '192.0.2.1' }, i % 3 ? 'backup.start' : 'account.create', i % 5 ? 'success' : 'denied', { target: `t${i}` });
  audit({ id: null, name: 'carol', ip: null }, 'backup_x', 'failure');
});

describe('audit query', () => {
  it('pages newest first by keyset without repeating or losing an entry, even when entries are added meanwhile', () => {
    const first = auditPage(f({ limit: '25' }));
    expect(first.entries).toHaveLength(25);
    expect(first.entries[0]!.who).toBe('carol');
    audit({ id: null, name: 'dave', ip: null }, 'backup.start', 'success');
    const seen = [...first.entries];
    let before = first.nextBefore;
    while (before !== null) {
      const p = auditPage(f({ limit: '25', before: String(before) }));
      seen.push(...p.entries);
      before = p.nextBefore;
    }
    expect(seen).toHaveLength(61);
    expect(new Set(seen.map((e) => e.id)).size).toBe(61);
    expect(seen.map((e) => e.who)).not.toContain('dave');
  });

  it('filters by user, exact action, action group, outcome and time', () => {
    expect(auditPage(f({ user: 'alice', limit: '500' })).entries.every((e) => e.who === 'alice')).toBe(true);
    expect(auditPage(f({ user: 'alice', limit: '500' })).entries).toHaveLength(30);
    const group = auditPage(f({ action: 'backup', limit: '500' })).entries;
    expect(group).toHaveLength(40);
    expect(group.every((e) => e.action === 'backup.start')).toBe(true); // backup_x is not in the group "backup"
    expect(auditPage(f({ action: 'account.*', limit: '500' })).entries).toHaveLength(20);
    expect(auditPage(f({ action: 'account.create', outcome: 'denied', limit: '500' })).entries).toHaveLength(4);
    const future = new Date(Date.now() + 3600_000).toISOString();
    expect(auditPage(f({ from: future })).entries).toHaveLength(0);
    expect(auditPage(f({ to: future, limit: '500' })).entries).toHaveLength(61);
  });

  it('refuses a bad filter with a message per field', () => {
    const r = auditFilterSchema.safeParse({ from: 'yesterday', outcome: 'maybe', action: 'drop table;' });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['from', 'outcome', 'action']));
    expect(auditFilterSchema.safeParse({ from: '2026-12-02T10:00', to: '2026-12-01T10:00' }).success).toBe(false);
  });

  it('reads a time without a zone as UTC', () => {
    expect(f({ from: '2026-12-01T08:00' }).from!.toISOString()).toBe('2026-12-01T08:00:00.000Z');
  });

  it('exports every matching entry in batches', () => {
    const all = [...allAuditEntries(f({ user: 'bob' }), 7)];
    expect(all).toHaveLength(30);
    expect(all[0]!.sentence).toMatch(/^bob /);
  });
});
