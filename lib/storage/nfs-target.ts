import { PassThrough, type Readable } from 'node:stream';
import { NfsError } from '../nfs/errors';
import { NfsShare, type NfsFileWriter } from '../nfs/nfs-share';
import { StorageError } from './errors';
import { safeRelative } from './paths';
import { checkRange } from './read-range';
import type { AccessInfo, ReadRange, SpaceInfo, StorageEntry, StorageTarget, StorageWriter } from './types';

/**
 * An NFS share (v4, 4.1, 4.2) as a storage target, through lib/nfs: no
 * kernel mount. The share is opened on first use and closed by close().
 * Free space is what this client may still use (space_avail). Writers keep
 * up to eight writeAt calls in flight (the archive writer honours
 * `parallelWrites`), so a backup fills the network pipe; commit() is the
 * NFS COMMIT, checked against the server's write verifier.
 */
export class NfsTarget implements StorageTarget {
  readonly kind = 'nfs' as const;
  readonly label: string;
  private share: Promise<NfsShare> | null = null;

  constructor(
    readonly url: string,
    private readonly opts: { timeoutMs?: number } = {},
  ) {
    this.label = `NFS share ${url}`;
  }

  private open(): Promise<NfsShare> {
    if (!this.share) {
      const opening = NfsShare.open(this.url, { timeoutMs: this.opts.timeoutMs ?? 30_000 });
      // A failed open is not kept: the next call tries again.
      opening.catch(() => {
        if (this.share === opening) this.share = null;
      });
      this.share = opening;
    }
    return this.share;
  }

  private async wrap<T>(operation: string, fn: (share: NfsShare) => Promise<T>): Promise<T> {
    try {
      return await fn(await this.open());
    } catch (err) {
      throw this.words(operation, err);
    }
  }

  private rel(name: string): string {
    return safeRelative(this.label, name);
  }

  space(dir = ''): Promise<SpaceInfo> {
    return this.wrap('read free space', async (s) => {
      const sp = await s.space(this.rel(dir));
      return { totalBytes: sp.totalBytes, freeBytes: sp.availableBytes, usedBytes: sp.usedBytes };
    });
  }

  access(dir = ''): Promise<AccessInfo> {
    return this.wrap('check access', (s) => s.access(this.rel(dir)));
  }

  list(dir = ''): Promise<StorageEntry[]> {
    return this.wrap(`list ${dir || '/'}`, (s) => s.list(this.rel(dir)));
  }

  stat(name: string): Promise<StorageEntry | null> {
    return this.wrap(`stat ${name}`, (s) => s.stat(this.rel(name)));
  }

  create(name: string): Promise<StorageWriter> {
    return this.wrap(`create ${name}`, async (s) => {
      const w = await s.createFile(this.rel(name));
      return writerFor(this, w, name);
    });
  }

  /**
   * The file (or the range [start, end) of it) as a stream; errors while it
   * flows are in this target's words too. A range asks the server for its
   * bytes only: no READ reaches past `end` (lib/nfs reads ahead up to 32
   * MiB otherwise).
   */
  read(name: string, range: ReadRange = {}): Promise<Readable> {
    return this.wrap(`read ${name}`, async (s) => {
      const { start, end } = checkRange(range);
      const source = await s.readFile(this.rel(name), { start, end });
      const out = new PassThrough({ highWaterMark: 1 << 20 });
      source.on('error', (err) => out.destroy(this.words(`read ${name}`, err)));
      out.on('close', () => source.destroy());
      return source.pipe(out);
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.wrap(`rename ${from} to ${to}`, (s) => s.rename(this.rel(from), this.rel(to)));
  }

  remove(name: string): Promise<void> {
    return this.wrap(`remove ${name}`, (s) => s.remove(this.rel(name)));
  }

  async close(): Promise<void> {
    const s = this.share;
    this.share = null;
    await (await s?.catch(() => null))?.close();
  }

  /** Any failure in this target's words (an NfsError keeps its reason and code). */
  words(operation: string, err: unknown): StorageError {
    if (err instanceof StorageError) return err;
    if (err instanceof NfsError) return new StorageError(this.label, operation, err.reason, err.code);
    return new StorageError(this.label, operation, (err as Error).message ?? String(err));
  }
}

function writerFor(target: NfsTarget, w: NfsFileWriter, name: string): StorageWriter {
  const guard = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw target.words(operation, err);
    }
  };
  return {
    parallelWrites: 8,
    writeAt: (offset, data) => guard(`write ${name}`, () => w.writeAt(offset, data)),
    commit: () => guard(`flush ${name}`, () => w.commit()),
    abort: () => w.abort(),
  };
}
