import { AppError } from '../errors';
import { StorageError } from './errors';

/**
 * A storage fault while browsing or reading details (permission denied in
 * one folder, a stale NFS handle, an I/O error from a pulled drive, a
 * server gone) becomes a refusal in the target's words (422), which the
 * dialog shows in place; it is not a fault of the console.
 */
export async function storageRefusal<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof StorageError) {
      throw new AppError(err.code === 'ENOENT' || err.code === 'NFS4ERR_NOENT' ? 'not_found' : 'unprocessable', err.message);
    }
    throw err;
  }
}
