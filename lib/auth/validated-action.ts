import { z } from 'zod';
import { audit } from '../audit/audit';
import { isDbSuspendedError } from '../db/client';
import { exclusiveOperationRefusal, RESTORE_IN_PROGRESS } from '../db/errors';
import { AppError, GENERIC_FAILURE } from '../errors';
import { log } from '../log';
import { decide } from './access';
import { actorOf, currentUser, type CurrentUser } from './current-user';
import type { Permission } from './roles';
import type { Actor } from '../audit/audit';

/**
 * The state every form action returns: a message for the form, errors per
 * field (shown next to the field), and the submitted values so the form can
 * be shown again as the user left it (never secrets).
 */
export type ActionState = {
  ok?: boolean;
  code?: 'unauthorized' | 'forbidden' | 'invalid' | 'failed';
  message?: string;
  fieldErrors?: Record<string, string[]>;
  values?: Record<string, string>;
  /** A secret made for the user who asked (a new API token), shown to them once; never an echo of the input. */
  secret?: string;
};

export type ActionContext = { user: CurrentUser; actor: Actor };

const SECRET_FIELD = /password|secret|dms/i;

function echo(formData: FormData): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [k, v] of formData.entries()) {
    if (typeof v === 'string' && !k.startsWith('$') && !SECRET_FIELD.test(k)) values[k] = v.slice(0, 1000);
  }
  return values;
}

/**
 * Wraps a server action: session, permission, input parsed with zod, and
 * errors turned into words. One line per action:
 *   export const save = validatedAction('backup:configure', fooSchema, async (data, ctx) => { ... });
 */
export function validatedAction<S extends z.ZodType>(
  /** null: any signed-in account (its own things, such as its password). */
  permission: Permission | null,
  schema: S,
  fn: (data: z.infer<S>, ctx: ActionContext) => Promise<ActionState | void>,
  opts: { name: string },
) {
  return async (_prev: ActionState | undefined, formData: FormData): Promise<ActionState> => {
    const values = echo(formData);
    const user = await currentUser();
    const actor = await actorOf(user);
    if (!user) {
      audit(actor, opts.name, 'denied', { detail: { reason: 'no session' } });
      return { ok: false, code: 'unauthorized', message: 'Your session has ended. Sign in again.', values };
    }
    const decision = permission ? decide(user, permission) : ({ allowed: true } as const);
    if (!decision.allowed) {
      audit(actor, opts.name, 'denied', { detail: { permission } });
      return { ok: false, code: 'forbidden', message: decision.message, values };
    }
    const parsed = schema.safeParse(Object.fromEntries(formData.entries()));
    if (!parsed.success) {
      return { ok: false, code: 'invalid', message: 'Check the highlighted fields.', fieldErrors: fieldErrorsOf(parsed.error), values };
    }
    try {
      return (await fn(parsed.data, { user, actor })) ?? { ok: true };
    } catch (caught) {
      // The domain's own validation (a schema beyond the form's): its problems at their fields, all at once.
      if (caught instanceof z.ZodError) return { ok: false, code: 'invalid', message: 'Check the highlighted fields.', fieldErrors: fieldErrorsOf(caught), values };
      // A write refused because a restore runs is a conflict in words, not a fault.
      const err = exclusiveOperationRefusal(caught) === 'restore' || isDbSuspendedError(caught) ? new AppError('conflict', RESTORE_IN_PROGRESS) : caught;
      if (err instanceof AppError) {
        audit(actor, opts.name, 'failure', { detail: { reason: err.message } });
        return {
          ok: false,
          code: 'failed',
          // An error about one field is told next to it; the form's banner points there (said once for a screen reader).
          message: err.field ? 'Check the highlighted fields.' : err.message,
          fieldErrors: err.field ? { [err.field]: [err.message] } : undefined,
          values,
        };
      }
      log.error({ event: 'action.error', action: opts.name, err: (err as Error).message, stack: (err as Error).stack }, 'server action failed');
      return { ok: false, code: 'failed', message: GENERIC_FAILURE, values };
    }
  };
}

export function fieldErrorsOf(error: z.ZodError): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const key = issue.path.join('.') || '_form';
    (out[key] ??= []).push(issue.message);
  }
  return out;
}
