import { desc } from 'drizzle-orm';
import type { Actor } from '../audit/audit';
import { db } from '../db/client';
import { restoreRuns, type RestoreRun } from '../db/schema';
import { log } from '../log';
import { incomingSource } from './incoming';
import { planRestore, restoreProgress, runRestore, type RestoreProgress, type RestoreSource } from './restore';
import type { RestoreSourceInput } from './schemas';
import type { RestorePlan } from './plan';

/**
 * The restore as the console's pages and API use it: sources named by the
 * page (a backup on the storage, an uploaded or fetched file), the restore
 * run in the background (it can take minutes), and its progress.
 */
function sourceOf(input: RestoreSourceInput, removeAfter: boolean): RestoreSource {
  return input.kind === 'storage' ? { kind: 'storage', fileName: input.fileName } : incomingSource(input.id, { removeAfter });
}

export function planFor(actor: Actor, input: { source: RestoreSourceInput; dms?: string }, signal?: AbortSignal): Promise<RestorePlan> {
  return planRestore({ source: sourceOf(input.source, false), dms: input.dms, actor, signal });
}

/**
 * Starts a restore; resolves once it holds the lock (the row in restore_runs)
 * with its id, or rejects with the refusal. The rest runs in the background:
 * follow it with restoreStatus().
 */
export function startRestore(actor: Actor, input: { source: RestoreSourceInput; dms?: string; confirm: string }): Promise<{ runId: number }> {
  return new Promise((resolve, reject) => {
    let locked = false;
    runRestore({ source: sourceOf(input.source, true), dms: input.dms, confirm: input.confirm, actor, onLocked: (runId) => ((locked = true), resolve({ runId })) }).catch((err) => {
      if (!locked) reject(err);
      else log.warn({ event: 'restore.ended', reason: (err as Error).message }, 'restore did not complete');
    });
  });
}

export type RestoreRunView = Omit<RestoreRun, 'plan' | 'startedAt' | 'finishedAt'> & { startedAt: string; finishedAt: string | null };

function view(r: RestoreRun): RestoreRunView {
  const { plan: _plan, ...rest } = r;
  return { ...rest, startedAt: r.startedAt.toISOString(), finishedAt: r.finishedAt ? r.finishedAt.toISOString() : null };
}

export function lastRestores(limit = 5): RestoreRunView[] {
  return db().select().from(restoreRuns).orderBy(desc(restoreRuns.id)).limit(limit).all().map(view);
}

export function restoreStatus(): { current: RestoreProgress | null; recent: RestoreRunView[] } {
  return { current: restoreProgress(), recent: lastRestores() };
}
