import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { isBackupFileName } from '../backup/file-name';
import { dataDir } from '../env';
import { AppError } from '../errors';
import { log } from '../log';
import { processState } from '../process-state';
import { findUsbPartition } from '../usb/drives';
import { UsbTarget } from '../usb/usb-target';
import { StorageError } from './errors';
import { LocalFolderTarget, folderAccess, folderSpace, listFolderEntries } from './local-folder';
import { locationUrl, parseLocationUrl, rootUrl, type StorageLocation } from './location';
import { NfsTarget } from './nfs-target';
import { spaceWarning } from './space-warning';
import { browseCursorSchema, type BrowseCursor } from './schemas';
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
 * time stays the same, so the next pages do not list it again. The pages
 * after the first come from the listing the first page came from (its id is
 * in the cursor) while it is kept, so that paging through a folder that
 * changes meanwhile never skips or repeats an entry. A client that asks for
 * it (`kept`: the dialog) gets a changed remote folder's kept listing at
 * once, marked stale, while the folder is read again (see listFolder).
 */
export type BrowseEntry = {
  name: string;
  type: StorageEntry['type'];
  size: number;
  /** Milliseconds since 1970 (a number: cheaper to send for ten thousand entries than ISO text), or null. */
  modifiedAt: number | null;
  /** A finished backup file (name and type), which the browser marks and opens details of. */
  isBackup: boolean;
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
  /** An entry's URL is childUrlPrefix + encodeURIComponent(name) + childUrlSuffix (child-url.ts), not repeated per entry. */
  childUrlPrefix: string;
  childUrlSuffix: string;
  entries: BrowseEntry[];
  /** Entries in the folder, and of those the ones the filter matches. */
  total: number;
  matched: number;
  nextCursor: string | null;
  /** Storage Information; sent with the first page only (cursor absent). */
  info: { access: AccessInfo; space: SpaceInfo | null; spaceWarning: string | null } | null;
  /** When the folder was read for these entries (milliseconds since 1970). */
  listedAt: number;
  /**
   * The folder is known to have changed since listedAt: these entries are the
   * kept listing, sent at once because the client asked for it (`kept`), and
   * the folder is being read again; ask again without `kept` for the new one.
   */
  stale: boolean;
};

export const PAGE_DEFAULT = 200;
/** A client may ask for a whole folder of ten thousand entries at once; the dialog asks for PAGE_DEFAULT at a time. */
export const PAGE_MAX = 10_000;
const LISTING_MS = 30_000;
const LISTINGS_KEPT = 32;
const SNAPSHOTS_PER_FOLDER = 2;

/** `generation`: listingState's when the reading began (a listing from before forgetListings is never kept). */
type Listing = { id: number; key: string; generation: number; at: number; mtime: number | null; sorted: Sorted };
/** The newest listing of each folder, by location key and folder. */
const listings = () => processState('storage.listings', () => new Map<string, Listing>());
/**
 * Listings by id that a cursor was sent from, for the pages still to come: a
 * listing replaced by a newer one of its folder (another user, the dialog's
 * fresh reading) still serves the pages of whoever began paging through it,
 * while young. At most LISTINGS_KEPT, and SNAPSHOTS_PER_FOLDER of one
 * folder (a folder a backup is writing into changes at every reading),
 * oldest first out; none older than LISTING_MS. A listing no cursor leads
 * to (a whole folder in one answer) is not kept here. With `listings`, at
 * most 2 × LISTINGS_KEPT listings are alive, all younger than LISTING_MS.
 */
const snapshots = () => processState('storage.listing-snapshots', () => new Map<number, Listing>());
/** Folder reads under way (remote folders), so that requests that see the same modification time share one read. */
const reads = () => processState('storage.listing-reads', () => new Map<string, { mtime: number; done: Promise<Listing> }>());
/**
 * Listing ids, and a generation that forgetListings advances: a reading begun
 * before it does not put its (possibly outdated) listing back.
 */
const listingState = () => processState('storage.listing-ids', () => ({ last: 0, generation: 0 }));

/**
 * Natural order without a collator (Intl.Collator took 20 ms to sort 10,000
 * names here): each name gets a key, its lower case with every run of
 * digits written as its length (two digits) and its value without leading
 * zeros, so "file-9" < "file-10"; folders come first; ties fall back to the
 * exact name, so the order is total. Keys are computed once per listing
 * and kept beside the entries (no object per entry is copied).
 */
function sortKey(name: string): string {
  const lower = name.toLowerCase();
  const n = lower.length;
  let i = 0;
  while (i < n && !isDigit(lower.charCodeAt(i))) i++;
  if (i === n) return lower;
  let out = '';
  let from = 0;
  while (i < n) {
    if (!isDigit(lower.charCodeAt(i))) {
      i++;
      continue;
    }
    let end = i;
    while (end < n && isDigit(lower.charCodeAt(end))) end++;
    let lead = i;
    while (lead < end - 1 && lower.charCodeAt(lead) === 48) lead++;
    const len = end - lead;
    out += lower.slice(from, i) + (len < 10 ? '0' : '') + len + lower.slice(lead, end);
    from = i = end;
  }
  return out + lower.slice(from);
}
/** ASCII digits only, as \d (without the u flag) matched. */
const isDigit = (c: number) => c >= 48 && c <= 57;
const rankOf = (type: string) => (type === 'directory' ? 0 : 1);
function cmp(ra: number, ka: string, na: string, rb: number, kb: string, nb: string): number {
  return ra - rb || (ka < kb ? -1 : ka > kb ? 1 : 0) || (na < nb ? -1 : na > nb ? 1 : 0);
}
/** A folder's entries in browser order, with their ranks and keys at the same indexes. */
type Sorted = { entries: StorageEntry[]; ranks: Uint8Array; keys: string[] };
function sortEntries(list: StorageEntry[]): Sorted {
  const n = list.length;
  const ranks = new Uint8Array(n);
  const keys = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    ranks[i] = rankOf(list[i]!.type);
    keys[i] = sortKey(list[i]!.name);
  }
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => cmp(ranks[a]!, keys[a]!, list[a]!.name, ranks[b]!, keys[b]!, list[b]!.name));
  return { entries: order.map((i) => list[i]!), ranks: Uint8Array.from(order, (i) => ranks[i]!), keys: order.map((i) => keys[i]!) };
}
function filtered(s: Sorted, filter: string): Sorted {
  if (!filter) return s;
  const keep: number[] = [];
  for (let i = 0; i < s.entries.length; i++) if (s.entries[i]!.name.toLocaleLowerCase().includes(filter)) keep.push(i);
  return { entries: keep.map((i) => s.entries[i]!), ranks: Uint8Array.from(keep, (i) => s.ranks[i]!), keys: keep.map((i) => s.keys[i]!) };
}

function browseEntry(e: StorageEntry): BrowseEntry {
  return {
    name: e.name,
    type: e.type,
    size: e.size,
    modifiedAt: e.modifiedMs,
    isBackup: e.type === 'file' && isBackupFileName(e.name),
  };
}

/**
 * The cursor: where the last page ended, in the sort order, and the id of the
 * listing the page came from. The next page comes from that listing while it
 * is kept; after that, from a new reading, after the same place (the
 * position needs no state).
 */
function encodeCursor(e: StorageEntry, listing: number): string {
  return Buffer.from(JSON.stringify({ t: e.type === 'directory' ? 'directory' : 'file', n: e.name, s: listing } satisfies BrowseCursor)).toString('base64url');
}
/** The cursor is the client's to send back: base64url JSON, checked by browseCursorSchema (its name only ever compared, never a path). */
function decodeCursor(s: string): BrowseCursor {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    json = null;
  }
  const c = browseCursorSchema.safeParse(json);
  if (c.success) return c.data;
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
 * A folder on a local disk or USB drive, pinned: it is opened once, its real
 * path is read from the open handle (/proc/self/fd), and everything after
 * the check (listing, entries' lstat, access, space) goes through that
 * handle, so swapping a component of the path for a symbolic link after the
 * check cannot redirect the listing. The real path must lie inside the
 * location's root, and never in the console's own data folder.
 */
type Pinned = { handle: fsp.FileHandle; at: string };

async function pinFolder(target: StorageTarget, rel: string): Promise<Pinned> {
  // An operation first: a USB target mounts its partition on first use.
  await target.stat('');
  const where = `/${rel}`;
  const root = await fsp.realpath(target.localPath!(''));
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(target.localPath!(rel), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  } catch (err) {
    throw localError(target, `list ${where}`, err);
  }
  try {
    const at = `/proc/self/fd/${handle.fd}`;
    const real = await fsp.readlink(at);
    const inside = path.relative(root, real);
    if (inside.startsWith('..') || path.isAbsolute(inside)) throw new AppError('forbidden', `${where} leads outside the storage location (a symbolic link); it is not shown.`);
    const data = await fsp.realpath(dataDir()).catch(() => path.resolve(dataDir()));
    const toData = path.relative(data, real);
    if (toData === '' || (!toData.startsWith('..') && !path.isAbsolute(toData))) throw new AppError('forbidden', "The console's own data folder is not shown.");
    return { handle, at };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** A local file-system error in the target's words; an unknown code gets a plain reason, never a path of this machine. */
function localError(target: StorageTarget, operation: string, err: unknown): StorageError {
  const code = (err as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    ENOENT: 'it does not exist',
    ENOTDIR: 'it is not a folder',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ELOOP: 'a symbolic link is in the way',
    EIO: 'input/output error on the device (was the drive pulled out?)',
  };
  return new StorageError(target.label, operation, (code && words[code]) || 'the folder cannot be read', code);
}

async function listPinned(target: StorageTarget, pinned: Pinned, rel: string): Promise<StorageEntry[]> {
  try {
    const out = await listFolderEntries(pinned.at);
    // The console's data folder is left out of local listings.
    const data = await fsp.realpath(dataDir()).catch(() => path.resolve(dataDir()));
    const real = await fsp.readlink(pinned.at);
    return path.dirname(data) === real ? out.filter((e) => e.name !== path.basename(data)) : out;
  } catch (err) {
    throw localError(target, `list /${rel}`, err);
  }
}

type ListMode = {
  /** The id of the listing the last page came from (a cursor's), or null on a first page. */
  snapshot: number | null;
  /** A remote folder changed since its kept listing: answer with the kept one (stale) and read it again meanwhile. */
  kept: boolean;
  /** Runs work on the location's pooled target, beside this request, which does not wait for it (the background reading). */
  later: (work: (t: StorageTarget) => Promise<unknown>) => Promise<unknown>;
};

const isYoung = (l: Listing | undefined): l is Listing => !!l && Date.now() - l.at < LISTING_MS;

/**
 * The folder's listing, sorted. Kept while its modification time stays the
 * same (LISTING_MS at most); a cursor's listing is used without asking the
 * server while it is kept. A remote (NFS) folder that changed since its kept
 * listing is read again; with `kept` the answer is the kept listing, marked
 * stale, and the new reading goes on in the background (one at a time per
 * folder), where the next request that sees the same modification time
 * joins it. A background reading that fails drops the kept listing, so that
 * the next request reads in the foreground and reports why. A local folder
 * is always read through the pinned handle, which ends with the request.
 */
async function listFolder(target: StorageTarget, key: string, rel: string, pinned: Pinned | null, mode: ListMode): Promise<{ listing: Listing; stale: boolean }> {
  const cacheKey = `${key}\n${rel}`;
  sweep(listings());
  sweep(snapshots());
  if (mode.snapshot !== null) {
    const snap = snapshots().get(mode.snapshot);
    if (isYoung(snap) && snap.key === cacheKey) return { listing: snap, stale: false };
  }
  const hit = listings().get(cacheKey);
  const young = isYoung(hit) ? hit : null;
  let mtime: number | null;
  if (pinned) {
    mtime = (await pinned.handle.stat()).mtimeMs;
  } else {
    const st = await target.stat(rel);
    if (rel && !st) throw new StorageError(target.label, `list /${rel}`, 'it does not exist', 'ENOENT');
    if (st && st.type !== 'directory' && rel) throw new StorageError(target.label, `list /${rel}`, 'it is not a folder', 'ENOTDIR');
    mtime = st?.modifiedMs ?? null;
  }
  if (young && mtime !== null && young.mtime === mtime) return { listing: young, stale: false };
  if (young && mode.kept && !pinned && mtime !== null) {
    // One background reading per folder: a folder that keeps changing (a backup writing into it) is
    // read again once the reading under way ends, not once per request.
    if (!reads().has(cacheKey)) {
      mode
        .later((t) => readListing(t, cacheKey, rel, null, mtime))
        .catch((err: unknown) => {
          // This answer stands as marked; the next request reads in the foreground and reports the failure.
          if (listings().get(cacheKey) === young) listings().delete(cacheKey);
          log.warn({ location: key, folder: `/${rel}`, reason: err instanceof Error ? err.message : String(err) }, 'storage browser: reading a folder again in the background failed');
        });
    }
    return { listing: young, stale: true };
  }
  return { listing: await readListing(target, cacheKey, rel, pinned, mtime), stale: false };
}

function readListing(target: StorageTarget, cacheKey: string, rel: string, pinned: Pinned | null, mtime: number | null): Promise<Listing> {
  const going = reads().get(cacheKey);
  if (!pinned && going && going.mtime === mtime) return going.done;
  const state = listingState();
  const generation = state.generation;
  const done = (async () => {
    const at = Date.now();
    const listed = pinned ? await listPinned(target, pinned, rel) : await target.list(rel);
    const listing: Listing = { id: ++state.last, key: cacheKey, generation, at, mtime, sorted: sortEntries(listed) };
    // Kept unless listings were forgotten meanwhile, or a reading begun later has already put a newer one.
    const newer = listings().get(cacheKey);
    if (state.generation === generation && !(newer && newer.at > at)) keep(listings(), cacheKey, listing);
    return listing;
  })();
  if (!pinned && mtime !== null) {
    const r = reads();
    r.set(cacheKey, { mtime, done });
    const settle = () => {
      if (r.get(cacheKey)?.done === done) r.delete(cacheKey);
    };
    done.then(settle, settle);
  }
  return done;
}

/**
 * For the details of a file: its folder must be one the browser would show
 * (pinned: inside the root, not the data folder) and the file a regular
 * file, not a link (details open it by name afterwards; a link swapped in
 * then is refused by the details reader's own lstat). Throws, or returns.
 */
export async function checkBrowsableFile(target: StorageTarget, parts: string[]): Promise<void> {
  if (!target.localPath) return;
  const pinned = await pinFolder(target, parts.slice(0, -1).join('/'));
  try {
    const st = await fsp.lstat(`${pinned.at}/${parts.at(-1)}`).catch(() => null);
    if (st && !st.isFile()) throw new AppError('unprocessable', `${parts.at(-1)} is not a file (a folder, link or special file): it has no backup details.`);
  } finally {
    await pinned.handle.close();
  }
}

/** Puts `value` last in `map` (insertion order is age), dropping the oldest beyond LISTINGS_KEPT and those too old to use. */
function keep<K>(map: Map<K, Listing>, key: K, value: Listing): void {
  map.delete(key);
  map.set(key, value);
  sweep(map);
}

/** Drops listings too old to use, and the oldest beyond LISTINGS_KEPT, from the front of `map` (oldest first). */
function sweep<K>(map: Map<K, Listing>): void {
  for (const [k, l] of map) {
    if (map.size > LISTINGS_KEPT || !isYoung(l)) map.delete(k);
    else break;
  }
}

/** A cursor is being sent from `listing`: its next pages come from it while it is young. */
function keepForCursor(listing: Listing): void {
  const kept = snapshots();
  if (kept.get(listing.id) === listing || listing.generation !== listingState().generation) return;
  keep(kept, listing.id, listing);
  // The newest SNAPSHOTS_PER_FOLDER of this folder stay.
  const same = [...kept.values()].filter((l) => l.key === listing.key);
  for (const l of same.slice(0, Math.max(0, same.length - SNAPSHOTS_PER_FOLDER))) kept.delete(l.id);
}

/**
 * Forgets kept listings (after the console wrote into a folder it may have
 * listed). Readings under way go on for whoever waits on them, but their
 * listings are not kept (the generation changed), and later requests read again.
 */
export function forgetListings(): void {
  listingState().generation++;
  listings().clear();
  snapshots().clear();
  reads().clear();
}

function firstAfter(s: Sorted, c: BrowseCursor): number {
  let lo = 0;
  let hi = s.entries.length;
  const r = rankOf(c.t);
  const k = sortKey(c.n);
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cmp(s.ranks[mid]!, s.keys[mid]!, s.entries[mid]!.name, r, k, c.n) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const CHILD_MARK = 'webconf-child-name-mark';
function childUrlParts(u: string): { childUrlPrefix: string; childUrlSuffix: string } {
  const i = u.lastIndexOf(CHILD_MARK);
  return { childUrlPrefix: u.slice(0, i), childUrlSuffix: u.slice(i + CHILD_MARK.length) };
}

type BrowseOptions = {
  filter?: string;
  cursor?: string;
  limit?: number;
  /** A changed remote folder's kept listing at once, marked stale, while it is read again (BrowseResult.stale). */
  kept?: boolean;
};

/** One page of a folder (see BrowseResult). */
export async function browse(url: string, opts: BrowseOptions = {}): Promise<BrowseResult> {
  const limit = Math.min(PAGE_MAX, Math.max(1, opts.limit ?? PAGE_DEFAULT));
  const filter = (opts.filter ?? '').trim().toLocaleLowerCase();
  const cursor = opts.cursor ? decodeCursor(opts.cursor) : null;
  return withLocation(url, async (target, { loc, key, rootLabel, open }) => {
    const rel = loc.parts.join('/');
    const pinned = target.localPath ? await pinFolder(target, rel) : null;
    const later = (work: (t: StorageTarget) => Promise<unknown>) => withPooledTarget(key, open, work);
    try {
      return await pageOf(target, key, rel, pinned, { loc, rootLabel, filter, cursor, limit, kept: opts.kept === true, later });
    } finally {
      await pinned?.handle.close();
    }
  });
}

async function pageOf(
  target: StorageTarget,
  key: string,
  rel: string,
  pinned: Pinned | null,
  { loc, rootLabel, filter, cursor, limit, kept, later }: { loc: StorageLocation; rootLabel: string; filter: string; cursor: BrowseCursor | null; limit: number; kept: boolean; later: ListMode['later'] },
): Promise<BrowseResult> {
  // Storage Information is read while the folder is listed (first page only).
  const information = cursor
    ? null
    : pinned
      ? Promise.all([folderAccess(pinned.at), folderSpace(pinned.at).catch(() => null)])
      : Promise.all([target.access(rel), target.space(rel).catch(() => null)]);
  information?.catch(() => undefined);
  const { listing, stale } = await listFolder(target, key, rel, pinned, { snapshot: cursor?.s ?? null, kept, later });
  const all = listing.sorted;
  const matching = filtered(all, filter);
  const start = cursor ? firstAfter(matching, cursor) : 0;
  const end = Math.min(start + limit, matching.entries.length);
  const more = start + limit < matching.entries.length;
  let info: BrowseResult['info'] = null;
  if (information) {
    const [access, space] = await information;
    info = { access, space, spaceWarning: space ? spaceWarning(space, null) : null };
  }
  let nextCursor: string | null = null;
  if (more && end > start) {
    keepForCursor(listing);
    nextCursor = encodeCursor(matching.entries[end - 1]!, listing.id);
  }
  const crumbs = [{ name: rootLabel, url: rootUrl(loc) }, ...loc.parts.map((name, i) => ({ name, url: locationUrl(loc, loc.parts.slice(0, i + 1)) }))];
  const entries = new Array<BrowseEntry>(end - start);
  for (let i = start; i < end; i++) entries[i - start] = browseEntry(matching.entries[i]!);
  return {
    type: loc.type,
    url: locationUrl(loc),
    rootUrl: rootUrl(loc),
    rootLabel,
    path: loc.parts,
    breadcrumbs: crumbs,
    parentUrl: loc.parts.length ? locationUrl(loc, loc.parts.slice(0, -1)) : null,
    ...childUrlParts(locationUrl(loc, [...loc.parts, CHILD_MARK])),
    entries,
    total: all.entries.length,
    matched: matching.entries.length,
    nextCursor,
    info,
    listedAt: listing.at,
    stale,
  };
}
