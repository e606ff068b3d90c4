import fsp from 'node:fs/promises';
import path from 'node:path';
import { isBackupFileName } from '../backup/file-name';
import { dataDir } from '../env';
import { AppError } from '../errors';
import { findUsbPartition } from '../usb/drives';
import { UsbTarget } from '../usb/usb-target';
import { StorageError } from './errors';
import { LocalFolderTarget } from './local-folder';
import { locationUrl, parseLocationUrl, rootUrl, type StorageLocation } from './location';
import { NfsTarget } from './nfs-target';
import { spaceWarning } from './space-warning';
import { withPooledTarget } from './target-pool';
import type { AccessInfo, SpaceInfo, StorageEntry, StorageTarget } from './types';

/**
 * The storage browser: one folder of a storage location at a time, sorted
 * (folders first, then names in natural order), filtered and paged on the
 * server, so that a folder of tens of thousands of files stays fast and is
 * never cut off silently: every page says how many entries match and how
 * many the folder has, and a cursor leads to the next page.
 *
 * It never leaves the location: paths are checked part by part
 * (location.ts, paths.ts), and on a local disk or USB drive the folder's
 * real path (symbolic links resolved) must lie inside the location's root.
 * A folder's listing is kept for LISTING_MS while the folder's modification
 * time stays the same, so the next pages do not list it again.
 */
export type BrowseEntry = {
  name: string;
  type: StorageEntry['type'];
  size: number;
  modifiedAt: string | null;
  /** A finished backup file (name and type), which the browser marks and opens details of. */
  isBackup: boolean;
  url: string;
};

export type BrowseResult = {
  type: StorageLocation['type'];
  url: string;
  rootUrl: string;
  /** The location's root for people: the NFS server, the drive's label, the local root. */
  rootLabel: string;
  path: string[];
  breadcrumbs: { name: string; url: string }[];
  parentUrl: string | null;
  entries: BrowseEntry[];
  /** Entries in the folder, and of those the ones the filter matches. */
  total: number;
  matched: number;
  nextCursor: string | null;
  /** Storage Information; sent with the first page only (cursor absent). */
  info: { access: AccessInfo; space: SpaceInfo | null; spaceWarning: string | null } | null;
};

export const PAGE_DEFAULT = 200;
export const PAGE_MAX = 1000;
const LISTING_MS = 30_000;
const LISTINGS_KEPT = 32;

type Listing = { at: number; mtime: number | null; entries: Sorted[] };
const LISTINGS = Symbol.for('webconf.storage.listings');
function listings(): Map<string, Listing> {
  const g = globalThis as unknown as Record<symbol, Map<string, Listing>>;
  g[LISTINGS] ??= new Map();
  return g[LISTINGS];
}

/**
 * Natural order without a collator (Intl.Collator took 20 ms to sort 10,000
 * names here, plain string comparison of precomputed keys 3 ms): the key is
 * the name in lower case with each run of digits written as its length (two
 * digits) and its value without leading zeros, so "file-9" < "file-10".
 * Ties fall back to the exact name, so the order is total.
 */
function sortKey(name: string): string {
  return name.toLowerCase().replace(/\d+/g, (d) => {
    const v = d.replace(/^0+(?=\d)/, '');
    return `${String(v.length).padStart(2, '0')}${v}`;
  });
}
type Keyed = { rank: number; key: string; name: string };
const rank = (type: string) => (type === 'directory' ? 0 : 1);
function compare(a: Keyed, b: Keyed): number {
  return a.rank - b.rank || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}
type Sorted = StorageEntry & Keyed;
function sortEntries(entries: StorageEntry[]): Sorted[] {
  return entries.map((e) => ({ ...e, rank: rank(e.type), key: sortKey(e.name) })).sort(compare);
}

/** The cursor: where the last page ended, in the sort order (stateless: it works after the listing is read again). */
type Cursor = { t: string; n: string };
function encodeCursor(e: StorageEntry): string {
  return Buffer.from(JSON.stringify({ t: e.type === 'directory' ? 'directory' : 'file', n: e.name } satisfies Cursor)).toString('base64url');
}
function decodeCursor(s: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Cursor;
    if (typeof c?.t === 'string' && typeof c?.n === 'string') return c;
  } catch {
    /* below */
  }
  throw new AppError('bad_request', 'The cursor is not valid: start from the first page.');
}

function rootKey(loc: StorageLocation, uuid?: string): string {
  switch (loc.type) {
    case 'nfs':
      return `nfs://${loc.server}/?version=${loc.version}`;
    case 'usb':
      return `usb:${uuid}`;
    case 'local':
      return `file://${loc.root}`;
  }
}

type Resolved = { loc: StorageLocation; key: string; open: () => StorageTarget; rootLabel: string };

/** The location's root as a target to open, the drive of a usb:// URL found by label or UUID. */
export async function resolveLocation(url: string): Promise<Resolved> {
  const loc = parseLocationUrl(url);
  switch (loc.type) {
    case 'nfs': {
      const key = rootKey(loc);
      return { loc, key, open: () => new NfsTarget(key, { timeoutMs: 15_000 }), rootLabel: loc.server };
    }
    case 'usb': {
      const found = await findUsbPartition(loc.drive).catch((err: Error) => {
        throw new AppError('unprocessable', err.message, { field: 'location' });
      });
      const uuid = found.uuid!;
      const cfg = { uuid, path: '', label: found.label ?? null, serial: found.serial ?? null };
      return { loc: { ...loc, drive: uuid }, key: rootKey(loc, uuid), open: () => new UsbTarget(cfg), rootLabel: found.label ? `${found.label} (${uuid})` : uuid };
    }
    case 'local':
      return { loc, key: rootKey(loc), open: () => new LocalFolderTarget(loc.root), rootLabel: loc.root };
  }
}

/** Runs `work` on the location's root target (kept open between requests: target-pool.ts). */
export async function withLocation<T>(url: string, work: (t: StorageTarget, r: Resolved) => Promise<T>): Promise<T> {
  const r = await resolveLocation(url);
  return withPooledTarget(r.key, r.open, (t) => work(t, r));
}

/**
 * On a local disk or USB drive: the folder's real path must lie inside the
 * root (a symbolic link pointing outside is refused), and the console's own
 * data folder is never shown.
 */
async function checkRealFolder(target: StorageTarget, rel: string): Promise<void> {
  if (!target.localPath) return;
  // An operation first: a USB target mounts its partition on first use.
  await target.stat('');
  const root = await fsp.realpath(target.localPath(''));
  let real: string;
  try {
    real = await fsp.realpath(target.localPath(rel));
  } catch (err) {
    throw new StorageError(target.label, `list /${rel}`, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (err as Error).message, (err as NodeJS.ErrnoException).code);
  }
  const inside = path.relative(root, real);
  if (inside.startsWith('..') || path.isAbsolute(inside)) throw new AppError('forbidden', `/${rel} leads outside the storage location (a symbolic link); it is not shown.`);
  const data = await fsp.realpath(dataDir()).catch(() => path.resolve(dataDir()));
  const toData = path.relative(data, real);
  if (toData === '' || (!toData.startsWith('..') && !path.isAbsolute(toData))) throw new AppError('forbidden', "The console's own data folder is not shown.");
}

async function listFolder(target: StorageTarget, key: string, rel: string): Promise<Sorted[]> {
  const cacheKey = `${key}\n${rel}`;
  // On a local disk the folder may be reached through a symbolic link that stays inside (checkRealFolder): follow it.
  const st = target.localPath ? await localStat(target, rel) : await target.stat(rel);
  if (rel && !st) throw new StorageError(target.label, `list /${rel}`, 'it does not exist', 'ENOENT');
  if (st && st.type !== 'directory' && rel) throw new StorageError(target.label, `list /${rel}`, 'it is not a folder', 'ENOTDIR');
  const mtime = st?.modifiedAt?.getTime() ?? null;
  const cache = listings();
  const hit = cache.get(cacheKey);
  if (hit && mtime !== null && hit.mtime === mtime && Date.now() - hit.at < LISTING_MS) return hit.entries;
  let listed = await target.list(rel);
  if (target.localPath) {
    // The console's data folder is left out of local listings.
    const data = path.resolve(dataDir());
    listed = listed.filter((e) => path.resolve(target.localPath!(rel ? `${rel}/${e.name}` : e.name)) !== data);
  }
  const entries = sortEntries(listed);
  cache.delete(cacheKey);
  cache.set(cacheKey, { at: Date.now(), mtime, entries });
  while (cache.size > LISTINGS_KEPT) cache.delete(cache.keys().next().value!);
  return entries;
}

async function localStat(target: StorageTarget, rel: string): Promise<StorageEntry | null> {
  try {
    const st = await fsp.stat(target.localPath!(rel));
    return { name: path.posix.basename(rel), type: st.isDirectory() ? 'directory' : st.isFile() ? 'file' : 'other', size: st.size, modifiedAt: st.mtime };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StorageError(target.label, `list /${rel}`, (err as Error).message, (err as NodeJS.ErrnoException).code);
  }
}

/** Forgets kept listings (after the console wrote into a folder it may have listed). */
export function forgetListings(): void {
  listings().clear();
}

function firstAfter(entries: Sorted[], c: Cursor): number {
  let lo = 0;
  let hi = entries.length;
  const key = { rank: rank(c.t), key: sortKey(c.n), name: c.n };
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compare(entries[mid]!, key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export async function browse(url: string, opts: { filter?: string; cursor?: string; limit?: number } = {}): Promise<BrowseResult> {
  const limit = Math.min(PAGE_MAX, Math.max(1, opts.limit ?? PAGE_DEFAULT));
  const filter = (opts.filter ?? '').trim().toLocaleLowerCase();
  const cursor = opts.cursor ? decodeCursor(opts.cursor) : null;
  return withLocation(url, async (target, { loc, key, rootLabel }) => {
    const rel = loc.parts.join('/');
    await checkRealFolder(target, rel);
    const all = await listFolder(target, key, rel);
    const matching = filter ? all.filter((e) => e.name.toLocaleLowerCase().includes(filter)) : all;
    const start = cursor ? firstAfter(matching, cursor) : 0;
    const page = matching.slice(start, start + limit);
    const more = start + limit < matching.length;
    let info: BrowseResult['info'] = null;
    if (!cursor) {
      const [access, space] = await Promise.all([target.access(rel), target.space(rel).catch(() => null)]);
      info = { access, space, spaceWarning: space ? spaceWarning(space, null) : null };
    }
    const crumbs = [{ name: rootLabel, url: rootUrl(loc) }, ...loc.parts.map((name, i) => ({ name, url: locationUrl(loc, loc.parts.slice(0, i + 1)) }))];
    return {
      type: loc.type,
      url: locationUrl(loc),
      rootUrl: rootUrl(loc),
      rootLabel,
      path: loc.parts,
      breadcrumbs: crumbs,
      parentUrl: loc.parts.length ? locationUrl(loc, loc.parts.slice(0, -1)) : null,
      entries: page.map((e) => ({
        name: e.name,
        type: e.type,
        size: e.size,
        modifiedAt: e.modifiedAt ? e.modifiedAt.toISOString() : null,
        isBackup: e.type === 'file' && isBackupFileName(e.name),
        url: locationUrl(loc, [...loc.parts, e.name]),
      })),
      total: all.length,
      matched: matching.length,
      nextCursor: more && page.length ? encodeCursor(page.at(-1)!) : null,
      info,
    };
  });
}
