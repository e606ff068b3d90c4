/**
 * Object keys under the configured folder. A store is given a folder ("a/b",
 * or "" for the whole bucket) and every key it reads, writes, lists or deletes
 * is "<folder>/<key>" with `key` relative to it. S3 keys are plain strings
 * (there are no real folders), so confinement is a matter of what a relative
 * key may contain: segments separated by "/", none empty, "." or "..", no
 * backslash and no control characters. Then "<folder>/" + key always starts
 * with "<folder>/", whatever a gateway or a later tool makes of "..".
 *
 * S3 limits a key to 1024 bytes of UTF-8.
 */

export const MAX_KEY_BYTES = 1024;

/** Why a folder or key is refused, in words; null when it is fine. */
export function keyProblem(key: string, what: 'key' | 'folder' | 'prefix'): string | null {
  const name = what === 'key' ? 'An object name' : what === 'folder' ? 'The folder' : 'A listing prefix';
  if (what === 'key' && key.length === 0) return 'An object name cannot be empty.';
  if (key.startsWith('/')) return `${name} cannot start with "/".`;
  if (what !== 'prefix' && key.endsWith('/')) return `${name} cannot end with "/".`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return `${name} cannot contain control characters.`;
  if (key.includes('\\')) return `${name} cannot contain "\\".`;
  if (key.length === 0) return null;
  const segments = key.split('/');
  // A prefix may end with "/" (the last segment is then empty) or in the middle of a name.
  const checked = what === 'prefix' && segments[segments.length - 1] === '' ? segments.slice(0, -1) : segments;
  for (const s of checked) {
    if (s === '') return `${name} cannot contain "//".`;
    if (s === '.' || s === '..') return `${name} cannot contain "." or ".." as a part of its path.`;
  }
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `${name} is longer than ${MAX_KEY_BYTES} bytes.`;
  return null;
}

/** The folder as the store keeps it: no "/" at either end, "" for the bucket's top. */
export function normalizeFolder(folder: string): string {
  return folder.trim().replace(/^\/+|\/+$/g, '');
}

/** What every full key of the store starts with: "<folder>/", or "" for the whole bucket. */
export function folderPrefix(folder: string): string {
  return folder === '' ? '' : `${folder}/`;
}

export class ObjectKeyError extends Error {
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(problem);
    this.name = 'ObjectKeyError';
  }
}

/** "<folder>/<key>"; throws ObjectKeyError when `key` could leave the folder or is not a valid S3 key. */
export function fullKey(folder: string, key: string): string {
  const problem = keyProblem(key, 'key');
  if (problem) throw new ObjectKeyError(key, problem);
  const full = folderPrefix(folder) + key;
  if (Buffer.byteLength(full, 'utf8') > MAX_KEY_BYTES) throw new ObjectKeyError(key, `The object name and its folder are longer than ${MAX_KEY_BYTES} bytes.`);
  return full;
}

/** "<folder>/<prefix>" for listings; "" lists the whole folder. */
export function fullPrefix(folder: string, prefix: string): string {
  const problem = keyProblem(prefix, 'prefix');
  if (problem) throw new ObjectKeyError(prefix, problem);
  return folderPrefix(folder) + prefix;
}

/** The key relative to the folder, or null for a key outside it (never returned to callers). */
export function relativeKey(folder: string, full: string): string | null {
  const p = folderPrefix(folder);
  if (!full.startsWith(p) || full.length === p.length) return null;
  return full.slice(p.length);
}
