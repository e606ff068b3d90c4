'use client';
import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useRef, useState } from 'react';
import { nextVerdict, type FileVerifications, type VerificationView } from '@/lib/verify/verification-view';
import { formatBytes } from '@/app/ui/format';
import { RelativeTime } from '@/app/ui/relative-time';

/** What is verified: a backup of the history (its run), or a file in a storage location (its URL). */
export type VerifySubject = { runId: number } | { url: string };

type Known = FileVerifications & { history?: VerificationView[] };

const EVENT = 'webconf:verification';
type VerificationEvent = { key: string; view: VerificationView };

const keyOf = (s: VerifySubject) => ('runId' in s ? `run:${s.runId}` : `url:${s.url}`);
const query = (s: VerifySubject) => ('runId' in s ? `runId=${s.runId}` : `url=${encodeURIComponent(s.url)}`);

const PHASES: Record<string, string> = {
  reading: 'Checking the header, the signed manifest, the length and the last chunk',
  decrypting: 'Decrypting and checking every chunk and every file',
  database: 'Checking the database with SQLite',
};

const LEVEL_HELP = {
  quick: 'Quick: the header, the signed manifest, the exact length and the last chunk (a second or two, whatever the size)',
  full: 'Full: reads the whole file: every chunk, every file against its SHA-256, the database checked by SQLite',
};

async function answer<T>(res: Response): Promise<T> {
  const body = (await res.json().catch(() => null)) as (T & { error?: { message?: string; fields?: Record<string, string[]> } }) | null;
  if (!res.ok || !body) {
    const field = body?.error?.fields ? Object.values(body.error.fields)[0]?.[0] : undefined;
    throw new Error(field ?? body?.error?.message ?? `The console answered ${res.status}.`);
  }
  return body;
}

/** Folds a newer record of a verification into what is known of the file. */
function merge(known: Known, v: VerificationView): Known {
  if (known.latest && known.latest.id > v.id) return known;
  const history = known.history ? [v, ...known.history.filter((h) => h.id !== v.id)] : undefined;
  return { latest: v, verdict: nextVerdict(known.verdict, v), history };
}

/** The file's state in one line: its verdict (green or red), an interrupted last attempt (amber), or none yet. */
export function VerificationSummary({ known, canVerify }: { known: FileVerifications; canVerify: boolean }) {
  const { latest, verdict } = known;
  const unfinished = latest && latest.interrupted && (!verdict || latest.id > verdict.id) ? latest : null;
  return (
    <div className="space-y-1" data-testid="verify-summary">
      {verdict?.status === 'passed' ? (
        <p className="font-medium text-green-800" data-testid="verify-result">
          Verified ({verdict.level}) <RelativeTime iso={verdict.finishedAt ?? verdict.startedAt} />
          {verdict.trigger === 'scheduled' ? <span className="font-normal text-slate-600"> by the schedule</span> : null}
        </p>
      ) : verdict?.status === 'failed' ? (
        // As visible as a failed backup: the same red badge as a failed run's status, then the reason.
        <p className="text-red-800 [overflow-wrap:anywhere]" data-testid="verify-result">
          <span className="rounded bg-red-100 px-1.5 py-0.5 font-semibold text-red-900">Verify failed:</span> <span data-testid="verify-reason">{verdict.error}</span>{' '}
          <span className="text-xs text-slate-600">({verdict.level}, <RelativeTime iso={verdict.finishedAt ?? verdict.startedAt} />)</span>
        </p>
      ) : !latest || latest.status !== 'running' ? (
        <p className="text-slate-600" data-testid="verify-none">
          {canVerify ? 'Not verified yet. Quick checks the header, the signed manifest and the length in a second; Full reads and checks the whole file.' : 'Not verified yet.'}
        </p>
      ) : null}
      {unfinished ? (
        <p className="text-xs text-amber-900" data-testid="verify-unfinished">
          The last verification ({unfinished.level}, <RelativeTime iso={unfinished.finishedAt ?? unfinished.startedAt} />) did not finish: {unfinished.error}
        </p>
      ) : null}
    </div>
  );
}

function Progress({ v }: { v: VerificationView }) {
  const p = v.progress;
  const pct = p && p.bytesTotal ? Math.min(100, Math.floor((p.bytesDone / p.bytesTotal) * 100)) : null;
  const phase = PHASES[p?.phase ?? 'reading'] ?? 'Verifying';
  return (
    <div className="w-full max-w-72" data-testid="verify-progress">
      <div className="mb-1 text-xs text-sky-900">
        Verifying ({v.level}){v.trigger === 'scheduled' ? ', scheduled' : ''}: {phase}…
      </div>
      <div role="progressbar" aria-label={`Verification of ${v.fileName}`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct ?? undefined} aria-valuetext={pct === null ? phase : `${pct}%`}
        className="h-2 w-full overflow-hidden rounded bg-slate-200">
        <div className={`h-2 bg-sky-600 ${pct === null ? 'w-full animate-pulse opacity-40' : 'transition-all'}`} style={pct === null ? undefined : { width: `${pct}%` }} />
      </div>
      {p?.bytesTotal ? (
        <div className="mt-1 text-xs text-slate-600" data-testid="verify-progress-bytes">
          {formatBytes(p.bytesDone)} of {formatBytes(p.bytesTotal)} checked ({pct}%)
        </div>
      ) : null}
    </div>
  );
}

/**
 * Verify (Quick / Full) for one backup file, its state, and its progress
 * while a verification runs (polled every second). Every control showing
 * the same file follows the same verification (a window event), and the
 * page's server-rendered parts catch up when one ends. `panel` adds the
 * file's earlier verifications (read from the console).
 */
export function VerifyControl({
  subject,
  fileName,
  initial,
  canVerify,
  panel = false,
}: {
  subject: VerifySubject;
  fileName: string;
  initial?: FileVerifications;
  canVerify: boolean;
  panel?: boolean;
}) {
  const router = useRouter();
  const key = keyOf(subject);
  const [known, setKnown] = useState<Known>(initial ?? { latest: null, verdict: null });
  const [problem, setProblem] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const [loaded, setLoaded] = useState(Boolean(initial) && !panel);
  const watched = useRef<number | null>(null);

  const apply = useCallback(
    (v: VerificationView, broadcast: boolean) => {
      setKnown((k) => merge(k, v));
      if (broadcast) window.dispatchEvent(new CustomEvent<VerificationEvent>(EVENT, { detail: { key, view: v } }));
    },
    [key],
  );

  // A server render after a verification ended brings the newer state (the server's verdict, from the whole history).
  useEffect(() => {
    if (!initial) return;
    setKnown((k) => (!k.latest || (initial.latest && initial.latest.id >= k.latest.id) ? { ...initial, history: k.history } : k));
  }, [initial]);

  // The panel reads the file's history (and the newest state) itself.
  useEffect(() => {
    if (!panel && initial) return;
    let live = true;
    (async () => {
      try {
        const r = await answer<Known & { history: VerificationView[] }>(await fetch(`/api/verifications?${query(subject)}`, { cache: 'no-store' }));
        if (live) setKnown((k) => (k.latest && r.latest && k.latest.id > r.latest.id ? { ...k, history: r.history } : r));
      } catch (err) {
        if (live) setProblem((err as Error).message);
      } finally {
        if (live) setLoaded(true);
      }
    })();
    return () => {
      live = false;
    };
    // The subject is what matters, not the object's identity.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, panel]);

  // Other controls of the same file (the history row and its details dialog).
  useEffect(() => {
    const on = (e: Event) => {
      const d = (e as CustomEvent<VerificationEvent>).detail;
      if (d.key === key) apply(d.view, false);
    };
    window.addEventListener(EVENT, on);
    return () => window.removeEventListener(EVENT, on);
  }, [key, apply]);

  // While the latest runs: its progress every second, then its result.
  const runningId = known.latest?.status === 'running' ? known.latest.id : null;
  useEffect(() => {
    if (runningId === null) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const { verification } = await answer<{ verification: VerificationView }>(await fetch(`/api/verifications/${runningId}`, { cache: 'no-store' }));
        if (!live) return;
        apply(verification, true);
        if (verification.status !== 'running') {
          // Only the control that saw it end refreshes the page (the history's banner and rows).
          if (watched.current === runningId) router.refresh();
          return;
        }
      } catch {
        /* a missed poll: the next one tries again */
      }
      if (live) timer = setTimeout(poll, 1000);
    };
    watched.current = runningId;
    timer = setTimeout(poll, 500);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [runningId, apply, router]);

  const start = async (level: 'quick' | 'full') => {
    setProblem(null);
    setStarting(true);
    try {
      const { verification } = await answer<{ verification: VerificationView }>(
        await fetch('/api/verifications', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ level, ...subject }) }),
      );
      apply(verification, true);
    } catch (err) {
      setProblem((err as Error).message);
    } finally {
      setStarting(false);
    }
  };

  const running = known.latest?.status === 'running' ? known.latest : null;
  const earlier = (known.history ?? []).filter((h) => h.status !== 'running').slice(0, 5);
  return (
    <div className={`text-sm ${panel ? 'space-y-2' : 'space-y-1.5'}`} data-testid={panel ? 'verify-panel' : 'verify-control'} aria-busy={Boolean(running) || starting}>
      {panel ? <h3 className="font-semibold">Verification</h3> : null}
      {!loaded && !initial ? <p className="text-xs text-slate-600">Reading the verifications…</p> : <VerificationSummary known={known} canVerify={canVerify} />}
      {running ? <Progress v={running} /> : null}
      {canVerify ? (
        <div className="flex flex-wrap gap-2">
          {(['quick', 'full'] as const).map((level) => (
            <button key={level} type="button" disabled={Boolean(running) || starting} onClick={() => void start(level)} title={LEVEL_HELP[level]}
              aria-label={`${level === 'quick' ? 'Quick' : 'Full'} verify of ${fileName}`}
              className="rounded-md border border-slate-300 bg-white px-2.5 py-1 text-xs font-semibold text-slate-800 hover:bg-slate-100 disabled:opacity-60">
              {level === 'quick' ? 'Quick verify' : 'Full verify'}
            </button>
          ))}
        </div>
      ) : null}
      {problem ? <p role="alert" className="text-xs text-red-800" data-testid="verify-error">{problem}</p> : null}
      {panel && earlier.length ? (
        <details className="text-xs" data-testid="verify-history">
          <summary className="cursor-pointer text-slate-700">Earlier verifications ({earlier.length})</summary>
          <ul className="mt-1 space-y-1">
            {earlier.map((h) => (
              <li key={h.id} className={h.status === 'passed' ? 'text-green-900' : h.interrupted ? 'text-amber-900' : 'text-red-800'}>
                <RelativeTime iso={h.finishedAt ?? h.startedAt} /> — {h.level}, {h.trigger === 'scheduled' ? 'scheduled' : `by ${h.requestedBy}`}:{' '}
                {h.status === 'passed' ? 'passed' : h.interrupted ? `did not finish (${h.error})` : `failed: ${h.error}`}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </div>
  );
}
