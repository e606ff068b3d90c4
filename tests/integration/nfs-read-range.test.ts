import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { encryptWithPassphrase } from '@/lib/age';
import { tarHeader } from '@/lib/backup/archive';
import { clearBackupDetailsCache, readBackupDetails } from '@/lib/backup/details';
import { MANIFEST_FORMAT, MANIFEST_VERSION, ManifestSigner } from '@/lib/backup/manifest';
import { Compound } from '@/lib/nfs/nfs4-compound';
import { NfsTarget } from '@/lib/storage/nfs-target';
import { NFS_MAX_IO, startNfsServer, type NfsServer } from '../helpers/nfs-server';

/**
 * Ranged reads through NfsTarget (lib/nfs readFile with an end) against
 * nfs-ganesha: byte-identical ranges, no READ asked past the range (lib/nfs
 * otherwise reads up to 32 MiB ahead), and Backup Details of a 40 MiB
 * backup file on the share asking the server for a few hundred KiB.
 */
const MiB = 1 << 20;
const DMS = 'nfs details domain master secret';
let server: NfsServer;
let data: Buffer;

beforeAll(async () => {
  server = await startNfsServer();
  data = crypto.randomBytes(3 * NFS_MAX_IO + 5);
  fs.writeFileSync(path.join(server.exportDir, 'data.bin'), data);
  // 1 GiB, sparse: reading it all would take a while, reading 200 KiB must not.
  const fd = fs.openSync(path.join(server.exportDir, 'large.bin'), 'w');
  fs.writeSync(fd, data.subarray(0, 4096), 0, 4096, 0);
  fs.ftruncateSync(fd, 1 << 30);
  fs.closeSync(fd);
});
afterAll(async () => {
  await server?.stop();
});
afterEach(() => vi.restoreAllMocks());

async function readAll(stream: Readable, stopAfter = Infinity): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    parts.push(c as Buffer);
    n += (c as Buffer).length;
    if (n >= stopAfter) break;
  }
  return Buffer.concat(parts);
}

/** Sums the byte counts of the READs lib/nfs asks for. */
function countReads(): () => number {
  const spy = vi.spyOn(Compound.prototype, 'read');
  return () => spy.mock.calls.reduce((n, call) => n + (call[2] as number), 0);
}

for (const version of ['4', '4.1', '4.2'] as const) {
  describe(`NfsTarget ranged reads, NFS ${version === '4' ? '4.0' : version}`, () => {
    let target: NfsTarget;
    beforeAll(() => {
      target = new NfsTarget(server.url(version), { timeoutMs: 15_000 });
    });
    afterAll(async () => {
      await target?.close();
    });

    it('reads [start, end) byte-identical, across READ boundaries, past the end of the file, and empty ranges', async () => {
      const ranges: { start?: number; end?: number }[] = [
        {},
        { end: 10 },
        { start: 777 },
        { start: 777, end: 3 * NFS_MAX_IO + 3 },
        { start: NFS_MAX_IO - 1, end: NFS_MAX_IO + 1 },
        { start: data.length - 5, end: data.length + 1000 },
        { start: 5, end: 5 },
        { start: data.length + 10 },
      ];
      for (const r of ranges) {
        const got = await readAll(await target.read('data.bin', r));
        expect(got.equals(data.subarray(r.start ?? 0, r.end ?? data.length)), JSON.stringify(r)).toBe(true);
      }
    });

    it('asks the server for no byte past the range: 200 KiB of a 1 GiB file is 200 KiB of READs (a whole-file stream asks for 32 MiB)', async () => {
      let asked = countReads();
      const got = await readAll(await target.read('large.bin', { start: 0, end: 200 * 1024 }));
      expect(got.length).toBe(200 * 1024);
      expect(got.subarray(0, 4096).equals(data.subarray(0, 4096))).toBe(true);
      expect(asked()).toBe(200 * 1024);
      vi.restoreAllMocks();
      // The contrast: a stream without an end, dropped after its first 200 KiB, has asked for the whole read-ahead window.
      asked = countReads();
      await readAll(await target.read('large.bin'), 200 * 1024);
      expect(asked()).toBeGreaterThanOrEqual(16 * MiB);
    });

    it('a missing file fails in the target\'s words', async () => {
      await expect(target.read('nope.bin', { end: 10 })).rejects.toThrow(/^NFS share nfs:\/\/.*read nope\.bin failed: /);
    });
  });
}

describe('Backup Details over NFS', () => {
  it('of a 40 MiB backup file on the share read a few hundred KiB, and match its manifest', async () => {
    // A backup as the engine lays it out (archive.ts): manifest.json first, padded to whole chunks, then a member.
    const big = crypto.randomBytes(40 * MiB);
    const signer = new ManifestSigner(DMS);
    const manifest = await signer.sign({
      format: MANIFEST_FORMAT,
      formatVersion: MANIFEST_VERSION,
      appliance: { id: 'appliance-1', name: 'webconf01', firmwareVersion: '1.2.3' },
      createdAt: '2026-11-22T04:30:00.000Z',
      contents: { firmwareConfiguration: false, systemConfiguration: true, internalDatabase: false, excluded: ['system/link (not a regular file: symbolic link or special file)'] },
      database: { engine: 'sqlite', integrityCheck: 'ok', path: 'database/webconf.db' },
      members: [{ path: 'system/big.bin', kind: 'system', size: big.length, sha256: crypto.createHash('sha256').update(big).digest('hex') }],
    });
    const json = Buffer.from(JSON.stringify(manifest));
    const padded = Buffer.concat([json, Buffer.alloc(65536 - 512 - json.length, 0x20)]);
    const mtime = new Date();
    const archive = Buffer.concat([
      await tarHeader({ name: 'manifest.json', size: padded.length, mode: 0o600, mtime }),
      padded,
      await tarHeader({ name: 'system/big.bin', size: big.length, mode: 0o600, mtime }),
      big,
      Buffer.alloc(1024),
    ]);
    const out = fs.createWriteStream(path.join(server.exportDir, 'site-webconf01-20261122T043000Z.tar.age'));
    await pipeline(Readable.from([archive]), await encryptWithPassphrase(DMS), out);

    const target = new NfsTarget(server.url('4.1'), { timeoutMs: 15_000 });
    try {
      clearBackupDetailsCache();
      const asked = countReads();
      const d = await readBackupDetails(target, 'site-webconf01-20261122T043000Z.tar.age', DMS);
      expect(asked()).toBeLessThan(MiB);
      expect(d).toMatchObject({
        fileName: 'site-webconf01-20261122T043000Z.tar.age',
        dms: 'this',
        createdAt: '2026-11-22T04:30:00.000Z',
        appliance: { id: 'appliance-1', name: 'webconf01', firmwareVersion: '1.2.3' },
        signature: 'verified',
        contents: { members: 1, dataBytes: big.length, database: { engine: 'sqlite', integrityCheck: 'ok' } },
      });
      expect(d.sizeBytes).toBeGreaterThan(40 * MiB);
      const other = await readBackupDetails(target, 'site-webconf01-20261122T043000Z.tar.age', 'another secret');
      expect(other.dms).toBe('other');
    } finally {
      await target.close();
    }
  });
});
