import { describe, expect, it } from 'vitest';
import { summarize, type VerificationView } from '@/lib/verify/verification-view';

/** A file's state from its verifications: the latest, and the verdict (a quick pass does not clear a full failure). */
let seq = 0;
function v(level: 'quick' | 'full', status: 'running' | 'passed' | 'failed', interrupted = false): VerificationView {
  const id = ++seq;
  return {
    id,
    backupRunId: 1,
    location: 'file:///srv',
    fileName: 'a.tar.age',
    level,
    trigger: 'manual',
    requestedBy: 'op',
    status,
    startedAt: new Date(id * 1000).toISOString(),
    finishedAt: status === 'running' ? null : new Date(id * 1000 + 500).toISOString(),
    result: null,
    error: status === 'failed' ? 'why' : null,
    interrupted,
    progress: null,
  };
}
/** Oldest first in, newest first to summarize (as the queries give them). */
const of = (...list: VerificationView[]) => summarize([...list].reverse());

describe('summarize', () => {
  it('nothing: no latest, no verdict', () => {
    expect(of()).toEqual({ latest: null, verdict: null });
  });

  it('the newest verdict, not a running or interrupted one', () => {
    const pass = v('full', 'passed');
    const stopped = v('full', 'failed', true);
    const running = v('quick', 'running');
    expect(of(pass, stopped, running)).toEqual({ latest: running, verdict: pass });
  });

  it('a quick pass after a full failure leaves the failure; a full pass clears it; a quick failure is a verdict', () => {
    const fullFail = v('full', 'failed');
    const quickPass = v('quick', 'passed');
    expect(of(fullFail, quickPass).verdict).toBe(fullFail);
    const fullPass = v('full', 'passed');
    expect(of(fullFail, quickPass, fullPass).verdict).toBe(fullPass);
    const quickFail = v('quick', 'failed');
    expect(of(fullFail, quickPass, fullPass, quickFail).verdict).toBe(quickFail);
    const quickPass2 = v('quick', 'passed');
    expect(of(fullPass, quickPass2).verdict).toBe(quickPass2);
  });
});
