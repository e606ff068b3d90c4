import { beforeEach, describe, expect, it } from 'vitest';
import { audit, recentAuditEvents } from '@/lib/audit/audit';
import { db } from '@/lib/db/client';

beforeEach(() => {
  db().$client.exec('DELETE FROM audit_events');
});

describe('audit', () => {
  it('records who, what, on what, from where, and how it ended', () => {
    const before = Date.now();
    audit({ id: 7, name: 'alice', ip: '192.0.2.7' }, 'account.delete', 'success', { target: 'bob', detail: { reason: 'left' } });
    const [e] = recentAuditEvents();
    expect(e).toMatchObject({ actorId: 7, actorName: 'alice', ip: '192.0.2.7', action: 'account.delete', target: 'bob', outcome: 'success' });
    expect(JSON.parse(e!.detail!)).toEqual({ reason: 'left' });
    expect(e!.at.getTime()).toBeGreaterThanOrEqual(before);
    expect(e!.at.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('stores null target and detail when none are given', () => {
    audit({ id: null, name: 'anonymous', ip: null }, 'auth.sign-in', 'denied');
    expect(recentAuditEvents()[0]).toMatchObject({ actorId: null, ip: null, target: null, detail: null, outcome: 'denied' });
  });

  it('lists newest first and honours the limit', () => {
    for (let i = 0; i < 5; i++) audit({ id: null, name: 'system', ip: null }, `event.${i}`, 'success');
    expect(recentAuditEvents().map((e) => e.action)).toEqual(['event.4', 'event.3', 'event.2', 'event.1', 'event.0']);
    expect(recentAuditEvents(2).map((e) => e.action)).toEqual(['event.4', 'event.3']);
  });

  it('stores each of the three outcomes as given', () => {
    for (const outcome of ['success', 'denied', 'failure'] as const) audit({ id: null, name: 's', ip: null }, 'x', outcome);
    expect(new Set(recentAuditEvents().map((e) => e.outcome))).toEqual(new Set(['success', 'denied', 'failure']));
  });
});
