/**
 * NFS throughput of lib/nfs against a named baseline, side by side in one
 * run, on the same nfs-ganesha export on loopback:
 *   baseline: nfs-cp (libnfs, NFSv3) copying a local file to the share and back
 *   lib/nfs:  NfsShare over NFS 4.0, 4.1 and 4.2: a pipelined write of the
 *             same file with COMMIT, and a pipelined read of it (readChunks)
 * Reads go to a file on both sides (nfs-cp cannot write to /dev/null), in
 * /dev/shm when there is one. lib/nfs commits its writes (COMMIT) before it
 * reports them done. Prints MiB/s and the ratio lib/nfs /
 * nfs-cp for writes and reads. BENCH_NFS_MIB (default 512) and BENCH_ROUNDS
 * (default 3) tune it.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NfsShare } from '../lib/nfs/nfs-share';
import { startNfsServer } from '../tests/helpers/nfs-server';
import { median } from './measure';

const MiB = 1 << 20;
const size = Number(process.env.BENCH_NFS_MIB ?? 512) * MiB;
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

async function timed(fn: () => Promise<void> | void): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-nfs-bench-'));
  const local = path.join(work, 'data.bin');
  // Reads land in RAM (tmpfs) when there is one, so the local disk's writeback does not blur the comparison.
  const readBack = path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : work, `webconf-nfs-bench-${process.pid}.bin`);
  const block = crypto.randomBytes(16 * MiB);
  const fd = fs.openSync(local, 'w');
  for (let done = 0; done < size; done += block.length) fs.writeSync(fd, block, 0, Math.min(block.length, size - done));
  fs.closeSync(fd);
  execFileSync('cat', [local], { stdio: ['ignore', 'ignore', 'inherit'] });
  const server = await startNfsServer();
  const results: Record<string, { write: number[]; read: number[] }> = {};
  const add = (name: string, kind: 'write' | 'read', ms: number) => {
    results[name] ??= { write: [], read: [] };
    results[name][kind].push(ms);
  };
  try {
    for (let r = 0; r < rounds; r++) {
      const base = `nfs-cp-${r}.bin`;
      add('nfs-cp (NFSv3)', 'write', await timed(() => void execFileSync('nfs-cp', [local, server.v3url(base)])));
      add('nfs-cp (NFSv3)', 'read', await timed(() => void execFileSync('nfs-cp', [server.v3url(base), readBack])));
      fs.rmSync(readBack);
      fs.rmSync(path.join(server.exportDir, base));
      for (const v of ['4', '4.1', '4.2'] as const) {
        const name = `lib/nfs (NFS ${v === '4' ? '4.0' : v})`;
        const share = await NfsShare.open(server.url(v), { timeoutMs: 60_000 });
        const file = `lib-nfs-${v}-${r}.bin`;
        add(name, 'write', await timed(async () => {
          const w = await share.createFile(file);
          for await (const chunk of fs.createReadStream(local, { highWaterMark: 4 * MiB })) await w.append(chunk as Buffer);
          await w.commit();
        }));
        if (fs.statSync(path.join(server.exportDir, file)).size !== size) throw new Error('lib/nfs wrote a file of the wrong size');
        add(name, 'read', await timed(async () => {
          const out = await fs.promises.open(readBack, 'w');
          try {
            await share.readChunks(file, async (chunk) => {
              await out.write(chunk);
            });
          } finally {
            await out.close();
          }
        }));
        if (fs.statSync(readBack).size !== size) throw new Error('lib/nfs read a file of the wrong size');
        fs.rmSync(readBack);
        fs.rmSync(path.join(server.exportDir, file));
        await share.close();
      }
    }
  } finally {
    await server.stop();
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(readBack, { force: true });
  }
  const mibs = (ms: number) => size / MiB / (ms / 1000);
  const base = results['nfs-cp (NFSv3)']!;
  console.log(`\nNFS throughput, ${size / MiB} MiB, median of ${rounds} rounds, same ganesha export on loopback (ratio = lib/nfs / nfs-cp):`);
  for (const [name, r] of Object.entries(results)) {
    const w = mibs(median(r.write));
    const rd = mibs(median(r.read));
    const ratio = name.startsWith('lib/nfs') ? ` | write ratio ${(w / mibs(median(base.write))).toFixed(2)} | read ratio ${(rd / mibs(median(base.read))).toFixed(2)}` : '';
    console.log(`${name.padEnd(18)} | write ${w.toFixed(0).padStart(5)} MiB/s | read ${rd.toFixed(0).padStart(5)} MiB/s${ratio}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
