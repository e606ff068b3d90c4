'use client';
import { useEffect, useRef, useState } from 'react';
import type { RestorePlan } from '@/lib/restore/plan';
import type { RestoreRunView } from '@/lib/restore/service';
import { formatBytes } from '@/app/ui/format';
import { RelativeTime } from '@/app/ui/relative-time';
import { RestorePlanView } from './restore-plan';

type Source = { kind: 'storage'; fileName: string } | { kind: 'incoming'; id: string };
type Incoming = { id: string; fileName: string; size: number; label: string };
type Problem = { message: string; fields?: Record<string, string[]> };
type Progress = { phase: string; bytesDone: number; bytesTotal: number | null; finished: null | { status: string; outcome: string } } | null;

const PHASES: Record<string, string> = {
  fetching: 'Fetching the backup',
  verifying: 'Verifying the backup (every chunk, every checksum)',
  staging: 'Staging the restored state beside the current one',
  'safety-copy': 'Keeping a safety copy of the current state',
  switching: 'Switching to the restored state',
  'post-check': 'Checking the restored state',
  done: 'Done',
};

const STATUS_STYLE: Record<string, string> = {
  succeeded: 'bg-green-100 text-green-900',
  running: 'bg-sky-100 text-sky-900',
  failed: 'bg-red-100 text-red-900',
  rolled_back: 'bg-red-100 text-red-900',
  interrupted: 'bg-amber-100 text-amber-900',
};
const STATUS_WORDS: Record<string, string> = { succeeded: 'Restored', running: 'Running', failed: 'Failed', rolled_back: 'Switched back', interrupted: 'Interrupted' };

async function call<T>(url: string, init?: RequestInit): Promise<{ ok: true; body: T } | { ok: false; status: number; problem: Problem }> {
  try {
    const res = await fetch(url, { cache: 'no-store', ...init });
    const body = await res.json().catch(() => null);
    if (res.ok) return { ok: true, body: body as T };
    return { ok: false, status: res.status, problem: body?.error ?? { message: `The console answered ${res.status}.` } };
  } catch {
    return { ok: false, status: 0, problem: { message: 'The console could not be reached.' } };
  }
}

const post = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

function FieldError({ id, errors }: { id: string; errors?: string[] }) {
  return errors?.length ? <p id={id} role="alert" className="mt-1 text-sm text-red-700">{errors[0]}</p> : null;
}

const input = (invalid: boolean) =>
  `mt-1 block w-full rounded-md border px-3 py-2 text-sm shadow-sm focus:outline-none focus:ring-2 focus:ring-sky-500 ${invalid ? 'border-red-500' : 'border-slate-300'}`;
const button = 'rounded-md border border-slate-300 px-3 py-2 text-sm font-medium hover:bg-slate-100 disabled:cursor-not-allowed disabled:opacity-50';
const primary = 'rounded-md bg-sky-700 px-4 py-2 text-sm font-semibold text-white hover:bg-sky-800 disabled:cursor-not-allowed disabled:opacity-50';

/** Upload through XMLHttpRequest: its upload.onprogress drives the progress bar (fetch has no upload progress). */
function upload(file: File, onProgress: (sent: number) => void): Promise<{ ok: true; file: Incoming } | { ok: false; problem: Problem }> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/restore/upload');
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('x-webconf-file-name', encodeURIComponent(file.name));
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      let body: { file?: Incoming; error?: Problem } | null = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status === 201 && body?.file) resolve({ ok: true, file: body.file });
      else resolve({ ok: false, problem: body?.error ?? { message: `The console answered ${xhr.status}.` } });
    };
    xhr.onerror = () => resolve({ ok: false, problem: { message: 'The upload was cut off: the console could not be reached.' } });
    xhr.send(file);
  });
}

function RemoteForm({ onFetched }: { onFetched: (f: Incoming) => void }) {
  const [values, setValues] = useState({ protocol: 'sftp', host: '', port: '22', user: '', path: '', auth: 'password' });
  // The secrets stay out of React state: a controlled input writes its value into the page's value attribute.
  const password = useRef<HTMLInputElement>(null);
  const privateKey = useRef<HTMLTextAreaElement>(null);
  const passphrase = useRef<HTMLInputElement>(null);
  const [key, setKey] = useState<{ keyType: string; fingerprint: string; pinned: string; pinnedFingerprint?: string } | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const set = (k: keyof typeof values) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>) => {
    setValues({ ...values, [k]: e.target.value });
    if (k === 'host' || k === 'port') setKey(null);
  };
  const f = problem?.fields ?? {};
  const text = (k: 'host' | 'port' | 'user' | 'path', label: string, hint?: string) => (
    <div>
      <label htmlFor={`remote-${k}`} className="block text-sm font-medium text-slate-700">{label}</label>
      <input id={`remote-${k}`} value={values[k]} onChange={set(k)} inputMode={k === 'port' ? 'numeric' : undefined} aria-invalid={Boolean(f[k])}
        aria-describedby={[f[k] ? `remote-${k}-error` : null, hint ? `remote-${k}-hint` : null].filter(Boolean).join(' ') || undefined} className={input(Boolean(f[k]))} />
      {hint ? <p id={`remote-${k}-hint`} className="mt-1 text-xs text-slate-500">{hint}</p> : null}
      <FieldError id={`remote-${k}-error`} errors={f[k]} />
    </div>
  );
  const probe = async () => {
    setBusy('Reading the host key…');
    setProblem(null);
    const r = await call<{ hostKey: NonNullable<typeof key> }>('/api/restore/remote/probe', post({ host: values.host, port: values.port }));
    setBusy(null);
    if (r.ok) setKey(r.body.hostKey);
    else setProblem(r.problem);
  };
  const pin = async () => {
    if (!key) return;
    setBusy('Pinning the host key…');
    const r = await call('/api/restore/remote/pin', post({ host: values.host, port: values.port, keyType: key.keyType, fingerprint: key.fingerprint }));
    setBusy(null);
    if (r.ok) setKey({ ...key, pinned: 'match' });
    else setProblem(r.problem);
  };
  const fetchIt = async () => {
    setBusy('Fetching the backup file…');
    setProblem(null);
    const phrase = passphrase.current?.value ?? '';
    const creds = values.auth === 'password' ? { password: password.current?.value ?? '' } : { privateKey: privateKey.current?.value ?? '', ...(phrase ? { passphrase: phrase } : {}) };
    const r = await call<{ file: Incoming }>('/api/restore/remote/fetch', post({ protocol: values.protocol, host: values.host, port: values.port, user: values.user, path: values.path, ...creds }));
    setBusy(null);
    if (r.ok) onFetched(r.body.file);
    else setProblem(r.problem);
  };
  return (
    <div className="space-y-3" data-testid="remote-form">
      <div>
        <label htmlFor="remote-protocol" className="block text-sm font-medium text-slate-700">Protocol</label>
        <select id="remote-protocol" value={values.protocol} onChange={set('protocol')} className={input(false)}>
          <option value="sftp">SFTP</option>
          <option value="scp">SCP</option>
        </select>
      </div>
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-3">
        <div className="sm:col-span-2">{text('host', 'Host', 'Name or address of the host that holds the backup file.')}</div>
        {text('port', 'Port')}
      </div>
      {text('user', 'User')}
      {text('path', 'Path of the backup file', 'For example /srv/backups/site-a-webconf01-20261122T043000Z.tar.age')}
      <fieldset>
        <legend className="text-sm font-medium text-slate-700">Sign in with</legend>
        <div className="mt-1 flex gap-4 text-sm">
          <label className="flex items-center gap-2"><input type="radio" name="remote-auth" value="password" checked={values.auth === 'password'} onChange={set('auth')} /> Password</label>
          <label className="flex items-center gap-2"><input type="radio" name="remote-auth" value="key" checked={values.auth === 'key'} onChange={set('auth')} /> Private key</label>
        </div>
      </fieldset>
      {values.auth === 'password' ? (
        <div>
          <label htmlFor="remote-password" className="block text-sm font-medium text-slate-700">Password</label>
          <input id="remote-password" ref={password} type="password" autoComplete="off" aria-invalid={Boolean(f.credentials)}
            aria-describedby={f.credentials ? 'remote-credentials-error' : undefined} className={input(Boolean(f.credentials))} />
        </div>
      ) : (
        <>
          <div>
            <label htmlFor="remote-key" className="block text-sm font-medium text-slate-700">Private key (PEM or OpenSSH)</label>
            <textarea id="remote-key" ref={privateKey} rows={4} aria-invalid={Boolean(f.privateKey ?? f.credentials)}
              aria-describedby={f.privateKey ? 'remote-privateKey-error' : f.credentials ? 'remote-credentials-error' : undefined} className={`${input(Boolean(f.privateKey))} font-mono text-xs`} />
            <FieldError id="remote-privateKey-error" errors={f.privateKey} />
          </div>
          <div>
            <label htmlFor="remote-passphrase" className="block text-sm font-medium text-slate-700">Key passphrase (if any)</label>
            <input id="remote-passphrase" ref={passphrase} type="password" autoComplete="off" aria-invalid={Boolean(f.passphrase)}
              aria-describedby={f.passphrase ? 'remote-passphrase-error' : undefined} className={input(Boolean(f.passphrase))} />
            <FieldError id="remote-passphrase-error" errors={f.passphrase} />
          </div>
        </>
      )}
      <FieldError id="remote-credentials-error" errors={f.credentials} />
      {key ? (
        <div data-testid="host-key" className={`rounded-md border p-3 text-sm ${key.pinned === 'changed' ? 'border-red-300 bg-red-50 text-red-900' : key.pinned === 'match' ? 'border-green-300 bg-green-50 text-green-900' : 'border-amber-300 bg-amber-50 text-amber-900'}`}>
          <p>
            {values.host}:{values.port} presents the {key.keyType} host key <code className="break-all font-semibold">{key.fingerprint}</code>
          </p>
          {key.pinned === 'unknown' ? (
            <>
              <p className="mt-1">This host is new to the appliance. Compare the fingerprint with what <code>ssh-keygen -lf /etc/ssh/ssh_host_{key.keyType.replace(/^ssh-|ecdsa-sha2-nistp\d+/, (m) => (m.startsWith('ecdsa') ? 'ecdsa' : ''))}_key.pub</code> prints on that host, then trust it.</p>
              <button type="button" className={`${button} mt-2`} onClick={pin} disabled={Boolean(busy)}>Trust this host key</button>
            </>
          ) : key.pinned === 'changed' ? (
            <p className="mt-1" role="alert">The host key changed: the appliance trusts {key.pinnedFingerprint}. Nothing will be fetched from this host until the change is explained.</p>
          ) : (
            <p className="mt-1">This is the host key the appliance trusts.</p>
          )}
        </div>
      ) : null}
      {problem && !Object.keys(f).length ? <p role="alert" className="text-sm text-red-800" data-testid="remote-error">{problem.message}</p> : null}
      {busy ? <div role="progressbar" aria-label={busy} className="h-2 w-full animate-pulse rounded bg-sky-200" /> : null}
      <div className="flex flex-wrap gap-2">
        <button type="button" className={button} onClick={probe} disabled={Boolean(busy) || !values.host}>Show host key</button>
        <button type="button" className={primary} onClick={fetchIt} disabled={Boolean(busy) || key?.pinned !== 'match'}>Fetch the backup file</button>
      </div>
    </div>
  );
}

export function RestoreSection({ backups, applianceName, initialRecent, preselected }: { backups: { fileName: string; finishedAt: string | null }[]; applianceName: string; initialRecent: RestoreRunView[]; preselected?: string | null }) {
  const [kind, setKind] = useState<'storage' | 'upload' | 'remote'>('storage');
  const [fileName, setFileName] = useState(preselected && backups.some((b) => b.fileName === preselected) ? preselected : (backups[0]?.fileName ?? ''));
  const [incoming, setIncoming] = useState<Incoming | null>(null);
  const [sent, setSent] = useState<{ done: number; total: number } | null>(null);
  // Uncontrolled, read when sent: a controlled input would write the secret into the page's value attribute.
  const dmsInput = useRef<HTMLInputElement>(null);
  const dms = () => dmsInput.current?.value || undefined;
  const [needDms, setNeedDms] = useState(false);
  const [plan, setPlan] = useState<RestorePlan | null>(null);
  const [planning, setPlanning] = useState(false);
  const [confirm, setConfirm] = useState('');
  const [problem, setProblem] = useState<Problem | null>(null);
  // A restore this page started (its end signs everyone out), or one already running when the page loaded (it is watched).
  const [started, setStarted] = useState(initialRecent[0]?.status === 'running');
  const mine = useRef(false);
  const [progress, setProgress] = useState<Progress>(null);
  const [recent, setRecent] = useState(initialRecent);
  const sectionRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (preselected) sectionRef.current?.scrollIntoView({ block: 'start' });
  }, [preselected]);

  const source: Source | null = kind === 'storage' ? (fileName ? { kind: 'storage', fileName } : null) : incoming ? { kind: 'incoming', id: incoming.id } : null;
  const reset = () => {
    setPlan(null);
    setProblem(null);
    setConfirm('');
  };

  // While a restore runs: its progress every second. Every session ends with it: a 401 after the switch means "sign in again".
  useEffect(() => {
    if (!started) return;
    let live = true;
    const tick = async () => {
      const r = await call<{ current: Progress; recent: RestoreRunView[] }>('/api/restore');
      if (!live) return;
      if (!r.ok && r.status === 401) {
        window.location.assign('/login?restored=1');
        return;
      }
      if (r.ok) {
        setProgress(r.body.current);
        setRecent(r.body.recent);
        const running = r.body.recent[0]?.status === 'running';
        if (r.body.current?.finished || !running) {
          setStarted(false);
          if (mine.current && r.body.current?.finished?.status === 'succeeded') window.location.assign('/login?restored=1');
        }
      }
    };
    const t = setInterval(() => void tick(), 1000);
    void tick();
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [started]);

  const runPlan = async () => {
    if (!source) return;
    reset();
    setPlanning(true);
    const r = await call<{ plan: RestorePlan }>('/api/restore/plan', post({ source, dms: dms() }));
    setPlanning(false);
    if (r.ok) setPlan(r.body.plan);
    else {
      if (r.problem.fields?.dms) setNeedDms(true);
      setProblem(r.problem);
    }
  };
  const runRestore = async () => {
    if (!source || !plan) return;
    setProblem(null);
    const r = await call<{ runId: number }>('/api/restore', post({ source, dms: dms(), confirm }));
    if (r.ok) {
      mine.current = true;
      setStarted(true);
    } else setProblem(r.problem);
  };
  const onFile = async (e: React.ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    reset();
    setIncoming(null);
    if (!file) return;
    setSent({ done: 0, total: file.size });
    const r = await upload(file, (done) => setSent({ done, total: file.size }));
    setSent(null);
    if (r.ok) setIncoming(r.file);
    else setProblem(r.problem);
  };

  const fields = problem?.fields ?? {};
  const bannerProblem = problem && !fields.dms && !fields.confirm ? problem.message : null;
  const last = recent[0];
  return (
    <div ref={sectionRef} id="restore" className="space-y-6" data-testid="restore-section">
      <p className="max-w-3xl text-sm text-slate-600">
        A restore returns the appliance to the state it had when the backup was made: accounts, sign-in settings, backup settings and history, the firmware and system configuration. It can come from this appliance or another one. Every session ends when it is done.
      </p>
      {last && last.status !== 'running' ? (
        <div data-testid="last-restore" role={last.status === 'succeeded' ? 'status' : 'alert'}
          className={`rounded-md border px-4 py-3 text-sm ${last.status === 'succeeded' ? 'border-green-300 bg-green-50 text-green-900' : 'border-red-300 bg-red-50 text-red-900'}`}>
          <p className="font-semibold">Last restore: {STATUS_WORDS[last.status] ?? last.status}{last.finishedAt ? <>, <RelativeTime iso={last.finishedAt} /></> : null}</p>
          <p>{last.outcome}</p>
        </div>
      ) : null}

      {started || (mine.current && progress?.finished) ? (
        <div data-testid="restore-progress" className="space-y-2">
          <p className="text-sm font-medium">{progress?.finished ? (progress.finished.status === 'succeeded' ? 'Restored.' : progress.finished.outcome) : PHASES[progress?.phase ?? 'verifying'] ?? progress?.phase}</p>
          {!progress?.finished ? (
            progress?.bytesTotal && progress.phase === 'verifying' && progress.bytesDone ? (
              <progress className="h-2 w-full" max={progress.bytesTotal} value={progress.bytesDone} aria-label="Restore progress">{Math.round((100 * progress.bytesDone) / progress.bytesTotal)}%</progress>
            ) : (
              <div role="progressbar" aria-label={PHASES[progress?.phase ?? 'verifying']} className="h-2 w-full animate-pulse rounded bg-sky-200" />
            )
          ) : null}
          <p className="text-xs text-slate-500">Do not restart or shut down the Software Appliance while the restore is running. You will be asked to sign in again with an account of the restored state.</p>
        </div>
      ) : (
        <>
          <fieldset>
            <legend className="mb-2 text-sm font-semibold">Restore from</legend>
            <div className="flex flex-col gap-2 text-sm sm:flex-row sm:gap-6">
              {([
                ['storage', 'A backup on the storage location'],
                ['upload', 'An uploaded backup file'],
                ['remote', 'A remote host (SFTP or SCP)'],
              ] as const).map(([k, label]) => (
                <label key={k} className="flex items-center gap-2">
                  <input type="radio" name="restore-source" value={k} checked={kind === k} onChange={() => (setKind(k), reset(), setIncoming(null))} /> {label}
                </label>
              ))}
            </div>
          </fieldset>

          {kind === 'storage' ? (
            backups.length ? (
              <div>
                <label htmlFor="restore-file" className="block text-sm font-medium text-slate-700">Backup</label>
                <select id="restore-file" value={fileName} onChange={(e) => (setFileName(e.target.value), reset())} className={input(false)}>
                  {backups.map((b) => <option key={b.fileName} value={b.fileName}>{b.fileName}</option>)}
                </select>
              </div>
            ) : (
              <p className="text-sm text-slate-600" data-testid="restore-no-backups">No backup on the storage location yet. Make one with Backup now, or restore from an uploaded file or a remote host.</p>
            )
          ) : kind === 'upload' ? (
            <div>
              <label htmlFor="restore-upload" className="block text-sm font-medium text-slate-700">Backup file (.tar.age)</label>
              <input id="restore-upload" type="file" accept=".age,application/octet-stream" onChange={onFile} className="mt-1 block w-full text-sm" />
              {sent ? <progress className="mt-2 h-2 w-full" max={sent.total} value={sent.done} aria-label="Upload progress" /> : null}
              {incoming ? <p className="mt-1 text-sm text-green-800" data-testid="uploaded">Uploaded {incoming.fileName} ({formatBytes(incoming.size)}).</p> : null}
            </div>
          ) : incoming ? (
            <p className="text-sm text-green-800" data-testid="fetched">Fetched {incoming.label} ({formatBytes(incoming.size)}).</p>
          ) : (
            <RemoteForm onFetched={(f) => (setIncoming(f), reset())} />
          )}

          <div>
            {needDms ? null : (
              <button type="button" className="text-sm text-sky-800 underline" onClick={() => setNeedDms(true)}>The backup was made with another Domain Master Secret</button>
            )}
            {needDms ? (
              <div>
                <label htmlFor="restore-dms" className="block text-sm font-medium text-slate-700">Domain Master Secret of the backup</label>
                <input id="restore-dms" ref={dmsInput} type="password" autoComplete="off" aria-invalid={Boolean(fields.dms)}
                  aria-describedby={['restore-dms-hint', fields.dms ? 'restore-dms-error' : null].filter(Boolean).join(' ')} className={input(Boolean(fields.dms))} />
                <p id="restore-dms-hint" className="mt-1 text-xs text-slate-500">Needed on another appliance or after a factory reset. It is used to open the backup and never stored in clear.</p>
                <FieldError id="restore-dms-error" errors={fields.dms} />
              </div>
            ) : null}
          </div>

          {bannerProblem ? <p role="alert" className="rounded-md border border-red-300 bg-red-50 px-4 py-3 text-sm text-red-900" data-testid="restore-error">{bannerProblem}</p> : null}
          {planning ? <div role="progressbar" aria-label="Verifying the backup and planning the restore" className="h-2 w-full animate-pulse rounded bg-sky-200" /> : null}
          <button type="button" className={primary} onClick={runPlan} disabled={!source || planning}>Check the backup (dry-run)</button>

          {plan ? (
            <div className="space-y-4 border-t border-slate-200 pt-4">
              <h3 className="font-semibold">Restore plan</h3>
              <RestorePlanView plan={plan} />
              {!plan.blockers.length ? (
                <div className="space-y-2">
                  <label htmlFor="restore-confirm" className="block text-sm font-medium text-slate-700">Type the appliance name, {plan.confirmWith}, to confirm</label>
                  <input id="restore-confirm" value={confirm} onChange={(e) => setConfirm(e.target.value)} autoComplete="off" aria-invalid={Boolean(fields.confirm)}
                    aria-describedby={fields.confirm ? 'restore-confirm-error' : undefined} className={input(Boolean(fields.confirm))} />
                  <FieldError id="restore-confirm-error" errors={fields.confirm} />
                  <button type="button" className="rounded-md bg-red-700 px-4 py-2 text-sm font-semibold text-white hover:bg-red-800 disabled:cursor-not-allowed disabled:opacity-50"
                    disabled={confirm.trim() !== plan.confirmWith} onClick={runRestore}>Restore {applianceName}</button>
                </div>
              ) : null}
            </div>
          ) : null}
        </>
      )}

      {recent.length ? (
        <div>
          <h3 className="mb-2 text-sm font-semibold">Recent restores</h3>
          <ul className="space-y-2 text-sm" data-testid="recent-restores">
            {recent.map((r) => (
              <li key={r.id} className="rounded border border-slate-200 p-2">
                <span className={`mr-2 rounded px-2 py-0.5 text-xs font-medium ${STATUS_STYLE[r.status] ?? ''}`}>{STATUS_WORDS[r.status] ?? r.status}</span>
                <span className="break-all">{r.fileName}</span>
                <span className="block text-xs text-slate-600">by {r.requestedBy}, <RelativeTime iso={r.startedAt} />, from {r.sourceLabel}</span>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </div>
  );
}
