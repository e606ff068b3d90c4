/**
 * The fleet benchmark's child, one process per call, on the data folder
 * WEBCONF_DATA_DIR (one for the whole benchmark; one child at a time):
 *
 *   fleet-child.ts setup FILE     FILE (JSON, see Setup): the organisation configuration on
 *                                 S3 with the X25519 recipient, then every device added
 *                                 (probed), its host key pinned and approved, through lib/fleet
 *   fleet-child.ts run FOLDER N   points the S3 configuration at FOLDER (checked, as an admin
 *                                 saving it), then one run of the first N devices by name
 *                                 (startFleetRun, waitForFleetRun, concurrency 16); prints its
 *                                 report on the last line
 *
 * `run` times the run alone (startFleetRun to the end of waitForFleetRun),
 * not process start-up nor the configuration check, and reports the
 * process's peak RSS (process.resourceUsage().maxRSS: the whole process,
 * start-up included), its RSS just before the run, its CPU over the run, and
 * the run's outcome as the console records it (every task SUCCEEDED, none
 * unchanged), so the parent can refuse a run that did not back up every device.
 */
import fs from 'node:fs';
import pLimit from 'p-limit';
import type { Actor } from '../lib/audit/audit';
import { db } from '../lib/db/client';
import { saveFleetConfig, setOrgKey } from '../lib/fleet/config';
import { addDevice, approveDevice, pinHostKey } from '../lib/fleet/devices';
import { startFleetRun, waitForFleetRun } from '../lib/fleet/run';
import { runView } from '../lib/fleet/views';

export type Setup = {
  s3: { endpoint: string; region: string; bucket: string; accessKeyId: string; secretKey: string };
  recipient: string;
  devices: { name: string; host: string; port: number; username: string; privateKey: string; fingerprint: string }[];
};

export type RunReport = {
  ms: number;
  cpuMs: number;
  maxRssMiB: number;
  rssBeforeMiB: number;
  /** Peaks sampled every 50 ms over the run (V8's heap in use, Buffers outside it), and the heap in use after a full GC at the end: what the run kept. */
  peakHeapMiB: number;
  peakArrayBuffersMiB: number;
  heapAfterGcMiB: number;
  status: string;
  succeeded: number;
  unchanged: number;
  failed: string[];
};

const admin: Actor = { id: null, name: 'bench', ip: null };
const SETUP_FILE = 'setup.json';
const MiB = 1 << 20;

function s3Of(setup: Setup, folder: string) {
  return { kind: 's3' as const, ...setup.s3, folder };
}

async function setup(file: string) {
  const s: Setup = JSON.parse(fs.readFileSync(file, 'utf8'));
  // Retention above the runs the benchmark makes: nothing is deleted (the shell pipeline deletes nothing either).
  // Each run has a folder of its own anyway, and retention counts per folder.
  await saveFleetConfig(admin, { enabled: true, retention: 100, storage: s3Of(s, 'setup') });
  setOrgKey(admin, { recipient: s.recipient });
  const limit = pLimit(8);
  await Promise.all(
    s.devices.map((d) =>
      limit(async () => {
        await addDevice(admin, { name: d.name, host: d.host, port: d.port, username: d.username, privateKey: d.privateKey, model: 'opnsense' });
        await pinHostKey(admin, d.name, { fingerprint: d.fingerprint });
        approveDevice(admin, d.name);
      }),
    ),
  );
  fs.copyFileSync(file, `${process.env.WEBCONF_DATA_DIR}/${SETUP_FILE}`);
  return { devices: s.devices.length };
}

async function run(folder: string, n: number): Promise<RunReport> {
  const s: Setup = JSON.parse(fs.readFileSync(`${process.env.WEBCONF_DATA_DIR}/${SETUP_FILE}`, 'utf8'));
  await saveFleetConfig(admin, { storage: s3Of(s, folder) });
  const names = s.devices.slice(0, n).map((d) => d.name);
  const rssBefore = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const peak = { heap: 0, ab: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    peak.heap = Math.max(peak.heap, m.heapUsed);
    peak.ab = Math.max(peak.ab, m.arrayBuffers);
  };
  const sampler = setInterval(sample, 50);
  const t0 = performance.now();
  const r = await startFleetRun(admin, { trigger: 'manual', devices: names }, { concurrency: 16 });
  await waitForFleetRun(r.id);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  sample();
  (globalThis as { gc?: () => void }).gc?.();
  const heapAfterGc = process.memoryUsage().heapUsed;
  const v = runView(r.id)!;
  db().$client.close();
  return {
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    rssBeforeMiB: rssBefore / MiB,
    peakHeapMiB: peak.heap / MiB,
    peakArrayBuffersMiB: peak.ab / MiB,
    heapAfterGcMiB: heapAfterGc / MiB,
    status: v.status,
    succeeded: v.tasks.filter((t) => t.status === 'SUCCEEDED').length,
    unchanged: v.tasks.filter((t) => t.unchanged).length,
    failed: v.tasks.filter((t) => t.status !== 'SUCCEEDED').map((t) => `${t.device}: ${t.status} ${t.error ?? ''}`),
  };
}

async function main() {
  const [cmd, a, b] = process.argv.slice(2);
  let report: unknown;
  if (cmd === 'setup') report = await setup(a!);
  else if (cmd === 'run') report = await run(a!, Number(b));
  else throw new Error(`unknown command ${cmd}`);
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
