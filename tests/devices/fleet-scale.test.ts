import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConfigurationExport } from '@/lib/devices/export';
import { exportDevices } from '@/lib/devices/export-fleet';
import { startDevices, type SimulatedFleet } from '../helpers/ssh-devices';

/**
 * 200 simulated OPNsense devices, each exporting a 200 KiB config.xml,
 * through the pool at its default concurrency (16). Checks that every export
 * is whole and that the devices never saw more than 16 sessions at once;
 * prints the time and the peak resident memory of this process (which also
 * runs the 200 simulated devices). No timed asserts: speed is for bench/.
 */

const DEVICES = 200;
const CONFIG_BYTES = 200 * 1024;

let fleet: SimulatedFleet;

beforeAll(async () => {
  fleet = await startDevices(Array.from({ length: DEVICES }, () => ({ kind: 'opnsense', configBytes: CONFIG_BYTES }) as const));
}, 120_000);
afterAll(async () => {
  await fleet?.close();
});

it(`${DEVICES} devices × ${CONFIG_BYTES / 1024} KiB complete, at most 16 sessions at once`, async () => {
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  const devices = fleet.devices.map((d) => ({ id: d.name, connection: d.connection(), model: d.model() }));
  const t0 = performance.now();
  let done = 0;
  const outcomes = await exportDevices(devices, {
    onProgress: (e) => {
      if (e.state === 'succeeded' || e.state === 'failed') done++;
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);

  expect(outcomes.flatMap((o) => (o.state === 'succeeded' ? [] : [`${o.id}: ${o.error.message}`]))).toEqual([]);
  expect(done).toBe(DEVICES);
  outcomes.forEach((o, i) => {
    const out = (o as { value: ConfigurationExport }).value;
    expect(out.config.equals(fleet.devices[i]!.served.at(-1)!)).toBe(true);
  });
  expect(fleet.peak()).toBeLessThanOrEqual(16);
  expect(fleet.peak()).toBe(16);

  const mib = (b: number) => (b / 1024 / 1024).toFixed(0);
  console.log(
    `fleet-scale: ${DEVICES} devices × ${CONFIG_BYTES / 1024} KiB in ${seconds.toFixed(1)} s ` +
      `(${((DEVICES / seconds) * 60).toFixed(0)} devices/min, concurrency 16, peak ${fleet.peak()} sessions); ` +
      `RSS ${mib(rssBefore)} MiB before, peak ${mib(peakRss)} MiB (client and the ${DEVICES} simulated devices in one process)`,
  );
}, 300_000);
