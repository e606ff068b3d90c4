import { processState } from '../process-state';
import type { VerificationProgress } from './verification-view';

/**
 * The verifications of this process: at most one runs at a time (a second
 * request is refused in words), its progress, its abort controller (for the
 * shutdown and the scheduler, which yields to a backup), and a promise that
 * settles when its record is final. One per process (process-state.ts): a
 * route handler, a server action and the scheduler in server.ts each have
 * their own copy of this module, and must see the same verification.
 * Plain data only: classes differ between those copies.
 */
export type RunningSlot = { id: number | null; fileName: string; level: string; trigger: string; requestedBy: string; startedAt: number };

type Registry = {
  current: RunningSlot | null;
  controllers: Map<number, AbortController>;
  progress: Map<number, VerificationProgress>;
  done: Map<number, Promise<void>>;
};

export const registry = () =>
  processState<Registry>('verify.registry', () => ({ current: null, controllers: new Map(), progress: new Map(), done: new Map() }));

export function verificationProgress(id: number): VerificationProgress | null {
  const p = registry().progress.get(id);
  return p ? { ...p } : null;
}

/** The verification this process runs now (it may still be opening the file: id null), or null. */
export function runningVerification(): RunningSlot | null {
  const c = registry().current;
  return c ? { ...c } : null;
}

/** Waits until a verification of this process has its final record (tests, the scheduler). */
export function waitForVerification(id: number): Promise<void> {
  return registry().done.get(id) ?? Promise.resolve();
}

/** Stops the running verification (shutdown) and waits until its record says why. */
export async function abortRunningVerifications(reason: string): Promise<void> {
  const r = registry();
  // A plain Error: this may be called from another module instance (server.ts), where classes differ.
  for (const c of r.controllers.values()) c.abort(new Error(reason));
  await Promise.allSettled([...r.done.values()]);
}
