import path from 'node:path';
import { StorageError } from './errors';

/**
 * Turns a target-relative name into a safe relative path: "/"-separated,
 * no "..", no absolute path, no NUL. Every storage type goes through this.
 */
export function safeRelative(target: string, name: string): string {
  if (name.includes('\0')) throw new StorageError(target, 'resolve', 'the name contains a NUL byte');
  const normalized = path.posix.normalize(`/${name}`).slice(1).replace(/\/+$/, '');
  if (normalized.split('/').includes('..')) throw new StorageError(target, 'resolve', 'the name leaves the storage location');
  return normalized;
}

/**
 * One folder or file name as a user or a client sent it, refused when it
 * could leave its folder in any spelling: ".", "..", a "/" or "\" inside,
 * a NUL byte, control characters, or any of these hidden behind percent
 * encoding (decoded up to three times: "%2e%2e", "%252e%252e", "%2f", "%00").
 * Returns a reason in words, or null when the name is safe.
 */
export function unsafeSegmentReason(segment: string): string | null {
  let s = segment;
  for (let round = 0; round < 4; round++) {
    if (s.includes('\0')) return 'a path must not contain a NUL byte';
    if (/[\u0001-\u001f\u007f]/.test(s)) return 'a path must not contain control characters';
    if (s === '.' || s === '..') return 'a path must not contain "." or ".." parts';
    if (s.includes('/') || s.includes('\\')) return round === 0 ? 'a name must not contain "/" or "\\"' : 'a path must not hide "/" or "\\" in an encoded form';
    if (!/%[0-9a-fA-F]{2}/.test(s)) return null;
    let next: string;
    try {
      next = decodeURIComponent(s);
    } catch {
      return null; // A lone "%" that decodes to nothing: an ordinary character in a name.
    }
    if (next === s) return null;
    s = next;
  }
  return 'a path must not be encoded more than three times';
}

/**
 * A path inside a storage location as the storage browser takes it:
 * relative, "/"-separated, every part checked by unsafeSegmentReason.
 * An absolute path is refused (the location's root is not the machine's).
 * Returns the parts, or a reason.
 */
export function browsePathParts(p: string): { parts: string[] } | { reason: string } {
  if (p.length > 4096) return { reason: 'the path is too long' };
  if (p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(p)) return { reason: 'the path must be relative to the storage location, not absolute' };
  const parts = p.split('/').filter((x) => x !== '');
  for (const part of parts) {
    const why = unsafeSegmentReason(part);
    if (why) return { reason: why };
    if (Buffer.byteLength(part) > 255) return { reason: 'a name has at most 255 bytes' };
  }
  return { parts };
}
