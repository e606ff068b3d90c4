import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { NfsShare as Share } from '@/lib/nfs/nfs-share';
import { startNfsServer, type NfsServer } from '../helpers/nfs-server';

/**
 * The storage browser's kept listings of a remote folder, in this process,
 * against nfs-ganesha: which reading a request gets when readings overlap,
 * a failed background reading, forgetListings during a reading, and one
 * background reading at a time per folder. The folder is changed through
 * NFS, as another client would. NfsShare.list is watched (and, for the
 * faults, made to fail or wait), never replaced by a fake listing.
 */
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-listings-'));
process.env.WEBCONF_DATA_DIR = dataDir;
process.env.WEBCONF_LOG_LEVEL = 'silent';
const { browse, forgetListings } = await import('@/lib/storage/browser');
const { closePooledTargets } = await import('@/lib/storage/target-pool');
const { NfsShare } = await import('@/lib/nfs/nfs-share');
const { NfsError } = await import('@/lib/nfs/errors');

let nfs: NfsServer;
let peer: Share;
const FILES = 40;
let url: string;
let changes = 0;
// The real listing, taken before the spy replaces it on the prototype (a wrapper calls this, not the spy).
const realList = NfsShare.prototype.list;
const list = vi.spyOn(NfsShare.prototype, 'list');

beforeAll(async () => {
  nfs = await startNfsServer();
  fs.mkdirSync(path.join(nfs.exportDir, 'folder'));
  for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(nfs.exportDir, 'folder', `config-${i}.txt`), 'x');
  url = nfs.url('4.1', 'folder');
  peer = await NfsShare.open(url);
});
afterAll(async () => {
  await peer?.close();
  await closePooledTargets();
  await nfs?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});
afterEach(() => {
  list.mockReset();
  forgetListings();
});

/** A new file in the folder, written by another NFS client: the folder's modification time moves. */
async function change(): Promise<string> {
  // Modification times are compared in milliseconds: two changes never share one.
  await new Promise((r) => setTimeout(r, 5));
  const name = `AAA-${++changes}.txt`;
  const w = await peer.createFile(name);
  await w.commit();
  return name;
}
/** The next reading of a folder reads it, then waits to return until the function returned is called. */
function holdNextReading(): () => void {
  let release!: () => void;
  const mayEnd = new Promise<void>((r) => (release = r));
  list.mockImplementationOnce(async function (this: Share, dir?: string) {
    const out = await realList.call(this, dir);
    await mayEnd;
    return out;
  });
  return release;
}
const names = (p: { entries: { name: string }[] }) => p.entries.map((e) => e.name);
const readings = () => list.mock.calls.length;

describe('storage browser: kept listings of an NFS folder', () => {
  it('a cursor keeps its listing after a newer reading replaced it as the folder\'s', async () => {
    const first = await browse(url, { limit: 10 });
    const total = first.total;
    const added = await change();
    const fresh = await browse(url, { limit: 10 });
    expect(fresh.total).toBe(total + 1);
    expect(names(fresh)[0]).toBe(added);
    const before = readings();
    const second = await browse(url, { limit: 10, cursor: first.nextCursor! });
    expect(second.total).toBe(total);
    expect(second.listedAt).toBe(first.listedAt);
    expect(readings()).toBe(before);
  });

  it('an older reading that ends after a newer one does not replace it', async () => {
    await browse(url, { limit: 10 });
    const base = (await browse(url, { limit: 10 })).total;
    list.mockClear();
    await change();
    // The first reading of the changed folder waits until the second, begun after another change, is done.
    const releaseSlow = holdNextReading();
    const slow = browse(url, { limit: 10 });
    await vi.waitFor(() => expect(readings()).toBe(1));
    await change();
    const newer = await browse(url, { limit: 10 });
    expect(newer.total).toBe(base + 2);
    releaseSlow();
    expect((await slow).total).toBe(base + 1);
    // The folder as kept is the newer reading: not stale, not read again.
    const kept = await browse(url, { limit: 10, kept: true });
    expect(kept.stale).toBe(false);
    expect(kept.total).toBe(base + 2);
    expect(kept.listedAt).toBe(newer.listedAt);
    expect(readings()).toBe(2);
  });

  it('a reading under way when listings are forgotten does not put its listing back, not even for its cursor', async () => {
    list.mockImplementationOnce(async function (this: Share, dir?: string) {
      const out = await realList.call(this, dir);
      forgetListings();
      return out;
    });
    const first = await browse(url, { limit: 10 });
    expect(readings()).toBe(1);
    await new Promise((r) => setTimeout(r, 5));
    const again = await browse(url, { limit: 10, kept: true });
    expect(readings()).toBe(2);
    expect(again.stale).toBe(false);
    expect(again.listedAt).toBeGreaterThan(first.listedAt);
    // The first page's cursor finds no listing of its own: its page comes from the one read since.
    const second = await browse(url, { limit: 10, cursor: first.nextCursor! });
    expect(second.listedAt).toBe(again.listedAt);
    expect(readings()).toBe(2);
  });

  it('keeps the listings of at most two readings of one folder for their cursors', async () => {
    const cursors: { cursor: string; listedAt: number; total: number }[] = [];
    for (let i = 0; i < 3; i++) {
      if (i) await change();
      const p = await browse(url, { limit: 10 });
      cursors.push({ cursor: p.nextCursor!, listedAt: p.listedAt, total: p.total });
    }
    const next = (c: (typeof cursors)[number]) => browse(url, { limit: 10, cursor: c.cursor });
    // The two newest still page through their own listings.
    for (const c of cursors.slice(1)) {
      const p = await next(c);
      expect(p.listedAt).toBe(c.listedAt);
      expect(p.total).toBe(c.total);
    }
    // The oldest's was dropped: its next page comes from the folder's newest listing, after the same entry.
    const oldest = await next(cursors[0]!);
    expect(oldest.listedAt).toBe(cursors[2]!.listedAt);
    expect(oldest.total).toBe(cursors[0]!.total + 2);
  });

  it('a failed background reading drops the kept listing: the next request reads in the foreground and says why', async () => {
    const first = await browse(url, { limit: 10, kept: true });
    expect(first.stale).toBe(false);
    await change();
    const gone = () => new NfsError('nfs://test', 'list /folder', 'EIO', 'the server answered with an I/O error');
    list.mockRejectedValueOnce(gone()).mockRejectedValueOnce(gone());
    const stale = await browse(url, { limit: 10, kept: true });
    expect(stale.stale).toBe(true);
    expect(stale.listedAt).toBe(first.listedAt);
    await vi.waitFor(() => expect(list.mock.settledResults[1]?.type).toBe('rejected'));
    // Let the failure's handler run before the next request.
    await new Promise((r) => setTimeout(r, 10));
    await expect(browse(url, { limit: 10, kept: true })).rejects.toThrow(/I\/O error/);
    expect(readings()).toBe(3);
    const fine = await browse(url, { limit: 10, kept: true });
    expect(fine.stale).toBe(false);
    expect(fine.total).toBe(first.total + 1);
  });

  it('a folder that keeps changing is read again in the background once at a time, not once per request', async () => {
    await browse(url, { limit: 10, kept: true });
    const release = holdNextReading();
    for (let i = 0; i < 5; i++) {
      await change();
      const p = await browse(url, { limit: 10, kept: true });
      expect(p.stale).toBe(true);
    }
    // One reading at the first request, and none begun while it was under way.
    expect(readings()).toBe(2);
    release();
    await vi.waitFor(() => expect(list.mock.settledResults[1]?.type).toBe('fulfilled'));
  });
});
