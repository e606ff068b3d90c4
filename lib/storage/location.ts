import path from 'node:path';
import { env } from '../env';
import { AppError } from '../errors';
import { NfsUrlError, parseNfsUrl } from '../nfs/nfs-url';
import { unsafeSegmentReason } from './paths';

/**
 * A storage location as users write it, one URL per Storage Type:
 *   nfs://server[:port]/path[?version=4|4.1|4.2]   an NFS share (lib/nfs)
 *   usb://<drive label or file-system UUID>/path    a partition of a USB drive
 *   file:///path                                     a local folder
 * Each is a root (the NFS server's namespace, the partition, the local
 * storage root) and a path of checked parts inside it. The storage browser
 * never leaves the root; the configuration stores what the URL names.
 */
export type StorageLocation =
  | { type: 'nfs'; server: string; version: '4.0' | '4.1' | '4.2'; parts: string[] }
  | { type: 'usb'; drive: string; parts: string[] }
  | { type: 'local'; root: string; parts: string[] };

export type LocationType = StorageLocation['type'];

export const URL_PREFIX: Record<LocationType, string> = { nfs: 'nfs://', usb: 'usb://', local: 'file://' };

/** The field a location error is shown at. */
export const LOCATION_FIELD = 'location';

function refuse(message: string): never {
  throw new AppError('unprocessable', message, { field: LOCATION_FIELD });
}

function checkParts(parts: string[]): string[] {
  for (const p of parts) {
    const why = unsafeSegmentReason(p);
    if (why) refuse(`The location is not valid: ${why}.`);
    if (Buffer.byteLength(p) > 255) refuse('The location is not valid: a name has at most 255 bytes.');
  }
  return parts;
}

function decodeParts(raw: string): string[] {
  const parts = raw.split('/').filter(Boolean);
  // Raw parts are checked before decoding too: "%2e%2e" and "%2F" must not slip through as ordinary names.
  checkParts(parts);
  try {
    return checkParts(parts.map((p) => decodeURIComponent(p)));
  } catch (err) {
    if (err instanceof AppError) throw err;
    refuse('The location is not valid: it has a broken %-escape.');
  }
}

export function localStorageRoot(): string {
  return path.resolve(env().WEBCONF_LOCAL_STORAGE_ROOT);
}

/** Parses a full location URL; every refusal is an AppError at the location field, in words. */
export function parseLocationUrl(input: string): StorageLocation {
  const url = input.trim();
  if (url.length > 1024) refuse('The location has at most 1024 characters.');
  if (url.includes('\0')) refuse('The location is not valid: a path must not contain a NUL byte.');
  const lower = url.toLowerCase();
  if (lower.startsWith('nfs://')) {
    // The path is checked as written, part by part, before anything decodes it: "a%2Fb" must not become two parts.
    const rawPath = /^nfs:\/\/[^/?#]*([^?#]*)/i.exec(url)?.[1] ?? '';
    checkParts(rawPath.split('/').filter(Boolean));
    try {
      const p = parseNfsUrl(url);
      const hostPart = p.host.includes(':') ? `[${p.host}]` : p.host;
      return { type: 'nfs', server: `${hostPart}${p.port === 2049 ? '' : `:${p.port}`}`, version: p.version, parts: checkParts(p.path) };
    } catch (err) {
      if (err instanceof AppError) throw err;
      refuse(err instanceof NfsUrlError ? err.message : 'The NFS URL is not valid.');
    }
  }
  if (lower.startsWith('usb://')) {
    const rest = url.slice('usb://'.length);
    if (/[?#]/.test(rest)) refuse('A USB drive URL is usb://<drive label or UUID>/<folder>, without ? or #.');
    const [drive = '', ...path] = rest.split('/');
    if (!drive) refuse('Enter the drive: usb://<drive label or UUID>/<folder>.');
    const [name] = decodeParts(drive);
    if (!name) refuse('Enter the drive: usb://<drive label or UUID>/<folder>.');
    return { type: 'usb', drive: name, parts: decodeParts(path.join('/')) };
  }
  if (lower.startsWith('file://')) {
    const rest = url.slice('file://'.length);
    if (!rest.startsWith('/')) refuse('A local folder is file:///absolute/path, e.g. file:///srv/backups.');
    if (/[?#]/.test(rest)) refuse('A local folder URL has no ? or #.');
    const parts = decodeParts(rest);
    const root = localStorageRoot();
    const rootParts = root.split('/').filter(Boolean);
    if (rootParts.some((p, i) => parts[i] !== p)) refuse(`The console keeps local backups inside ${root}.`);
    return { type: 'local', root, parts: parts.slice(rootParts.length) };
  }
  refuse('Write the location as nfs://server/path, usb://drive/folder or file:///path.');
}

const enc = (parts: string[]) => parts.map((p) => encodeURIComponent(p)).join('/');

/** The location's URL in one spelling (the inverse of parseLocationUrl). */
export function locationUrl(loc: StorageLocation, parts: string[] = loc.parts): string {
  switch (loc.type) {
    case 'nfs':
      return `nfs://${loc.server}/${enc(parts)}?version=${loc.version}`;
    case 'usb':
      return `usb://${encodeURIComponent(loc.drive)}/${enc(parts)}`;
    case 'local': {
      const full = [...loc.root.split('/').filter(Boolean), ...parts];
      return `file:///${enc(full)}`;
    }
  }
}

/** The location's root as a URL (where the browser's first breadcrumb leads). */
export function rootUrl(loc: StorageLocation): string {
  return locationUrl(loc, []);
}


/** The URL a Storage Type's field starts from: its prefix and the rest the user types. */
export function joinTypedLocation(type: LocationType, rest: string): string {
  const r = rest.trim();
  const prefix = URL_PREFIX[type];
  // A pasted full URL is taken as it is.
  if (r.toLowerCase().startsWith(prefix)) return r;
  return `${prefix}${r}`;
}
