import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceError } from '@/lib/devices/errors';
import { exportDevices, type FleetDevice } from '@/lib/devices/export-fleet';
import { runPool, type ProgressEvent } from '@/lib/devices/pool';
import type { DeviceConnectionInput } from '@/lib/devices/schemas';
import { startDevices, type SimulatedDeviceSpec, type SimulatedFleet } from '../helpers/ssh-devices';

/**
 * The fleet pool against simulated devices: the concurrency bound counted by
 * the devices themselves, the watchdog, which failures are retried, progress
 * and cancellation.
 */

let fleet: SimulatedFleet | null = null;
afterEach(async () => {
  await fleet?.close();
  fleet = null;
});

async function start(specs: SimulatedDeviceSpec[]): Promise<SimulatedFleet> {
  fleet = await startDevices(specs);
  return fleet;
}

const asFleet = (f: SimulatedFleet, extra: Partial<DeviceConnectionInput> = {}): FleetDevice[] =>
  f.devices.map((d) => ({ id: d.name, connection: d.connection(extra), model: d.model() }));

describe('concurrency', () => {
  it('never more sessions at once than the bound, counted on the devices; the bound is reached', async () => {
    const f = await start(Array.from({ length: 24 }, () => ({ kind: 'opnsense', behaviour: 'slow', configBytes: 24 * 1024, slow: { chunkBytes: 4096, delayMs: 25 } }) as const));
    const outcomes = await exportDevices(asFleet(f), { concurrency: 5 });
    expect(outcomes.map((o) => o.state)).toEqual(Array(24).fill('succeeded'));
    expect(f.peak()).toBe(5);
    await expect.poll(() => f.active(), { timeout: 2000 }).toBe(0);
    f.devices.forEach((d) => expect(d.stats.logins).toBe(1));
  });

  it('the default bound is 16', async () => {
    const f = await start(Array.from({ length: 40 }, () => ({ kind: 'opnsense', behaviour: 'slow', configBytes: 16 * 1024, slow: { chunkBytes: 4096, delayMs: 30 } }) as const));
    const outcomes = await exportDevices(asFleet(f));
    expect(outcomes.every((o) => o.state === 'succeeded')).toBe(true);
    expect(f.peak()).toBe(16);
  });
});

describe('the watchdog', () => {
  it('ends a hung device at its deadline, destroying its session, while the others finish', async () => {
    const f = await start([
      { kind: 'opnsense', behaviour: 'hang-after-login' },
      ...Array.from({ length: 8 }, () => ({ kind: 'opnsense', behaviour: 'slow', configBytes: 32 * 1024, slow: { chunkBytes: 4096, delayMs: 40 } }) as const),
    ]);
    const hung = f.devices[0]!;
    // The command time limit is far away: only the watchdog can end the hung export.
    const events: ProgressEvent[] = [];
    const outcomes = await exportDevices(asFleet(f, { commandTimeoutMs: 600_000 }), { concurrency: 3, deadlineMs: 1500, attempts: 1, onProgress: (e) => events.push(e) });
    const [first, ...rest] = outcomes;
    expect(first).toMatchObject({ state: 'failed', attempts: 1 });
    const err = (first as { error: DeviceError }).error;
    expect(err.reason).toBe('watchdog_timed_out');
    expect(err.message).toContain(`${hung.name} (127.0.0.1:${hung.port}) was still running after 1.5 s`);
    expect(rest.map((o) => o.state)).toEqual(Array(8).fill('succeeded'));
    // The hung device's slot went on to serve others; its session is gone on the device's side too.
    await expect.poll(() => f.active(), { timeout: 2000 }).toBe(0);
    expect(f.peak()).toBe(3);
    expect(events.filter((e) => e.index === 0).map((e) => e.state)).toEqual(['pending', 'in_progress', 'failed']);
  });

  it('frees the slot of a task that ignores the signal after the grace period', async () => {
    let finishedLate = 0;
    const items = [{ id: 'stuck' }, { id: 'a' }, { id: 'b' }];
    const outcomes = await runPool(
      items,
      async (item) => {
        if (item.id === 'stuck') {
          await new Promise((r) => setTimeout(r, 3000));
          finishedLate++;
        }
        return item.id;
      },
      { concurrency: 1, deadlineMs: 200, abandonAfterMs: 200, attempts: 1 },
    );
    expect(outcomes.map((o) => o.state)).toEqual(['failed', 'succeeded', 'succeeded']);
    expect(finishedLate).toBe(0);
  });
});

describe('retries', () => {
  it('a transient failure (connection reset) is retried with back-off until it succeeds', async () => {
    const f = await start([{ kind: 'opnsense', behaviour: 'reset-first', resetFirst: 2 }]);
    const events: ProgressEvent[] = [];
    const outcomes = await exportDevices(asFleet(f), { attempts: 3, backoffBaseMs: 50, onProgress: (e) => events.push(e) });
    expect(outcomes[0]).toMatchObject({ state: 'succeeded', attempts: 3 });
    expect(f.devices[0]!.stats.connections).toBe(3);
    expect(events.map((e) => `${e.state}:${e.attempt}`)).toEqual(['pending:0', 'in_progress:1', 'retrying:1', 'in_progress:2', 'retrying:2', 'in_progress:3', 'succeeded:3']);
    expect(events.find((e) => e.state === 'retrying')!.error!.reason).toBe('connection_lost');
  });

  it('gives up after the last attempt, with the last reason', async () => {
    const f = await start([{ kind: 'opnsense', behaviour: 'reset-first', resetFirst: 10 }]);
    const outcomes = await exportDevices(asFleet(f), { attempts: 2, backoffBaseMs: 10 });
    expect(outcomes[0]).toMatchObject({ state: 'failed', attempts: 2 });
    expect(f.devices[0]!.stats.connections).toBe(2);
  });

  it('connection refused and timeouts are retried; credentials, host keys and bad output are not', async () => {
    const f = await start([
      { kind: 'opnsense', behaviour: 'refuse-password' },
      { kind: 'opnsense' },
      { kind: 'opnsense', behaviour: 'empty' },
      { kind: 'opnsense', behaviour: 'error-text' },
      { kind: 'opnsense', behaviour: 'fail-command' },
      { kind: 'opnsense', behaviour: 'hang-after-login' },
    ]);
    const rotated = f.devices[1]!;
    const pinned = rotated.fingerprint;
    rotated.rotateHostKey();
    const devices = asFleet(f, { commandTimeoutMs: 500 });
    devices[1] = { ...devices[1]!, connection: rotated.connection({ hostKeyFingerprint: pinned }) };
    // And a port nothing listens on: refused every time.
    devices.push({ id: 'refused', connection: { ...rotated.connection(), port: await closedPort() }, model: { model: 'opnsense' } });

    const outcomes = await exportDevices(devices, { attempts: 3, backoffBaseMs: 20 });
    expect(outcomes.map((o) => (o.state === 'succeeded' ? 'succeeded' : o.error.reason))).toEqual([
      'credentials_rejected',
      'host_key_changed',
      'invalid_output',
      'invalid_output',
      'command_failed',
      'command_timed_out',
      'connection_refused',
    ]);
    expect(outcomes.map((o) => o.attempts)).toEqual([1, 1, 1, 1, 1, 3, 3]);
    // Counted on the devices: one connection each for the permanent failures, three for the hung one.
    expect(f.devices.map((d) => d.stats.connections)).toEqual([1, 1, 1, 1, 1, 3]);
    expect(f.devices[0]!.stats.refusedLogins).toBeGreaterThan(0);
  });

  it('back-off grows exponentially, with jitter', async () => {
    const starts: number[] = [];
    const outcomes = await runPool(
      [{ id: 'x' }],
      async () => {
        starts.push(performance.now());
        throw new DeviceError('connection_refused', 'refused');
      },
      { attempts: 4, backoffBaseMs: 100, backoffMaxMs: 10_000, deadlineMs: 5000 },
    );
    expect(outcomes[0]).toMatchObject({ state: 'failed', attempts: 4 });
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    // Waits of base·2^(n-1), each stretched by up to 100 %: [100,200), [200,400), [400,800) (timers fire no earlier).
    expect(gaps[0]).toBeGreaterThanOrEqual(99);
    expect(gaps[1]).toBeGreaterThanOrEqual(199);
    expect(gaps[2]).toBeGreaterThanOrEqual(399);
  });

  it('a fault (not a DeviceError) is not retried and reads generically', async () => {
    let calls = 0;
    const outcomes = await runPool(
      [{ id: 'x' }],
      async () => {
        calls++;
        throw new TypeError('undefined is not a function');
      },
      { attempts: 3, backoffBaseMs: 1, deadlineMs: 5000 },
    );
    expect(calls).toBe(1);
    const err = (outcomes[0] as { error: DeviceError }).error;
    expect(err.reason).toBe('internal');
    expect(err.message).not.toContain('undefined is not a function');
    expect((err.cause as Error).message).toBe('undefined is not a function');
  });
});

describe('progress and cancellation', () => {
  it('reports every device pending, then in progress, then its outcome', async () => {
    const f = await start([{ kind: 'opnsense' }, { kind: 'cisco' }, { kind: 'opnsense', behaviour: 'empty' }]);
    const events: ProgressEvent[] = [];
    await exportDevices(asFleet(f), { onProgress: (e) => events.push(e) });
    expect(events.slice(0, 3).map((e) => e.state)).toEqual(['pending', 'pending', 'pending']);
    for (const i of [0, 1, 2]) {
      const mine = events.filter((e) => e.index === i);
      expect(mine.map((e) => e.state)).toEqual(['pending', 'in_progress', i === 2 ? 'failed' : 'succeeded']);
      expect(mine[0]!.id).toBe(f.devices[i]!.name);
    }
    expect(events.find((e) => e.index === 2 && e.state === 'failed')!.error!.reason).toBe('invalid_output');
  });

  it('an invalid device fails at once without connecting; the others go on', async () => {
    const f = await start([{ kind: 'opnsense' }]);
    const outcomes = await exportDevices([
      { id: 'bad', connection: { host: 'bad host', username: 'x', password: 'y' }, model: { model: 'opnsense' } },
      ...asFleet(f),
    ]);
    expect(outcomes[0]).toMatchObject({ state: 'failed', attempts: 1 });
    expect((outcomes[0] as { error: DeviceError }).error).toMatchObject({ reason: 'invalid_input', field: 'host' });
    expect(outcomes[1]!.state).toBe('succeeded');
  });

  it('abort: sessions under way are torn down, waiting devices never connect, all end cancelled', async () => {
    const f = await start(Array.from({ length: 10 }, () => ({ kind: 'opnsense', behaviour: 'hang-after-login' }) as const));
    const ac = new AbortController();
    const events: ProgressEvent[] = [];
    const run = exportDevices(asFleet(f), { concurrency: 3, signal: ac.signal, onProgress: (e) => events.push(e) });
    await expect.poll(() => f.active()).toBe(3);
    ac.abort();
    const outcomes = await run;
    expect(outcomes.map((o) => o.state)).toEqual(Array(10).fill('cancelled'));
    expect(outcomes.every((o) => o.state === 'cancelled' && o.error.reason === 'cancelled')).toBe(true);
    expect(outcomes.map((o) => o.attempts)).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
    await expect.poll(() => f.active(), { timeout: 2000 }).toBe(0);
    expect(f.devices.reduce((n, d) => n + d.stats.connections, 0)).toBe(3);
    expect(events.filter((e) => e.state === 'cancelled')).toHaveLength(10);
  });

  it('abort during a back-off ends the wait', async () => {
    const ac = new AbortController();
    // A 60 s back-off: only the abort can end this run within the test's time.
    const run = runPool(
      [{ id: 'x' }],
      async () => {
        setTimeout(() => ac.abort(), 50);
        throw new DeviceError('connection_refused', 'refused');
      },
      { attempts: 3, backoffBaseMs: 60_000, deadlineMs: 5000, signal: ac.signal },
    );
    const [outcome] = await run;
    expect(outcome).toMatchObject({ state: 'cancelled', attempts: 1 });
  });
});

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
