import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { formatSize } from '../storage/format-size';
import { SourceError } from './errors';

/**
 * The one way a source writes what it receives: a new file in the caller's
 * folder, created with O_CREAT|O_EXCL (never an existing file, never through
 * a symlink) and mode 0600, written chunk by chunk as the bytes arrive (never
 * held whole in memory), counted against maxBytes before each write, fsync'ed
 * before it is handed over, and removed on any failure. Its name is random and
 * ends in ".part": it is the caller's to check, rename or remove once
 * finish() returned.
 */
export class TempFile {
  #bytes = 0;
  #hash = crypto.createHash('sha256');
  #closed = false;

  private constructor(
    readonly path: string,
    private readonly handle: fs.FileHandle,
    private readonly maxBytes: number,
    private readonly describe: string,
  ) {}

  /**
   * `describe` names the file in the too-large message ("The upload", "/srv/x.age on host:22").
   * A missing or unwritable folder is a fault of the caller's configuration and is thrown as is.
   */
  static async create(dir: string, opts: { maxBytes: number; prefix: string; describe: string }): Promise<TempFile> {
    if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes < 0) throw new RangeError('maxBytes must be a non-negative integer');
    const name = `${opts.prefix}-${crypto.randomBytes(12).toString('hex')}.part`;
    const file = path.join(dir, name);
    const handle = await fs.open(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    return new TempFile(file, handle, opts.maxBytes, opts.describe);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Refuses (too_large) a file whose announced size is over the limit, before any byte of it is read. */
  checkAnnouncedSize(size: number): void {
    if (size > this.maxBytes) throw tooLarge(this.describe, this.maxBytes, size);
  }

  /** Writes all of `chunk` at the end; refuses (too_large) the chunk that would pass maxBytes, writing none of it. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.#bytes + chunk.length > this.maxBytes) throw tooLarge(this.describe, this.maxBytes);
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await this.handle.write(chunk, off, chunk.length - off);
      off += bytesWritten;
    }
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
  }

  /** fsync and close; the file stays. Returns its size and SHA-256 (hex) of what was written. */
  async finish(): Promise<{ path: string; size: number; sha256: string }> {
    try {
      await this.handle.sync();
    } catch (err) {
      throw localWriteError(err);
    }
    this.#closed = true;
    await this.handle.close();
    return { path: this.path, size: this.#bytes, sha256: this.#hash.digest('hex') };
  }

  /** Close (if still open) and remove the file. Never throws: it runs on the way out of a failure. */
  async discard(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      await this.handle.close().catch(() => undefined);
    }
    await fs.rm(this.path, { force: true }).catch(() => undefined);
  }
}

/**
 * Runs `work` against a new temp file: on success the file is fsync'ed and kept,
 * on any failure (thrown error, abort) it is removed and the error rethrown.
 */
export async function withTempFile<T>(
  dir: string,
  opts: { maxBytes: number; prefix: string; describe: string },
  work: (file: TempFile) => Promise<T>,
): Promise<{ path: string; size: number; sha256: string; result: T }> {
  const file = await TempFile.create(dir, opts);
  try {
    const result = await work(file);
    const done = await file.finish();
    return { ...done, result };
  } catch (err) {
    await file.discard();
    throw localWriteError(err);
  }
}

function tooLarge(describe: string, maxBytes: number, size?: number): SourceError {
  const what = size === undefined ? '' : ` (${formatSize(size)})`;
  return new SourceError('too_large', `${describe}${what} is larger than the limit of ${formatSize(maxBytes)}; nothing was kept.`);
}

/** A full disk is said in words; any other local error stays a fault. */
function localWriteError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new SourceError('no_space', 'The appliance has no space left for the temporary copy; nothing was kept. Free some space and try again.');
  }
  return err;
}
