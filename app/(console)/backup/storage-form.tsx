'use client';
import { useActionState, useEffect, useRef, useState } from 'react';
import type { StorageConfig } from '@/lib/storage/schemas';
import { Banner } from '@/app/ui/banner';
import { SubmitButton } from '@/app/ui/submit-button';
import { useResetSafeSelect } from '@/app/ui/use-reset-safe-select';
import { flash } from '@/app/ui/page-flash';
import { saveStorageAction } from './actions';
import { StorageBrowser } from './storage-browser';
import { UsbDrives } from './usb-drives';

type Kind = StorageConfig['type'];
const PREFIX: Record<Exclude<Kind, 'none'>, string> = { nfs: 'nfs://', usb: 'usb://', local: 'file://' };
const LABEL: Record<Exclude<Kind, 'none'>, string> = { nfs: 'NFS URL', usb: 'USB drive URL', local: 'Local folder URL' };
const HINT: Record<Exclude<Kind, 'none'>, string> = {
  nfs: 'Server and path, e.g. 10.0.0.5/backups?version=4.2. NFS Version 4, 4.1 (default) or 4.2; the console connects itself, nothing is mounted.',
  usb: 'The drive label or UUID, then the folder, e.g. BACKUP/appliance. GPT partitioned drives with ext4 or exFAT partitions.',
  local: 'An absolute path on a disk attached to the appliance, e.g. /srv/backups.',
};

function restOf(url: string | null, kind: Kind): string {
  if (!url || kind === 'none') return '';
  const p = PREFIX[kind];
  return url.toLowerCase().startsWith(p) ? decodeIfLocal(url.slice(p.length), kind) : url;
}

function decodeIfLocal(rest: string, kind: Kind): string {
  if (kind !== 'local') return rest;
  try {
    return decodeURIComponent(rest);
  } catch {
    return rest;
  }
}

/**
 * Backup Storage Settings (seed): the Storage Type, then its URL line with
 * the fixed prefix (nfs://, usb://, file://) and a field for the rest, and
 * Browse Storage. A typed location is checked exactly like one picked in
 * the browser (Use This Location submits this same form).
 */
export function StorageForm({ config, configUrl, canSave, canVerify = false }: { config: StorageConfig; configUrl: string | null; canSave: boolean; canVerify?: boolean }) {
  const [state, action] = useActionState(saveStorageAction, undefined);
  const [type, setType] = useState<Kind>((state?.values?.type as Kind | undefined) ?? config.type);
  const select = useResetSafeSelect(type);
  const form = useRef<HTMLFormElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const [browsing, setBrowsing] = useState<string | null>(null);
  const [browseProblem, setBrowseProblem] = useState<string | null>(null);
  // Use This Location was pressed: its answer belongs in the dialog until the dialog closes.
  const [using, setUsing] = useState(false);
  const [saveProblem, setSaveProblem] = useState<string | null>(null);

  useEffect(() => {
    if (state?.ok && state.message) {
      setBrowsing(null);
      setUsing(false);
      flash(state.message);
    } else if (state && !state.ok && using) {
      setSaveProblem(state.fieldErrors?.location?.[0] ?? state.message ?? 'The location was not saved.');
    }
    // `using` is read, not watched: only a new answer of the action counts.
  }, [state]);

  const saved = type === config.type ? restOf(configUrl, type) : '';
  const value = state?.values?.type === type ? (state.values.location ?? saved) : saved;
  // An answer about the field stands until the field is edited (then it is about something else).
  const [edited, setEdited] = useState(false);
  useEffect(() => setEdited(false), [state]);
  const errors = edited ? undefined : state?.fieldErrors?.location;
  const kind = type === 'none' ? null : type;

  const openBrowser = () => {
    if (!kind) return;
    const rest = (input.current?.value ?? '').trim();
    if (kind === 'nfs' && !rest) {
      setBrowseProblem('Enter the NFS server (and a path, if you know it) to browse it.');
      return;
    }
    if (kind === 'usb' && !rest) {
      setBrowseProblem('Enter the drive\'s label or UUID, or click Browse beside a drive in the list below (attach one first if none is listed).');
      return;
    }
    setBrowseProblem(null);
    setBrowsing(rest.toLowerCase().startsWith(PREFIX[kind]) ? rest : `${PREFIX[kind]}${kind === 'local' && !rest.startsWith('/') ? `/${rest}` : rest}`);
  };

  const use = (url: string) => {
    if (!kind || !input.current || !form.current) return;
    input.current.value = restOf(url, kind);
    setUsing(true);
    setSaveProblem(null);
    form.current.requestSubmit();
  };

  const describedBy = [kind ? 'location-hint' : null, errors?.length ? 'location-error' : null, browseProblem ? 'browse-problem' : null].filter(Boolean).join(' ') || undefined;
  return (
    <form ref={form} action={action} noValidate aria-labelledby="storage-title" className="max-w-2xl">
      <h3 id="storage-title" className="mb-2 font-semibold">Backup Storage Settings</h3>
      {state && !state.ok && state.message ? <Banner kind="error">{state.message}</Banner> : null}
      <div className="mb-4">
        <label htmlFor="type" className="block text-sm font-medium text-slate-700">Storage Type</label>
        <select ref={select} id="type" name="type" value={type} disabled={!canSave}
          onChange={(e) => {
            setType(e.target.value as Kind);
            setBrowseProblem(null);
          }}
          className="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm">
          <option value="none">None</option>
          <option value="nfs">Network File Setting (NFS)</option>
          <option value="usb">USB drive</option>
          <option value="local">Local folder</option>
        </select>
      </div>
      {kind ? (
        <div className="mb-4">
          <label htmlFor="location" className="block text-sm font-medium text-slate-700">{LABEL[kind]}</label>
          <div className="mt-1 flex flex-col gap-2 sm:flex-row">
            <div className={`flex min-w-0 flex-1 rounded-md border shadow-sm focus-within:ring-2 focus-within:ring-sky-500 ${errors?.length ? 'border-red-500' : 'border-slate-300'}`}>
              <span className="flex items-center rounded-l-md border-r border-slate-300 bg-slate-50 px-2 font-mono text-sm text-slate-700" data-testid="location-prefix">{PREFIX[kind]}</span>
              <input
                key={`${kind}:${value}`}
                ref={input}
                id="location"
                name="location"
                type="text"
                defaultValue={value}
                readOnly={!canSave}
                spellCheck={false}
                autoComplete="off"
                onInput={() => {
                  setEdited(true);
                  setBrowseProblem(null);
                }}
                aria-invalid={Boolean(errors?.length)}
                aria-describedby={describedBy}
                className="min-w-0 flex-1 rounded-r-md px-2 py-2 font-mono text-sm focus:outline-none"
              />
            </div>
            <button type="button" onClick={openBrowser} className="self-start rounded-md border border-slate-300 bg-white px-3 py-2 text-sm font-semibold hover:bg-slate-100 sm:self-auto">
              Browse Storage
            </button>
          </div>
          <p id="location-hint" className="mt-1 text-xs text-slate-500">{HINT[kind]}</p>
          {errors?.length ? <p id="location-error" role="alert" className="mt-1 text-sm text-red-700">{errors[0]}</p> : null}
          {browseProblem ? <p id="browse-problem" role="alert" className="mt-1 text-sm text-red-700">{browseProblem}</p> : null}
        </div>
      ) : null}
      {kind === 'usb' ? (
        <UsbDrives
          canEject={canSave}
          onBrowse={(url) => {
            setBrowseProblem(null);
            setBrowsing(url);
          }}
        />
      ) : null}
      {canSave ? <SubmitButton>Save Storage Settings</SubmitButton> : <p className="text-xs text-slate-500">Only an admin can change the backup storage.</p>}
      {browsing ? (
        <StorageBrowser open startUrl={browsing} canSave={canSave} canVerify={canVerify} saveProblem={saveProblem}
          onClose={() => {
            setBrowsing(null);
            setUsing(false);
            setSaveProblem(null);
          }}
          onUse={use} />
      ) : null}
    </form>
  );
}
