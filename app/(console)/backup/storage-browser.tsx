'use client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useFormStatus } from 'react-dom';
import type { BrowseResult } from '@/lib/storage/browser';
import type { BackupDetailsView } from '@/lib/backup/backup-details-view';
import { childUrl } from '@/lib/storage/child-url';
import { formatSize } from '@/lib/storage/format-size';
import { RelativeTime } from '@/app/ui/relative-time';
import { BackupDetailsTable } from './backup-details';
import { VerifyControl } from './verify-control';

const PAGE = 100;

/** Use This Location submits the storage form the dialog sits in: disabled while it is being saved. */
function UseButton({ disabled, onClick }: { disabled: boolean; onClick: () => void }) {
  const { pending } = useFormStatus();
  return (
    <button type="button" disabled={disabled || pending} onClick={onClick}
      className="rounded-md bg-sky-700 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-sky-800 disabled:opacity-60">
      {pending ? 'Checking the location…' : 'Use This Location'}
    </button>
  );
}

/** Small outline icons (no emoji: an appliance's browser may have no emoji font). */
function Icon({ kind }: { kind: 'folder' | 'file' | 'backup' | 'other' }) {
  const d = {
    folder: 'M3 6.5A1.5 1.5 0 0 1 4.5 5h4l2 2h9A1.5 1.5 0 0 1 21 8.5v9a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5z',
    file: 'M6 3h8l4 4v14H6z M14 3v4h4',
    backup: 'M4 7h16v4H4z M5 11h14v8H5z M10 15h4',
    other: 'M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1 M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1',
  }[kind];
  return (
    <svg aria-hidden="true" viewBox="0 0 24 24" className={`h-4 w-4 shrink-0 ${kind === 'folder' ? 'text-sky-700' : kind === 'backup' ? 'text-green-700' : 'text-slate-500'}`} fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinejoin="round">
      <path d={d} />
    </svg>
  );
}

type Problem = { message: string };

async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(url, { cache: 'no-store', signal });
  const body = (await res.json().catch(() => null)) as (T & { error?: { message?: string } }) | null;
  if (!res.ok || !body) {
    const fields = (body?.error as { fields?: Record<string, string[]> } | undefined)?.fields;
    const first = fields ? Object.values(fields)[0]?.[0] : undefined;
    throw { message: first ?? body?.error?.message ?? `The console answered ${res.status}.` } satisfies Problem;
  }
  return body;
}

/**
 * The storage browser (seed: Browse Storage): a dialog that opens at the
 * configured or typed location. Breadcrumbs, folders to click one level
 * down, One level up, a Filter that narrows the entries (on the server),
 * "N of M" and more entries loaded as the list is scrolled, and the
 * Storage Information panel: Permission, Used, Remaining and Total Disk
 * Space, or the Backup Details of a backup file clicked in the list. An
 * error in one folder is shown in place. Use This Location hands the
 * folder to the form (admins only).
 */
export function StorageBrowser({
  open,
  startUrl,
  canSave,
  canVerify = false,
  onClose,
  onUse,
  saveProblem,
}: {
  open: boolean;
  startUrl: string;
  canSave: boolean;
  /** Operators and admins: Verify (Quick / Full) in a backup's details. */
  canVerify?: boolean;
  onClose: () => void;
  onUse?: (url: string) => void;
  /** Why the last Use This Location was refused: shown in the dialog (the form behind the modal is out of reach). */
  saveProblem?: string | null;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [url, setUrl] = useState(startUrl);
  const [filter, setFilter] = useState('');
  const [query, setQuery] = useState('');
  const [page, setPage] = useState<BrowseResult | null>(null);
  const [entries, setEntries] = useState<BrowseResult['entries']>([]);
  const [info, setInfo] = useState<BrowseResult['info']>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  // The folder shown is the listing kept of it, and it has changed since: the new listing is on its way.
  const [updating, setUpdating] = useState(false);
  // The folder could not be read again: the entries shown are its kept listing, read at this time (ms).
  const [outdatedSince, setOutdatedSince] = useState<number | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [details, setDetails] = useState<BackupDetailsView | null>(null);
  const [detailsProblem, setDetailsProblem] = useState<string | null>(null);
  const [detailsLoading, setDetailsLoading] = useState(false);
  const sentinel = useRef<HTMLLIElement>(null);
  const request = useRef(0);
  const detailsRequest = useRef(0);
  const list = useRef<HTMLUListElement>(null);
  // After a folder was opened from inside the dialog, focus goes to its listing (the clicked entry is gone).
  const focusList = useRef(false);
  // Close through the dialog (focus goes back to what opened it); its close event tells the parent.
  const close = () => (dialog.current?.open ? dialog.current.close() : onClose());

  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (open && !d.open) {
      setUrl(startUrl);
      setFilter('');
      setQuery('');
      d.showModal();
    } else if (!open && d.open) d.close();
  }, [open, startUrl]);

  // The filter is sent a moment after typing stops.
  useEffect(() => {
    const t = setTimeout(() => setQuery(filter), 250);
    return () => clearTimeout(t);
  }, [filter]);

  const load = useCallback(
    async (cursor: string | null) => {
      const mine = ++request.current;
      setLoading(true);
      if (!cursor) {
        setProblem(null);
        setUpdating(false);
        setOutdatedSince(null);
        // Another folder: what was shown of the last one must not stand for this one.
        setInfo(null);
      }
      // A stale first page on screen stays there if reading the folder again fails (the error is shown beside it,
      // and that the entries are the folder as it was read).
      let shown = false;
      let staleAt: number | null = null;
      const params = new URLSearchParams({ url, limit: String(PAGE) });
      if (query) params.set('filter', query);
      if (cursor) params.set('cursor', cursor);
      // A first page may come from the listing the console kept of the folder, marked stale if the folder
      // changed since: it is shown at once, and the new listing replaces it when it arrives.
      else params.set('kept', '1');
      try {
        let r = await getJson<BrowseResult>(`/api/storage/browse?${params}`);
        if (mine !== request.current) return;
        const show = (p: BrowseResult) => {
          setPage(p);
          setEntries((prev) => (cursor ? [...prev, ...p.entries] : p.entries));
          if (p.info) setInfo(p.info);
        };
        show(r);
        shown = true;
        if (!cursor && focusList.current) {
          focusList.current = false;
          requestAnimationFrame(() => list.current?.focus());
        }
        if (r.stale) {
          staleAt = r.listedAt;
          setUpdating(true);
          params.delete('kept');
          r = await getJson<BrowseResult>(`/api/storage/browse?${params}`);
          if (mine !== request.current) return;
          show(r);
        }
      } catch (err) {
        if (mine !== request.current) return;
        if (!cursor && !shown) {
          setEntries([]);
          setPage(null);
        }
        if (staleAt !== null) setOutdatedSince(staleAt);
        setProblem((err as Problem).message ?? 'The folder could not be read.');
      } finally {
        if (mine === request.current) {
          setLoading(false);
          setUpdating(false);
        }
      }
    },
    [url, query],
  );

  useEffect(() => {
    if (!open) return;
    setSelected(null);
    setDetails(null);
    setDetailsProblem(null);
    void load(null);
  }, [open, load]);

  // More entries as the end of the list scrolls into view.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !page?.nextCursor) return;
    const io = new IntersectionObserver((seen) => {
      if (seen.some((s) => s.isIntersecting) && !loading && page.nextCursor) void load(page.nextCursor);
    });
    io.observe(el);
    return () => io.disconnect();
  }, [page, loading, load]);

  const showDetails = async (entryUrl: string) => {
    // Reading details takes about a second (the file key's scrypt): a later click wins over an earlier answer.
    const mine = ++detailsRequest.current;
    setSelected(entryUrl);
    setDetails(null);
    setDetailsProblem(null);
    setDetailsLoading(true);
    try {
      const r = await getJson<{ details: BackupDetailsView }>(`/api/storage/details?${new URLSearchParams({ url: entryUrl })}`);
      if (mine === detailsRequest.current) setDetails(r.details);
    } catch (err) {
      if (mine === detailsRequest.current) setDetailsProblem((err as Problem).message);
    } finally {
      if (mine === detailsRequest.current) setDetailsLoading(false);
    }
  };

  const go = (next: string) => {
    focusList.current = true;
    setFilter('');
    setQuery('');
    setUrl(next);
  };

  const writable = info?.access.write ?? false;
  return (
    <dialog
      ref={dialog}
      aria-labelledby="browser-title"
      // Escape closes the dialog natively (focus returns to what opened it); its close event tells the parent.
      onClose={onClose}
      className="m-auto w-full max-w-5xl rounded-lg p-0 shadow-xl backdrop:bg-slate-900/40 max-sm:h-full max-sm:max-h-none max-sm:max-w-none"
      data-testid="storage-browser"
    >
      <div className="flex max-h-[90vh] flex-col max-sm:max-h-full md:h-[85vh]">
        <div className="flex items-center gap-3 border-b border-slate-200 px-4 py-3">
          <h2 id="browser-title" className="text-lg font-semibold">Browse Storage</h2>
          <button type="button" onClick={close} className="ml-auto rounded-md border border-slate-300 px-3 py-1 text-sm hover:bg-slate-100">
            Close
          </button>
        </div>
        <div className="flex min-h-0 flex-1 flex-col gap-4 overflow-y-auto p-4 md:flex-row md:overflow-hidden">
          <div className="flex min-w-0 flex-col md:min-h-0 md:flex-1">
            <nav aria-label="Location" className="mb-2 text-sm">
              <ol className="flex flex-wrap items-center gap-1" data-testid="breadcrumbs">
                {(page?.breadcrumbs ?? []).map((b, i, all) => (
                  <li key={b.url} className="flex items-center gap-1">
                    {i > 0 ? <span aria-hidden="true" className="text-slate-400">/</span> : null}
                    {i === all.length - 1 ? (
                      <span aria-current="page" className="break-all font-semibold">{b.name}</span>
                    ) : (
                      <button type="button" onClick={() => go(b.url)} className="break-all text-sky-800 underline">{b.name}</button>
                    )}
                  </li>
                ))}
              </ol>
            </nav>
            <div className="mb-2 flex flex-wrap items-end gap-2">
              <button type="button" disabled={!page?.parentUrl} onClick={() => page?.parentUrl && go(page.parentUrl)}
                className="rounded-md border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-100 disabled:opacity-50">
                One level up
              </button>
              <div className="min-w-40 flex-1">
                <label htmlFor="browser-filter" className="block text-xs font-medium text-slate-700">Filter</label>
                <input id="browser-filter" type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="Part of a name"
                  // The dialog sits inside the storage form: Enter filters, it does not save.
                  onKeyDown={(e) => {
                    if (e.key === 'Enter') {
                      e.preventDefault();
                      setQuery(filter);
                    }
                  }}
                  className="mt-0.5 block w-full rounded-md border border-slate-300 px-2 py-1.5 text-sm" />
              </div>
            </div>
            <p className="mb-1 text-xs text-slate-600" aria-live="polite" data-testid="browser-count">
              {page ? (query ? `${entries.length} of ${page.matched} shown (${page.matched} of ${page.total} match "${query}")` : `${entries.length} of ${page.total} shown`) : loading ? 'Loading…' : ''}
            </p>
            {page && updating ? (
              <p role="status" className="mb-1 text-xs text-amber-800" data-testid="browser-updating">
                The folder changed since it was read <RelativeTime iso={new Date(page.listedAt).toISOString()} />; reading it again…
              </p>
            ) : null}
            {problem ? (
              <p role="alert" className="mb-2 rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-900" data-testid="browser-error">{problem}</p>
            ) : null}
            {outdatedSince !== null ? (
              <p className="mb-1 text-xs text-amber-800" data-testid="browser-outdated">
                The entries below are the folder as it was read <RelativeTime iso={new Date(outdatedSince).toISOString()} />, before it changed.
              </p>
            ) : null}
            <ul ref={list} tabIndex={-1} aria-label={`Entries of ${page?.breadcrumbs.at(-1)?.name ?? 'the folder'}`}
              className="max-h-[45vh] min-h-24 overflow-y-auto rounded-md border border-slate-200 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500 md:max-h-none md:min-h-40 md:flex-1" data-testid="browser-entries" aria-busy={loading && !updating}>
              {entries.map((e) => {
                const eUrl = page ? childUrl(page, e.name) : '';
                return (
                <li key={e.name} className={`border-b border-slate-100 last:border-0 ${selected === eUrl ? 'bg-sky-50' : ''}`}>
                  {e.type === 'directory' ? (
                    <button type="button" onClick={() => go(eUrl)} className="flex w-full items-center gap-2 px-3 py-2 text-left text-sm hover:bg-slate-50" data-testid="browser-folder">
                      <Icon kind="folder" />
                      <span className="min-w-0 flex-1 break-all">{e.name}</span>
                    </button>
                  ) : e.isBackup ? (
                    <button type="button" onClick={() => void showDetails(eUrl)} aria-pressed={selected === eUrl}
                      className="flex w-full flex-wrap items-center gap-2 px-3 py-2 text-left text-sm hover:bg-slate-50" data-testid="browser-backup">
                      <Icon kind="backup" />
                      <span className="min-w-0 flex-1 break-all">{e.name}</span>
                      <span className="rounded bg-green-100 px-1.5 text-xs font-semibold text-green-900">Backup</span>
                      <span className="text-xs text-slate-600">{formatSize(e.size)}</span>
                    </button>
                  ) : (
                    <div className="flex flex-wrap items-center gap-2 px-3 py-2 text-sm text-slate-600" data-testid="browser-file">
                      <Icon kind={e.type === 'file' ? 'file' : 'other'} />
                      <span className="min-w-0 flex-1 break-all">{e.name}</span>
                      {e.type === 'file' ? <span className="text-xs">{formatSize(e.size)}</span> : <span className="text-xs">link or special file</span>}
                      {e.modifiedAt !== null ? <span className="text-xs"><RelativeTime iso={new Date(e.modifiedAt).toISOString()} /></span> : null}
                    </div>
                  )}
                </li>
                );
              })}
              {page && !entries.length && !problem ? (
                <li className="px-3 py-6 text-center text-sm text-slate-600" data-testid="browser-empty">
                  {query ? `Nothing here matches "${query}". Clear the filter to see all ${page.total} entries.` : canSave ? 'This folder is empty. Use This Location to keep backups here, or open a folder above.' : 'This folder is empty.'}
                </li>
              ) : null}
              {page?.nextCursor ? (
                <li ref={sentinel} className="px-3 py-2 text-center">
                  <button type="button" onClick={() => void load(page.nextCursor)} disabled={loading} className="text-sm text-sky-800 underline">
                    {loading ? 'Loading…' : 'Load more'}
                  </button>
                </li>
              ) : null}
            </ul>
          </div>
          <aside aria-labelledby="storage-info-title" className="w-full shrink-0 rounded-md border border-slate-200 p-3 text-sm md:w-80 md:overflow-y-auto" data-testid="storage-info">
            {selected ? (
              <>
                <div className="mb-2 flex items-center gap-2">
                  <h3 id="storage-info-title" className="font-semibold">Backup Details</h3>
                  <button type="button" onClick={() => setSelected(null)} className="ml-auto text-xs text-sky-800 underline">Storage Information</button>
                </div>
                {detailsLoading ? (
                  <div role="progressbar" aria-label="Reading the backup's header and manifest" className="h-2 w-full animate-pulse rounded bg-sky-200" />
                ) : detailsProblem ? (
                  <p role="alert" className="text-red-800" data-testid="details-error">{detailsProblem}</p>
                ) : details ? (
                  <>
                    <BackupDetailsTable details={details} />
                    <div className="mt-3 border-t border-slate-200 pt-3">
                      <VerifyControl key={selected} subject={{ url: selected }} fileName={details.fileName} canVerify={canVerify} panel />
                    </div>
                  </>
                ) : null}
              </>
            ) : (
              <>
                <h3 id="storage-info-title" className="mb-2 font-semibold">Storage Information</h3>
                {info ? (
                  <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1">
                    <dt className="text-slate-600">Permission</dt>
                    <dd data-testid="info-permission">{[info.access.read ? 'read' : null, info.access.write ? 'write' : null].filter(Boolean).join(', ') || 'none'}</dd>
                    <dt className="text-slate-600">Used Disk Space</dt>
                    <dd data-testid="info-used">{info.space ? formatSize(info.space.usedBytes) : 'unknown'}</dd>
                    <dt className="text-slate-600">Remaining Disk Space</dt>
                    <dd data-testid="info-free">{info.space ? formatSize(info.space.freeBytes) : 'unknown'}</dd>
                    <dt className="text-slate-600">Total Disk Space</dt>
                    <dd data-testid="info-total">{info.space ? formatSize(info.space.totalBytes) : 'unknown'}</dd>
                  </dl>
                ) : (
                  <p className="text-slate-600">{loading ? 'Reading…' : 'No information for this location.'}</p>
                )}
                {info?.spaceWarning ? (
                  <p role="status" className="mt-3 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-amber-900" data-testid="info-warning">{info.spaceWarning}</p>
                ) : null}
                {info && !writable ? <p className="mt-3 text-xs text-slate-600">The console may not write here: choose a folder with write permission for backups.</p> : null}
                <p className="mt-3 text-xs text-slate-500">Click a backup in the list to see its details.</p>
              </>
            )}
          </aside>
        </div>
        <div className="flex flex-wrap items-center gap-3 border-t border-slate-200 px-4 py-3">
          <span className="min-w-0 flex-1 break-all font-mono text-xs text-slate-600" data-testid="browser-url">{page?.url ?? url}</span>
          {saveProblem ? (
            <p role="alert" className="w-full text-sm text-red-800" data-testid="browser-save-error">{saveProblem}</p>
          ) : null}
          {canSave ? (
            <UseButton disabled={!page || !writable} onClick={() => page && onUse?.(page.url)} />
          ) : (
            <span className="text-xs text-slate-600" data-testid="browser-read-only">Only an admin can change the backup location.</span>
          )}
          <button type="button" onClick={close} className="rounded-md border border-slate-300 px-4 py-2 text-sm hover:bg-slate-100">Cancel</button>
        </div>
      </div>
    </dialog>
  );
}
