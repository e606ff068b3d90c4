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
