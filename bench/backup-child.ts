/**
 * One backup in a process of its own, so that its peak memory can be read:
 * prints {"ms":…, "cpuMs":…, "fileBytes":…, "maxRssMiB":…} on the last line
 * (cpuMs: user + system time of the whole process, its worker threads
 * included, over the same span as ms). The database is closed at the end,
 * so that it is one file at rest (its WAL checkpointed) for the file-level
 * tools the benchmark compares with.
 * Expects WEBCONF_DATA_DIR (with the data under <data>/appliance) and
 * BENCH_TARGET (the folder to write to).
 */
import { setDms, isDmsSet } from '../lib/backup/dms';
import { startBackup, waitForBackup } from '../lib/backup/engine';
import { getBackupRun } from '../lib/backup/runs';
import { saveStorageConfig } from '../lib/storage/config';
import { db } from '../lib/db/client';

async function main() {
  const actor = { id: null, name: 'bench', ip: null };
  if (!isDmsSet()) await setDms(actor, 'benchmark domain master secret');
  await saveStorageConfig(actor, { type: 'local', path: process.env.BENCH_TARGET! });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const run = await startBackup('manual', actor);
  await waitForBackup(run.id);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const done = getBackupRun(run.id)!;
  if (done.status !== 'succeeded') throw new Error(`backup ${done.status}: ${done.error}`);
  process.stdout.write(`${JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, fileBytes: done.sizeBytes, fileName: done.fileName, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
  db().$client.close();
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
