import type { GrowableBuffer } from '../memory/buffer-pool';
import { where } from '../ssh/connect';
import type { DeviceError } from './errors';
import { exportParsed, type ExportOutcome } from './export';
import { deviceModel, type DeviceModel } from './models';
import { runPool, type RunPoolOptions, type TaskOutcome } from './pool';
import { deviceConnectionSchema, deviceModelSchema, parseInput, type DeviceConnection, type DeviceConnectionInput, type DeviceModelInput } from './schemas';

/**
 * Exports many devices through the pool (pool.ts): at most `concurrency`
 * sessions at once (default 16), a watchdog per attempt, retries for
 * transient failures only, cancellation, progress per device. A device whose
 * settings do not pass the schema fails at once, without connecting.
 *
 * The watchdog's default deadline for a device comes from its own limits:
 * the connect timeout, the command time limit for each command its model
 * runs, and 10 s to spare. It fires only when those failed to end the
 * attempt (a device that trickles keepalive replies but never finishes).
 */

export type FleetDevice = {
  /** The caller's name for the device (its record's id): progress and outcomes carry it. */
  id: string;
  connection: DeviceConnectionInput;
  model: DeviceModelInput;
};

export type FleetOptions = Omit<RunPoolOptions<FleetDevice>, 'deadlineFor' | 'describe'> & {
  /** Where each device's configuration is collected (ExportOptions.output); by default, a Buffer of its own. */
  outputFor?: (id: string) => GrowableBuffer | undefined;
};

const SPARE_MS = 10_000;

type Prepared = { id: string; device?: DeviceConnection; model?: DeviceModel; invalid?: DeviceError };

export function exportDevices(devices: readonly FleetDevice[], fleetOpts: FleetOptions = {}): Promise<TaskOutcome<ExportOutcome>[]> {
  const { outputFor, ...opts } = fleetOpts;
  const prepared: Prepared[] = devices.map((d) => {
    try {
      return { id: d.id, device: parseInput(deviceConnectionSchema, d.connection), model: deviceModel(parseInput(deviceModelSchema, d.model, 'model')) };
    } catch (err) {
      return { id: d.id, invalid: err as DeviceError };
    }
  });
  return runPool(
    prepared,
    async (p, { signal }) => {
      if (p.invalid) throw p.invalid;
      return exportParsed(p.device!, p.model!, { signal, output: outputFor?.(p.id) });
    },
    {
      ...opts,
      deadlineFor: (p) => (opts.deadlineMs !== undefined ? undefined : p.device ? defaultDeadline(p.device, p.model!) : SPARE_MS),
      describe: (p) => (p.device ? `${p.id} (${where(p.device)})` : p.id),
    },
  );
}

function defaultDeadline(device: DeviceConnection, model: DeviceModel): number {
  const commands = model.firmwareCommand ? 2 : 1;
  return device.limits.connectTimeoutMs + commands * device.limits.commandTimeoutMs + SPARE_MS;
}
