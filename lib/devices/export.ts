import crypto from 'node:crypto';
import type { GrowableBuffer } from '../memory/buffer-pool';
import { remoteText } from '../ssh/errors';
import type { HostKey } from '../ssh/host-key';
import { cancelledError, DeviceError, deviceErrorOf } from './errors';
import { deviceModel, type DeviceFacts, type DeviceModel } from './models';
import { runCommand, type CommandResult } from './run-command';
import { deviceConnectionSchema, deviceModelSchema, parseInput, type DeviceConnection, type DeviceConnectionInput, type DeviceModelId, type DeviceModelInput } from './schemas';
import { openDeviceSession, probeDevice } from './session';

/**
 * Exports one device's configuration over SSH: log in (host key pinned),
 * run the model's command over an exec channel, check how it ended and what
 * it printed, read the firmware version, and hand back the configuration as
 * the device printed it, with the digest that compares it to other exports.
 * Nothing is written anywhere: the caller encrypts and stores the bytes.
 *
 * A device without a pinned host key is only probed: the result is the key
 * it presents (for an admin to compare and pin), nothing is authenticated and
 * no command runs.
 */

/** The firmware command prints one line; more than this is not a version. */
const FIRMWARE_MAX_BYTES = 64 * 1024;

export type HostKeyProbe = { kind: 'probe'; hostKey: HostKey };

export type ConfigurationExport = {
  kind: 'export';
  /** The configuration, byte for byte as the device printed it (a view of ExportOptions.output when one was given). */
  config: Buffer;
  /**
   * SHA-256 (hex) of the configuration with the values that change on every
   * export set aside (the model's normalise): two exports with the same
   * digest are the same configuration, so the second needs no new backup.
   */
  digest: string;
  /** As the device reports it; absent when the model's way of reading it found nothing. */
  firmwareVersion?: string;
  facts: DeviceFacts & { model: DeviceModelId; modelName: string };
  /** The key the device presented (the pinned one). */
  hostKey: HostKey;
  /** The command that printed the configuration. */
  command: string;
};

export type ExportOutcome = ConfigurationExport | HostKeyProbe;

export type ExportOptions = {
  /** Aborting destroys the session at once; the export then fails with the signal's reason if it is a DeviceError, else as cancelled. */
  signal?: AbortSignal;
  /** Where the configuration is collected (see CommandOptions.output): the caller's reusable memory. */
  output?: GrowableBuffer;
};

/** Validates both inputs (DeviceError invalid_input / bad_private_key, naming the field), then exports or probes. */
export async function exportConfiguration(device: DeviceConnectionInput, model: DeviceModelInput, opts: ExportOptions = {}): Promise<ExportOutcome> {
  const connection = parseInput(deviceConnectionSchema, device);
  const spec = parseInput(deviceModelSchema, model, 'model');
  return exportParsed(connection, deviceModel(spec), opts);
}

/** The digest exportConfiguration gives, for a configuration already kept (say, the last backup, decrypted). */
export function configurationDigest(model: DeviceModelInput, config: Buffer): string {
  return digestOf(deviceModel(parseInput(deviceModelSchema, model, 'model')), config);
}

function digestOf(model: DeviceModel, config: Buffer): string {
  return crypto.createHash('sha256').update(model.normalise(config)).digest('hex');
}

export async function exportParsed(device: DeviceConnection, model: DeviceModel, opts: ExportOptions = {}): Promise<ExportOutcome> {
  const { signal } = opts;
  const abortReason = () => (signal?.reason instanceof DeviceError ? signal.reason : cancelledError());
  if (signal?.aborted) throw abortReason();
  if (!device.hostKey) {
    const hostKey = await probeDevice(device, signal).catch((err: unknown) => {
      throw signal?.aborted ? abortReason() : err;
    });
    return { kind: 'probe', hostKey };
  }

  const session = await openDeviceSession(device, signal).catch((err: unknown) => {
    throw signal?.aborted ? abortReason() : err;
  });
  const onAbort = () => session.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  const limits = { timeoutMs: device.limits.commandTimeoutMs, maxBytes: device.limits.maxOutputBytes };
  const quoted = `"${remoteText(model.command, 120)}"`;
  try {
    const out = await runCommand(session, model.command, { ...limits, output: opts.output });
    const ended = endProblem(out, model.exitStatusRequired);
    if (ended) {
      throw new DeviceError('command_failed', `${quoted} on ${session.where} ${ended.words}; nothing was kept.`, {
        details: { exitStatus: out.exitStatus ?? undefined, signal: out.signal, stderrLine: ended.stderrLine, bytes: out.stdout.length },
      });
    }
    const problem = model.check(out.stdout);
    if (problem) throw new DeviceError('invalid_output', `The output of ${quoted} on ${session.where} ${problem}; nothing was kept.`, { details: { bytes: out.stdout.length } });

    let firmwareOutput: Buffer | null = null;
    if (model.firmwareCommand) {
      // Costs only the version when it fails (not there, not allowed, too slow).
      const fw = await runCommand(session, model.firmwareCommand, { timeoutMs: limits.timeoutMs, maxBytes: FIRMWARE_MAX_BYTES }).catch(() => null);
      if (fw && fw.exitStatus === 0) firmwareOutput = fw.stdout;
    }
    if (signal?.aborted) throw abortReason();
    const firmwareVersion = model.firmwareVersion(out.stdout, firmwareOutput);
    return {
      kind: 'export',
      config: out.stdout,
      digest: digestOf(model, out.stdout),
      ...(firmwareVersion !== undefined ? { firmwareVersion } : {}),
      facts: { ...model.facts(out.stdout), model: model.id, modelName: model.name },
      hostKey: session.hostKey,
      command: model.command,
    };
  } catch (err) {
    if (signal?.aborted) throw abortReason();
    throw deviceErrorOf(err);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await session.close();
  }
}

/** Why the command did not end well, in words; null when it exited 0 (or, where the model allows, reported no exit status). */
function endProblem(out: CommandResult, exitStatusRequired: boolean): { words: string; stderrLine?: string } | null {
  if (out.exitStatus === 0) return null;
  const stderrLine = lastLine(out.stderrTail);
  const said = stderrLine ? `: "${stderrLine}"` : '';
  if (out.exitStatus !== null) return { words: `failed with exit status ${out.exitStatus}${said}`, stderrLine };
  if (out.signal) return { words: `was ended by ${out.signal}${said}`, stderrLine };
  if (!exitStatusRequired) return null;
  return { words: `ended without an exit status (the device closed the channel)${said}`, stderrLine };
}

function lastLine(tail: Buffer): string | undefined {
  const lines = tail
    .toString('utf8')
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const last = lines[lines.length - 1];
  return last ? remoteText(last, 200) : undefined;
}
