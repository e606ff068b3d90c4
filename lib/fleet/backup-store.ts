import type { Readable } from 'node:stream';
import { AppError } from '../errors';
import { isS3Error, type S3Store } from '../s3';
import { openStorage } from '../storage/config';
import { StorageError } from '../storage/errors';
import type { StorageTarget } from '../storage/types';
import { getFleetConfig, s3StoreOf } from './config';
import type { StoredFleetConfig } from './schemas';

/**
 * Where device backups go: the organisation's S3 bucket and folder, or the
 * console's own backup storage (lib/storage: a local folder, a USB drive, an
 * NFS share). Object names:
 *
 *   S3       <folder>/<device>/<UTC timestamp>.<xml|cfg>.age   (the folder is the store's)
 *   console  managed-device-<device>-<UTC timestamp>.<xml|cfg>.age   (storage targets have no folders to create)
 *
 * A name is visible only once complete: S3 completes a multipart upload at
 * the end (and aborts it on any failure); on a storage target the file is
 * written as <name>.partial and renamed. `location` says which store a
 * backup record belongs to; retention and downloads only ever use records.
 */
export interface FleetStore {
  readonly kind: 's3' | 'console';
  /** Which bucket and folder, or which storage target; recorded with every backup. */
  readonly location: string;
  /** The whole object (a device backup is whole in memory anyway); answers its size once stored under `key`. */
  put(key: string, body: Buffer, signal?: AbortSignal): Promise<number>;
  get(key: string): Promise<{ body: Readable; size: number | null }>;
  remove(key: string): Promise<void>;
  /** Removes what a killed run left: incomplete multipart uploads / .partial files of our names. */
  sweep(olderThan: Date): Promise<number>;
  close(): Promise<void>;
}

export const CONSOLE_PREFIX = 'managed-device-';

/** "2025-01-31T02-00-00.123Z": sortable, no ":" (not every file system and tool takes it). */
export function utcStamp(at: Date): string {
  return at.toISOString().replace(/:/g, '-');
}

export function objectKeyFor(kind: 's3' | 'console', device: string, model: string, at: Date): string {
  const ext = model === 'opnsense' ? 'xml' : 'cfg';
  return kind === 's3' ? `${device}/${utcStamp(at)}.${ext}.age` : `${CONSOLE_PREFIX}${device}-${utcStamp(at)}.${ext}.age`;
}

/** An S3 key objectKeyFor makes (device name as deviceNameSchema allows, then the stamp): the only uploads a sweep may abort. */
const S3_OBJECT_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*\/\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z\.(xml|cfg)\.age$/;

export function isFleetObjectKey(key: string): boolean {
  return S3_OBJECT_KEY.test(key);
}

export function s3Location(s: { endpoint: string; bucket: string; folder: string }): string {
  return `${s.endpoint}/${s.bucket}${s.folder ? `/${s.folder}` : ''}`;
}

/** A storage failure in words for the run and the user (an S3Error's words are already for them). */
export function storeFailure(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  if (isS3Error(err)) return err;
  if (err instanceof StorageError) return new AppError('unprocessable', err.message);
  return null;
}

class S3FleetStore implements FleetStore {
  readonly kind = 's3' as const;
  constructor(
    readonly location: string,
    private readonly store: S3Store,
  ) {}
  async put(key: string, body: Buffer, signal?: AbortSignal): Promise<number> {
    return (await this.store.put(key, body, { contentType: 'application/octet-stream', signal })).size;
  }
  async get(key: string) {
    const o = await this.store.get(key);
    return { body: o.body, size: o.size };
  }
  remove(key: string) {
    return this.store.delete(key);
  }
  sweep(olderThan: Date) {
    // The folder may be shared: another tool's upload under way there is not ours to abort.
    return this.store.abortIncompleteUploads({ olderThan, match: isFleetObjectKey });
  }
  async close() {
    this.store.close();
  }
}

class ConsoleFleetStore implements FleetStore {
  readonly kind = 'console' as const;
  readonly location: string;
  constructor(private readonly target: StorageTarget) {
    this.location = target.label;
  }
  async put(key: string, body: Buffer, signal?: AbortSignal): Promise<number> {
    const partial = `${key}.partial`;
    const writer = await this.target.create(partial);
    try {
      signal?.throwIfAborted();
      await writer.writeAt(0, body);
      signal?.throwIfAborted();
      await writer.commit();
    } catch (err) {
      await writer.abort().catch(() => undefined);
      throw err;
    }
    try {
      await this.target.rename(partial, key);
    } catch (err) {
      await this.target.remove(partial).catch(() => undefined);
      throw err;
    }
    return body.length;
  }
  async get(key: string) {
    const entry = await this.target.stat(key);
    if (!entry) throw new AppError('not_found', `The backup file ${key} is no longer on ${this.location}.`);
    return { body: await this.target.read(key), size: entry.size };
  }
  remove(key: string) {
    return this.target.remove(key);
  }
  async sweep(): Promise<number> {
    let n = 0;
    for (const e of await this.target.list()) {
      if (e.type === 'file' && e.name.startsWith(CONSOLE_PREFIX) && e.name.endsWith('.partial')) {
        await this.target.remove(e.name);
        n++;
      }
    }
    return n;
  }
  close() {
    return this.target.close();
  }
}

/** The configured store; AppError in words when there is none. */
export function openFleetStore(config: StoredFleetConfig | null = getFleetConfig()): FleetStore {
  const s = config?.storage;
  if (!s) throw new AppError('conflict', 'No storage is set for device backups. An admin sets an S3 bucket or the console storage in the organisation backup configuration.');
  if (s.kind === 's3') return new S3FleetStore(s3Location(s), s3StoreOf(s));
  const target = openStorage();
  if (!target) throw new AppError('conflict', "Device backups go to the console's own backup storage, and none is set (Storage Type None). Set one on the Backup page.");
  return new ConsoleFleetStore(target);
}

/** The store that holds backups recorded at `location`, if it is the configured one (the only one the console can reach). */
export function openStoreAt(location: string): FleetStore | null {
  let store: FleetStore;
  try {
    store = openFleetStore();
  } catch {
    return null;
  }
  if (store.location === location) return store;
  void store.close();
  return null;
}

