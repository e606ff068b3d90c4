import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { describeAuditEvent, KNOWN_ACTIONS } from '@/lib/audit/phrases';
import { ROOT } from '../helpers/console-server';

const ev = (action: string, outcome: 'success' | 'denied' | 'failure', extra: { actorName?: string; target?: string; detail?: Record<string, unknown> } = {}) =>
  describeAuditEvent({ actorName: extra.actorName ?? 'alice', action, outcome, target: extra.target ?? null, detail: extra.detail ? JSON.stringify(extra.detail) : null });

describe('audit phrases', () => {
  it('tells the examples of the issue in words', () => {
    expect(ev('backup.dms.set', 'success')).toBe('alice set the Domain Master Secret');
    expect(ev('auth.sign-in', 'failure', { actorName: 'bob', detail: { method: 'password' } })).toBe('Sign-in of bob refused: wrong user name or password');
    expect(ev('auth.sign-in', 'denied', { actorName: 'bob', detail: { reason: 'throttled' } })).toBe('Sign-in of bob refused: too many attempts, try again later');
    expect(ev('backup.storage.configure', 'success', { target: 'NFS share nfs://nas/backups' })).toBe('alice changed the backup storage to NFS share nfs://nas/backups');
    expect(ev('backup.storage.configure', 'failure', { detail: { reason: 'The share is not reachable.' } })).toBe('alice could not change the backup storage: The share is not reachable.');
    expect(ev('backup.dms.set', 'denied', { detail: { reason: 'already set' } })).toBe('alice was not allowed to set the Domain Master Secret: already set');
  });

  it('says a refusal by role in words, and who was not signed in', () => {
    expect(ev('api.backups.start', 'denied', { actorName: 'sam', detail: { permission: 'backup:run' } })).toBe('sam was not allowed to start a manual backup: their role may not start backups');
    expect(ev('page.view', 'denied', { target: '/audit', detail: { permission: 'audit:read' } })).toBe('alice was refused the page /audit: their role may not read the audit trail');
    expect(ev('api.backup.dms.set', 'denied', { actorName: 'anonymous', detail: { reason: 'cross-site request' } })).toBe(
      'Someone not signed in was not allowed to set the Domain Master Secret through the API: the request came from another site',
    );
  });

  it('gives an unknown code a sentence made of its words, never the code alone', () => {
    const s = ev('widget.frobnicate', 'failure', { detail: { reason: 'broken' } });
    expect(s).toBe('alice could not widget frobnicate: broken');
    expect(ev('x.y', 'success')).toBe('alice did: x y');
  });

  it('knows the codes the other parts of issue 12 add', () => {
    for (const code of ['user.role.change', 'user.password.reset', 'user.disable', 'user.enable', 'account.password.change']) {
      expect(KNOWN_ACTIONS).toContain(code);
      expect(ev(code, 'success', { target: 'bob' })).not.toContain(code);
    }
    expect(ev('user.role.change', 'success', { target: 'bob', detail: { from: 'support', to: 'operator' } })).toBe('alice changed the role of bob from support to operator');
  });

  it('has a phrase for every action code written in lib and app', () => {
    // Literal codes passed to audit(...) and the names of every route handler and server action.
    // Also a code followed by its outcome literal, which finds audit( calls spread over lines.
    const src = execFileSync('git', ['grep', '-hoE', "(audit\\([^,]+, '[a-z][a-z0-9_.-]+'|name: '[a-z]+\\.[a-z0-9_.-]+'|'[a-z]+\\.[a-z0-9_.-]+', '(success|denied|failure)')", '--', 'lib', 'app'], { cwd: ROOT, encoding: 'utf8' });
    const withoutOutcomes = src.replace(/'(success|denied|failure)'/g, '');
    const codes = new Set([...withoutOutcomes.matchAll(/'([a-z][a-z0-9_.-]+)'/g)].map((m) => m[1]!));
    for (const ternary of ['account.otp.remove', 'account.delete', 'fleet.device.enable', 'fleet.device.disable', 'page.view']) codes.add(ternary);
    expect(codes.size).toBeGreaterThan(60);
    const missing = [...codes].filter((c) => !KNOWN_ACTIONS.includes(c));
    expect(missing).toEqual([]);
  });
});
