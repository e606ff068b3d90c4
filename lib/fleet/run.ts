import crypto from 'node:crypto';
import { and, desc, eq, inArray, isNull } from 'drizzle-orm';
import { alertEvents } from '../alerts/events';
import pLimit from 'p-limit';
import { parseX25519Recipient, sealToRecipients } from '../age';
import { audit, type Actor } from '../audit/audit';
import { SealError } from '../crypto/seal';
import { db } from '../db/client';
import { isConstraintViolation } from '../db/errors';
import { deviceBackups, fleetRuns, fleetTasks, managedDevices, type FleetRun, type FleetTask, type ManagedDevice } from '../db/schema';
import { exportDevices, type ConfigurationExport, type DeviceConnectionInput, type DeviceError, type PoolOptionsInput } from '../devices';
import { AppError } from '../errors';
import { log } from '../log';
import { BufferPool, type GrowableBuffer } from '../memory/buffer-pool';
import { objectKeyFor, openFleetStore, storeFailure, type FleetStore } from './backup-store';
import { getFleetConfig } from './config';
import { connectionOf, modelOf } from './credentials';
import { applyDeviceRetention } from './retention';
import { runInputSchema, type StoredFleetConfig } from './schemas';

/**
 * A device backup run. One at a time (fleet_runs' partial unique index
 * refuses a second running row). Everything that can stop the whole run is
 * checked before any device is contacted: a storage and a key for every
 * device; the storage answers (its incomplete multipart uploads, or partial
 * files, left by a killed run are swept first). Then each device, at most
 * `concurrency` at once:
 *
 *   PENDING → IN PROGRESS (export through lib/devices' pool: watchdog,
 *   retries for transient failures) → SUCCEEDED (stored, or unchanged: the
 *   model-normalised digest equals the device's last backup here, so no new
 *   copy) | FAILED (with the reason in words) | CANCELLED.
 *
 * A stored backup is the configuration encrypted with age to the device's
 * recipient or the organisation's, put to the store whole, recorded in
 * device_backups, then the device's retention applies. Each device's
 * record gets its sync status (reached or not), firmware version, last
 * contact and last error. A device whose host key changed fails without
 * being contacted again until an admin pins the key it now presents.
 */

export type RunTuning = PoolOptionsInput & {
  /** Per-device connection limits (connect timeout, command time limit...), for tests and operations. */
  limits?: Partial<DeviceConnectionInput>;
};

type Registry = { controllers: Map<number, AbortController>; done: Map<number, Promise<void>> };
const REGISTRY = Symbol.for('webconf.fleet.registry');
function registry(): Registry {
  const g = globalThis as unknown as Record<symbol, Registry>;
  g[REGISTRY] ??= { controllers: new Map(), done: new Map() };
  return g[REGISTRY];
}

export const CANCELLED_WAITING = 'The run was cancelled before this device was contacted.';
export const CANCELLED_RUNNING = 'The run was cancelled while this device was being backed up; nothing was kept.';

export function runningFleetRun(): FleetRun | undefined {
  return db().select().from(fleetRuns).where(eq(fleetRuns.status, 'running')).get();
}

/** Waits for a run of this process to end (tests, the CLI's --wait). */
export function waitForFleetRun(id: number): Promise<void> {
  return registry().done.get(id) ?? Promise.resolve();
}

/** Aborts the runs of this process (shutdown) and waits until they ended. */
export async function abortFleetRuns(reason: string): Promise<void> {
  const r = registry();
  for (const c of r.controllers.values()) c.abort(new Error(reason));
  await Promise.allSettled([...r.done.values()]);
}

function recipientOf(d: ManagedDevice, config: StoredFleetConfig): { recipient: string; kind: 'org' | 'device' } | null {
  if (d.recipient) return { recipient: d.recipient, kind: 'device' };
  if (config.recipient) return { recipient: config.recipient, kind: 'org' };
  return null;
}

function list(names: string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`;
}

/** The devices of a run, or why there is no run, in words. */
function selectDevices(config: StoredFleetConfig | null, names: string[] | undefined): ManagedDevice[] {
  if (!config?.storage) throw new AppError('conflict', 'No storage is set for device backups. An admin sets an S3 bucket or the console storage in the organisation backup configuration first.');
  if (!config.enabled) throw new AppError('conflict', 'Device backups are DISABLED in the organisation backup configuration; an admin enables them first.');
  let devices: ManagedDevice[];
  if (names) {
    const unique = [...new Set(names)];
    devices = db().select().from(managedDevices).where(inArray(managedDevices.name, unique)).all();
    const missing = unique.filter((n) => !devices.some((d) => d.name === n));
    if (missing.length) throw new AppError('not_found', `There is no managed device named ${list(missing.map((m) => `"${m}"`))}.`);
    const pending = devices.filter((d) => d.approval !== 'approved').map((d) => d.name);
    if (pending.length) throw new AppError('conflict', `${list(pending)} ${pending.length === 1 ? 'is' : 'are'} PENDING: backups apply once an admin approved ${pending.length === 1 ? 'it' : 'them'}.`);
    const disabled = devices.filter((d) => !d.backupEnabled).map((d) => d.name);
    if (disabled.length) throw new AppError('conflict', `Backups of ${list(disabled)} are disabled; an admin enables them first.`);
  } else {
    devices = db()
      .select()
      .from(managedDevices)
      .where(and(eq(managedDevices.approval, 'approved'), eq(managedDevices.backupEnabled, true)))
      .orderBy(managedDevices.name)
      .all();
    if (devices.length === 0) throw new AppError('conflict', 'No device is approved with its backups enabled: there is nothing to back up.');
  }
  const keyless = devices.filter((d) => !recipientOf(d, config)).map((d) => d.name);
  if (keyless.length) {
    throw new AppError(
      'conflict',
      `No encryption key is configured for ${list(keyless)}: set the organisation key (or a device key) first. No device was contacted.`,
    );
  }
  return devices;
}

/** Starts a run and returns at once; it goes on in the background. */
export async function startFleetRun(actor: Actor, input: { trigger: 'schedule' | 'manual'; devices?: unknown }, tuning: RunTuning = {}): Promise<FleetRun> {
  const { devices: names } = runInputSchema.parse({ devices: input.devices });
  const config = getFleetConfig();
  let devices: ManagedDevice[];
  try {
    devices = selectDevices(config, names);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    audit(actor, 'fleet.run.start', 'failure', { detail: { trigger: input.trigger, reason: err.message } });
    // Nobody watches a scheduled start: its refusal is in the history as a failed run.
    if (input.trigger === 'schedule' && !runningFleetRun()) {
      const now = new Date();
      db().insert(fleetRuns).values({ trigger: 'schedule', requestedBy: actor.name, status: 'failed', startedAt: now, finishedAt: now, error: err.message }).run();
    }
    throw err;
  }
  let run: FleetRun;
  try {
    run = db().transaction((tx) => {
      const r = tx.insert(fleetRuns).values({ trigger: input.trigger, requestedBy: actor.name, status: 'running', startedAt: new Date() }).returning().get();
      for (const d of devices) tx.insert(fleetTasks).values({ runId: r.id, deviceId: d.id, status: 'pending' }).run();
      return r;
    });
  } catch (err) {
    if (!isConstraintViolation(err, 'UNIQUE')) throw err;
    const other = runningFleetRun();
    const message = `A device backup run is already in progress${other ? ` (started by ${other.requestedBy} at ${other.startedAt.toISOString()})` : ''}. Wait until it has finished.`;
    audit(actor, 'fleet.run.start', 'denied', { detail: { trigger: input.trigger, reason: 'already running' } });
    throw new AppError('conflict', message);
  }
  audit(actor, 'fleet.run.start', 'success', { target: String(run.id), detail: { trigger: input.trigger, devices: devices.length } });
  const controller = new AbortController();
  const r = registry();
  r.controllers.set(run.id, controller);
  const done = execute(run, devices, config!, tuning, controller.signal)
    .catch((err) => {
      log.error({ event: 'fleet.run.bookkeeping-failed', run: run.id, err: (err as Error).message }, 'device backup run ended without its record');
      finishRun(run.id, 'failed', 'The run stopped because of a fault on the appliance; it was logged.');
    })
    .finally(() => {
      r.controllers.delete(run.id);
      r.done.delete(run.id);
    });
  r.done.set(run.id, done);
  return run;
}

export function cancelFleetRun(actor: Actor, id: number): FleetRun {
  const run = db().select().from(fleetRuns).where(eq(fleetRuns.id, id)).get();
  if (!run) throw new AppError('not_found', `There is no device backup run ${id}.`);
  if (run.status !== 'running') throw new AppError('conflict', `Run ${id} has ended already (${run.status}).`);
  const controller = registry().controllers.get(id);
  if (controller) controller.abort(new Error(`Cancelled by ${actor.name}.`));
  else {
    // Not this process's: left by one that is gone (recovery marks these at start too).
    cancelOpenTasks(id, CANCELLED_WAITING);
    finishRun(id, 'cancelled', 'Cancelled.');
  }
  audit(actor, 'fleet.run.cancel', 'success', { target: String(id) });
  return db().select().from(fleetRuns).where(eq(fleetRuns.id, id)).get()!;
}

function setTask(id: number, values: Partial<FleetTask>): void {
  db().update(fleetTasks).set(values).where(eq(fleetTasks.id, id)).run();
}

function setDevice(id: number, values: Partial<ManagedDevice>): void {
  db().update(managedDevices).set(values).where(eq(managedDevices.id, id)).run();
}

export function cancelOpenTasks(runId: number, reason: string): void {
  db()
    .update(fleetTasks)
    .set({ status: 'cancelled', finishedAt: new Date(), error: reason, errorCode: 'cancelled' })
    .where(and(eq(fleetTasks.runId, runId), inArray(fleetTasks.status, ['pending', 'in_progress'])))
    .run();
}

function finishRun(id: number, status: FleetRun['status'], error: string | null): void {
  db().update(fleetRuns).set({ status, finishedAt: new Date(), error }).where(and(eq(fleetRuns.id, id), eq(fleetRuns.status, 'running'))).run();
}

async function execute(run: FleetRun, devices: ManagedDevice[], config: StoredFleetConfig, tuning: RunTuning, signal: AbortSignal): Promise<void> {
  const tasks = new Map(
    db()
      .select()
      .from(fleetTasks)
      .where(eq(fleetTasks.runId, run.id))
      .all()
      .map((t) => [t.deviceId, t]),
  );
  let store: FleetStore;
  try {
    store = openFleetStore(config);
  } catch (err) {
    const f = storeFailure(err);
    if (!f) throw err;
    return endBeforeDevices(run, f.message);
  }
  try {
    try {
      const swept = await store.sweep(run.startedAt);
      if (swept) log.info({ event: 'fleet.run.swept', run: run.id, uploads: swept }, 'removed incomplete uploads left by an earlier run');
    } catch (err) {
      const f = storeFailure(err);
      if (!f) throw err;
      return endBeforeDevices(run, `The storage did not answer, so no device was contacted: ${f.message}`);
    }
    const concurrency = Number(tuning.concurrency ?? 16);
    const limit = pLimit(concurrency);
    // Two buffers per device in flight (its export, its age file), reused from device to device:
    // the run's memory follows the concurrency, not the number of devices (lib/memory/buffer-pool.ts).
    const buffers = new BufferPool({ initialBytes: 256 * 1024, maxFree: 2 * concurrency });
    await Promise.all(devices.map((d) => limit(() => backupDevice(run, d, tasks.get(d.id)!, config, store, tuning, buffers, signal))));
  } finally {
    await store.close().catch(() => undefined);
  }
  const rows = db().select().from(fleetTasks).where(eq(fleetTasks.runId, run.id)).all();
  const ok = rows.filter((t) => t.status === 'succeeded').length;
  const failed = rows.filter((t) => t.status === 'failed').length;
  const status: FleetRun['status'] = signal.aborted ? 'cancelled' : ok === rows.length ? 'succeeded' : ok === 0 ? 'failed' : 'partial';
  const error = status === 'succeeded' ? null : status === 'cancelled' ? reasonOf(signal) : `${failed} of ${rows.length} device${rows.length === 1 ? '' : 's'} failed.`;
  finishRun(run.id, status, error);
  audit({ id: null, name: run.requestedBy, ip: null }, 'fleet.run.finish', status === 'succeeded' ? 'success' : 'failure', {
    target: String(run.id),
    detail: { status, succeeded: ok, failed, unchanged: rows.filter((t) => t.unchanged).length, cancelled: rows.filter((t) => t.status === 'cancelled').length },
  });
}

function reasonOf(signal: AbortSignal): string {
  const r = signal.reason as unknown;
  return r instanceof Error && r.message ? r.message : 'Cancelled.';
}

function endBeforeDevices(run: FleetRun, message: string): void {
  db()
    .update(fleetTasks)
    .set({ status: 'cancelled', finishedAt: new Date(), error: `Not contacted: ${message}`, errorCode: 'storage' })
    .where(and(eq(fleetTasks.runId, run.id), eq(fleetTasks.status, 'pending')))
    .run();
  finishRun(run.id, 'failed', message);
  audit({ id: null, name: run.requestedBy, ip: null }, 'fleet.run.finish', 'failure', { target: String(run.id), detail: { status: 'failed', reason: message } });
}

function failTask(task: FleetTask, device: ManagedDevice, message: string, code: string, extra: Partial<ManagedDevice> = {}): void {
  setTask(task.id, { status: 'failed', finishedAt: new Date(), error: message, errorCode: code });
  setDevice(device.id, { lastError: message, ...extra });
  alertEvents.deviceBackupFailed(device.name, message, code === 'host_key_changed');
}

async function backupDevice(
  run: FleetRun,
  device: ManagedDevice,
  task: FleetTask,
  config: StoredFleetConfig,
  store: FleetStore,
  tuning: RunTuning,
  buffers: BufferPool,
  signal: AbortSignal,
): Promise<void> {
  const memory = { output: buffers.acquire(), sealed: buffers.acquire() };
  try {
    await backupDeviceWith(run, device, task, config, store, tuning, memory, signal);
  } catch (err) {
    // A fault with one device is that device's failure: the others go on, and the run ends with its record.
    log.error({ event: 'fleet.device.fault', run: run.id, device: device.name, err: (err as Error).message }, 'device backup stopped by a fault');
    const why =
      err instanceof SealError
        ? "its stored password or key cannot be opened with this appliance's key (an admin enters it again)"
        : 'a fault on the appliance stopped it (it was logged)';
    failTask(task, device, `${device.name} was not backed up: ${why}.`, 'internal');
  } finally {
    memory.output.release();
    memory.sealed.release();
  }
}

/** `memory`: the export is collected in `output`, its age file written in `sealed`; both are the caller's to release. */
async function backupDeviceWith(
  run: FleetRun,
  device: ManagedDevice,
  task: FleetTask,
  config: StoredFleetConfig,
  store: FleetStore,
  tuning: RunTuning,
  memory: { output: GrowableBuffer; sealed: GrowableBuffer },
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return setTask(task.id, { status: 'cancelled', finishedAt: new Date(), error: CANCELLED_WAITING, errorCode: 'cancelled' });
  const d = db().select().from(managedDevices).where(eq(managedDevices.id, device.id)).get();
  if (!d) return setTask(task.id, { status: 'cancelled', finishedAt: new Date(), error: 'The device was removed.', errorCode: 'removed' });
  if (d.hostKeyFingerprint && d.presentedFingerprint && d.presentedFingerprint !== d.hostKeyFingerprint) {
    return failTask(
      task,
      d,
      `Backups of ${d.name} are stopped: its host key changed (pinned ${d.hostKeyFingerprint}, presented ${d.presentedFingerprint}). Not contacted; an admin checks the new fingerprint with the device's administrator and pins it to resume.`,
      'host_key_changed',
    );
  }
  setTask(task.id, { status: 'in_progress', startedAt: new Date() });
  const { limits, ...pool } = tuning;
  const [outcome] = await exportDevices([{ id: d.name, connection: connectionOf(d, { limits }), model: modelOf(d) }], {
    ...pool,
    concurrency: 1,
    signal,
    outputFor: () => memory.output,
    onProgress: (e) => {
      if (e.state === 'in_progress') setTask(task.id, { attempts: e.attempt });
    },
  });
  const now = new Date();
  if (outcome!.state !== 'succeeded') {
    const err: DeviceError = outcome!.error;
    setTask(task.id, { attempts: outcome!.attempts });
    if (outcome!.state === 'cancelled') {
      return setTask(task.id, { status: 'cancelled', finishedAt: now, error: outcome!.attempts ? CANCELLED_RUNNING : CANCELLED_WAITING, errorCode: 'cancelled' });
    }
    const extra: Partial<ManagedDevice> = { syncStatus: 'not_synced', lastContactAt: now };
    if (err.reason === 'host_key_changed' && err.details.presentedFingerprint) {
      extra.presentedFingerprint = err.details.presentedFingerprint;
      extra.presentedKeyType = err.details.presentedKeyType ?? null;
    }
    return failTask(task, d, err.message, err.reason, extra);
  }
  const exp = outcome!.value as ConfigurationExport;
  setTask(task.id, { attempts: outcome!.attempts });
  setDevice(d.id, { syncStatus: 'synced', lastContactAt: now, lastError: null, ...(exp.firmwareVersion !== undefined ? { firmwareVersion: exp.firmwareVersion } : {}) });

  const last = db()
    .select()
    .from(deviceBackups)
    .where(and(eq(deviceBackups.deviceId, d.id), eq(deviceBackups.location, store.location), eq(deviceBackups.storage, store.kind), isNull(deviceBackups.deletedAt)))
    .orderBy(desc(deviceBackups.id))
    .get();
  const key = recipientOf(d, config)!;
  // A new key is a reason for a new copy: the last one may be readable only with the old identity.
  if (last && last.normalizedSha256 === exp.digest && last.recipient === key.recipient) {
    alertEvents.deviceBackupSucceeded(d.name);
    return setTask(task.id, { status: 'succeeded', finishedAt: new Date(), unchanged: true, backupId: last.id, error: null });
  }

  const at = new Date();
  const objectKey = objectKeyFor(store.kind, d.name, d.model, at);
  const file = sealToRecipients([parseX25519Recipient(key.recipient)], exp.config, (n) => memory.sealed.reserve(n));
  let size: number;
  try {
    size = await store.put(objectKey, file, signal);
  } catch (err) {
    if (signal.aborted) return setTask(task.id, { status: 'cancelled', finishedAt: new Date(), error: CANCELLED_RUNNING, errorCode: 'cancelled' });
    const f = storeFailure(err);
    if (!f) throw err;
    return failTask(task, d, `${d.name}'s configuration was read but not stored: ${f.message}`, 'storage');
  }
  const backup = db()
    .insert(deviceBackups)
    .values({
      deviceId: d.id,
      storage: store.kind,
      location: store.location,
      objectKey,
      createdAt: at,
      sizeBytes: size,
      sha256: crypto.createHash('sha256').update(file).digest('hex'),
      normalizedSha256: exp.digest,
      configBytes: exp.config.length,
      keyKind: key.kind,
      recipient: key.recipient,
      firmwareVersion: exp.firmwareVersion ?? null,
    })
    .returning()
    .get();
  setTask(task.id, { status: 'succeeded', finishedAt: new Date(), unchanged: false, backupId: backup.id, error: null });
  alertEvents.deviceBackupSucceeded(d.name);
  try {
    await applyDeviceRetention(store, d.id, config.retention);
  } catch (err) {
    // The backup is stored; an old one that could not be removed is tried again after the next backup.
    log.warn({ event: 'fleet.retention.failed', run: run.id, device: d.name, err: storeFailure(err)?.message ?? (err as Error).message }, 'retention did not complete');
  }
}
