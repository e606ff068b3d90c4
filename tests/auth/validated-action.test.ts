import { beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { CurrentUser } from '@/lib/auth/current-user';
import { OTP_BACKUP_GUIDANCE } from '@/lib/auth/roles';
import { db } from '@/lib/db/client';
import { AppError, GENERIC_FAILURE } from '@/lib/errors';

const session = vi.hoisted(() => ({ user: null as CurrentUser | null }));
vi.mock('@/lib/auth/current-user', () => ({
  currentUser: async () => session.user,
  actorOf: async (u: { id: number; username: string } | null) => (u ? { id: u.id, name: u.username, ip: '192.0.2.1' } : { id: null, name: 'anonymous', ip: '192.0.2.1' }),
}));

const { fieldErrorsOf, validatedAction } = await import('@/lib/auth/validated-action');

const admin: CurrentUser = { id: 1, username: 'admin1', displayName: null, kind: 'local', role: 'admin', sessionId: 's' };
const otp: CurrentUser = { id: 2, username: 'otp', displayName: null, kind: 'otp', role: 'otp', sessionId: 's' };
const support: CurrentUser = { id: 3, username: 'sup', displayName: null, kind: 'local', role: 'support', sessionId: 's' };

const schema = z.object({ name: z.string().min(1, 'Enter a name.'), count: z.coerce.number().int('Whole numbers only.') });

function fd(entries: Record<string, string>): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(entries)) f.append(k, v);
  return f;
}

function audits(): { action: string; outcome: string; actor_name: string; detail: string | null }[] {
  return db().$client.prepare('SELECT * FROM audit_events ORDER BY id').all() as never;
}

beforeEach(() => {
  session.user = admin;
  db().$client.exec('DELETE FROM audit_events');
});

describe('validatedAction', () => {
  it('passes parsed data and the actor to the handler; no result means ok', async () => {
    const fn = vi.fn(async () => undefined);
    const action = validatedAction('backup:configure', schema, fn, { name: 'test.save' });
    expect(await action(undefined, fd({ name: 'x', count: '3' }))).toEqual({ ok: true });
    expect(fn).toHaveBeenCalledWith({ name: 'x', count: 3 }, { user: admin, actor: { id: 1, name: 'admin1', ip: '192.0.2.1' } });
  });

  it('without a session: unauthorized, audited, handler not run', async () => {
    session.user = null;
    const fn = vi.fn();
    const r = await validatedAction('backup:read', schema, fn, { name: 'test.read' })(undefined, fd({ name: 'x', count: '1' }));
    expect(r).toMatchObject({ ok: false, code: 'unauthorized', message: 'Your session has ended. Sign in again.' });
    expect(fn).not.toHaveBeenCalled();
    expect(audits()).toEqual([expect.objectContaining({ action: 'test.read', outcome: 'denied', actor_name: 'anonymous' })]);
  });

  it('without the permission: forbidden with the role\u2019s message, audited, handler not run', async () => {
    session.user = support;
    const fn = vi.fn();
    const r = await validatedAction('backup:configure', schema, fn, { name: 'test.save' })(undefined, fd({ name: 'x', count: '1' }));
    expect(r).toMatchObject({ ok: false, code: 'forbidden', message: 'The Support role cannot change backup settings.' });
    expect(fn).not.toHaveBeenCalled();
    expect(audits()).toEqual([expect.objectContaining({ action: 'test.save', outcome: 'denied', actor_name: 'sup' })]);
  });

  it('the OTP user reaching for backups gets the seed guidance', async () => {
    session.user = otp;
    const r = await validatedAction('backup:run', schema, vi.fn(), { name: 'test.run' })(undefined, fd({}));
    expect(r.message).toBe(OTP_BACKUP_GUIDANCE);
  });

  it('invalid input: errors per field, handler not run', async () => {
    const fn = vi.fn();
    const r = await validatedAction('backup:configure', schema, fn, { name: 'test.save' })(undefined, fd({ name: '', count: '1.5' }));
    expect(r).toMatchObject({ ok: false, code: 'invalid', message: 'Check the highlighted fields.' });
    expect(r.fieldErrors).toEqual({ name: ['Enter a name.'], count: ['Whole numbers only.'] });
    expect(fn).not.toHaveBeenCalled();
  });

  it('echoes submitted values back, but never passwords, secrets or the DMS', async () => {
    const r = await validatedAction('backup:configure', schema, vi.fn(), { name: 'test.save' })(
      undefined,
      fd({ name: '', count: 'x', password: 'hunter2-hunter2', confirmPassword: 'hunter2-hunter2', clientSecret: 'cs-123', dms: 'dms-456', $ACTION_ID_1: 'a' }),
    );
    expect(r.values).toEqual({ name: '', count: 'x' });
    expect(JSON.stringify(r)).not.toMatch(/hunter2|cs-123|dms-456/);
  });

  it('an AppError about a field is told at the field (the banner points there), and is audited as a failure', async () => {
    const r = await validatedAction(
      'users:create',
      schema,
      async () => {
        throw new AppError('conflict', 'The username "x" is already taken.', { field: 'name' });
      },
      { name: 'account.create' },
    )(undefined, fd({ name: 'x', count: '1' }));
    expect(r).toMatchObject({ ok: false, code: 'failed', message: 'Check the highlighted fields.', fieldErrors: { name: ['The username "x" is already taken.'] } });
    expect(audits()).toEqual([expect.objectContaining({ action: 'account.create', outcome: 'failure' })]);
  });

  it('an AppError about no field is the form message', async () => {
    const r = await validatedAction(
      'users:create',
      schema,
      async () => {
        throw new AppError('conflict', 'A backup is already in progress.');
      },
      { name: 'backup.start' },
    )(undefined, fd({ name: 'x', count: '1' }));
    expect(r).toMatchObject({ ok: false, code: 'failed', message: 'A backup is already in progress.' });
    expect(r.fieldErrors).toBeUndefined();
  });

  it('any other error reaches the user only as the generic message', async () => {
    const r = await validatedAction(
      'users:create',
      schema,
      async () => {
        throw new Error('SQLITE_BUSY: database is locked at /secret/path');
      },
      { name: 'account.create' },
    )(undefined, fd({ name: 'x', count: '1' }));
    expect(r).toMatchObject({ ok: false, code: 'failed', message: GENERIC_FAILURE });
    expect(JSON.stringify(r)).not.toContain('SQLITE');
  });
});

describe('fieldErrorsOf', () => {
  it('groups messages by dotted path; root-level issues go to _form', () => {
    const s = z.object({ a: z.object({ b: z.string() }) }).refine(() => false, 'Whole form is wrong.');
    const r = s.safeParse({ a: { b: 1 } });
    expect(Object.keys(fieldErrorsOf(r.error!))).toEqual(['a.b']);
    const r2 = s.safeParse({ a: { b: 'ok' } });
    expect(fieldErrorsOf(r2.error!)).toEqual({ _form: ['Whole form is wrong.'] });
  });
});
