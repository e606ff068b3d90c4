/** A storage fault in words: which target, which operation, what happened. */
export class StorageError extends Error {
  constructor(
    readonly target: string,
    readonly operation: string,
    readonly reason: string,
    readonly code?: string,
  ) {
    super(`${target}: ${operation} failed: ${reason}`);
    this.name = 'StorageError';
  }
}

const REASONS: Record<string, string> = {
  ENOENT: 'it does not exist',
  EEXIST: 'a file with that name already exists',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a folder',
  ENOTEMPTY: 'the folder is not empty',
  EROFS: 'the file system is read-only',
  EIO: 'input/output error on the device',
};

export function storageError(target: string, operation: string, err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  return new StorageError(target, operation, (code && REASONS[code]) || (err as Error).message || 'unknown error', code);
}
