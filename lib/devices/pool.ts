import pLimit from 'p-limit';
import pRetry from 'p-retry';
import { cancelledError, DeviceError, deviceErrorOf } from './errors';
import { parseInput, poolOptionsSchema, type PoolOptionsInput } from './schemas';

/**
 * A fleet run: one task per item (a device export), at most `concurrency`
 * attempts at once (p-limit), transient failures tried again after an
 * exponential back-off with jitter (p-retry), every attempt under a watchdog.
 *
 * - A slot is held for one attempt, not during the back-off: a device that
 *   refuses connections waits for its retry without keeping others out.
 * - The watchdog aborts the attempt's signal at its deadline (an export
 *   destroys its session on that), and the attempt counts as failed at once
 *   (watchdog_timed_out, transient). The slot is freed when the task lets go,
 *   or after `abandonAfterMs` if it ignores the signal, so a hung device can
 *   neither stall the run nor push it past its concurrency for long.
 * - Only DeviceErrors whose `transient` is set are retried; credentials
 *   rejected, host key changed, a failing command or an output that is not a
 *   configuration fail at once.
 * - Aborting the caller's signal cancels everything: attempts under way are
 *   aborted, waiting ones never start, back-offs end; those items end as cancelled.
 *
 * Progress is reported per item: pending (all, at the start), in_progress (each
 * attempt, with its number), retrying (a transient failure, with its reason;
 * the next attempt follows after the back-off), then one of succeeded,
 * failed (with the DeviceError) or cancelled.
 */

export type TaskState = 'pending' | 'in_progress' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';

export type ProgressEvent = {
  index: number;
  id: string;
  state: TaskState;
  /** The attempt this event is about (0 for pending). */
  attempt: number;
  /** retrying, failed, cancelled: why. */
  error?: DeviceError;
};

/** `attempts`: how many attempts started (0 for an item cancelled before its first). */
export type TaskOutcome<R> =
  | { id: string; state: 'succeeded'; value: R; attempts: number }
  | { id: string; state: 'failed' | 'cancelled'; error: DeviceError; attempts: number };

export type PoolTask<T, R> = (item: T, ctx: { signal: AbortSignal; attempt: number }) => Promise<R>;

export type RunPoolOptions<T> = PoolOptionsInput & {
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
  /** The watchdog's deadline for one attempt at this item, in ms; default `deadlineMs`, which then must be given. */
  deadlineFor?: (item: T) => number | undefined;
  /** How the watchdog's message names the item; default its id. */
  describe?: (item: T) => string;
};

export async function runPool<T extends { id: string }, R>(items: readonly T[], task: PoolTask<T, R>, opts: RunPoolOptions<T> = {}): Promise<TaskOutcome<R>[]> {
  const settings = parseInput(poolOptionsSchema, opts);
  const { signal, onProgress } = opts;
  if (!opts.deadlineFor && settings.deadlineMs === undefined) throw new Error('runPool needs deadlineMs or deadlineFor');
  const deadlineFor = (item: T): number => opts.deadlineFor?.(item) ?? settings.deadlineMs ?? 0;
  const describe = opts.describe ?? ((item: T) => item.id);
  const limit = pLimit(settings.concurrency);
  const emit = (e: ProgressEvent) => {
    try {
      onProgress?.(e);
    } catch {
      // A progress listener's fault must not end the run.
    }
  };

  const attemptOnce = async (item: T, index: number, attempt: number, started: () => void): Promise<R> => {
    if (signal?.aborted) throw cancelledError();
    started();
    const deadline = deadlineFor(item);
    emit({ index, id: item.id, state: 'in_progress', attempt });
    const ac = new AbortController();
    const onCancel = () => ac.abort(cancelledError());
    signal?.addEventListener('abort', onCancel, { once: true });
    const timer = setTimeout(() => {
      ac.abort(
        new DeviceError('watchdog_timed_out', `The export of ${describe(item)} was still running after ${seconds(deadline)}, the longest one attempt may take; its session was destroyed.`),
      );
    }, deadline);
    const ended = new Promise<never>((_, reject) => ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true }));
    const work = Promise.resolve().then(() => task(item, { signal: ac.signal, attempt }));
    try {
      return await Promise.race([work, ended]);
    } catch (err) {
      throw deviceErrorOf(ac.signal.aborted ? ac.signal.reason : err);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onCancel);
      // Keep the slot until the task let go of its session (it was told to), or the grace ran out.
      if (ac.signal.aborted) await Promise.race([work.then(noop, noop), sleep(settings.abandonAfterMs)]);
    }
  };

  const runItem = async (item: T, index: number): Promise<TaskOutcome<R>> => {
    let attempts = 0;
    try {
      const value = await pRetry(
        (attempt) =>
          limit(() =>
            attemptOnce(item, index, attempt, () => {
              attempts = attempt;
            }),
          ),
        {
          retries: settings.attempts - 1,
          factor: 2,
          minTimeout: settings.backoffBaseMs,
          maxTimeout: settings.backoffMaxMs,
          randomize: true,
          signal,
          shouldRetry: ({ error }) => !signal?.aborted && error instanceof DeviceError && error.transient,
          onFailedAttempt: ({ error, retriesLeft }) => {
            if (retriesLeft > 0 && !signal?.aborted && error instanceof DeviceError && error.transient) {
              emit({ index, id: item.id, state: 'retrying', attempt: attempts, error });
            }
          },
        },
      );
      emit({ index, id: item.id, state: 'succeeded', attempt: attempts });
      return { id: item.id, state: 'succeeded', value, attempts };
    } catch (err) {
      const error = signal?.aborted ? cancelledError() : deviceErrorOf(err);
      const state = error.reason === 'cancelled' ? 'cancelled' : 'failed';
      emit({ index, id: item.id, state, attempt: attempts, error });
      return { id: item.id, state, error, attempts };
    }
  };

  items.forEach((item, index) => emit({ index, id: item.id, state: 'pending', attempt: 0 }));
  return Promise.all(items.map((item, index) => runItem(item, index)));
}

function noop(): void {}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
