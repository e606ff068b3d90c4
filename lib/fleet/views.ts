import { and, desc, eq, inArray, isNull } from 'drizzle-orm';
import { db } from '../db/client';
import { DEVICE_MODELS } from '../devices/models';
import { deviceBackups, fleetRuns, fleetTasks, managedDevices, type FleetTask, type ManagedDevice } from '../db/schema';
import { AppError } from '../errors';
import { getFleetConfig } from './config';
import { deviceByName, listDevices } from './devices';

/**
 * What the API answers about devices, runs and backups (the contract in
 * the notes): plain JSON, times as ISO strings, never a secret.
 */

export type DeviceView = {
  name: string;
  host: string;
  port: number;
  username: string;
  authKind: 'password' | 'key';
  model: string;
  /** The model as people call it ("OPNsense"). */
  modelName: string;
  exportCommand: string | null;
  state: 'PENDING' | 'SYNCED' | 'NOT SYNCED';
  backup: 'enabled' | 'disabled';
  key: 'org' | 'device' | '-';
  hostKey: { pinned: string | null; presented: string | null; changed: boolean };
  firmwareVersion: string | null;
  lastContactAt: string | null;
  lastError: string | null;
  lastBackup: { at: string; status: 'SUCCESS' | 'FAILED'; message: string | null } | null;
};

const TASK_STATUS = { pending: 'PENDING', in_progress: 'IN PROGRESS', succeeded: 'SUCCEEDED', failed: 'FAILED', cancelled: 'CANCELLED' } as const;

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** The latest ended attempt (succeeded or failed; cancelled ones say nothing about the device) per device. */
function lastAttempts(ids: number[]): Map<number, FleetTask> {
  const out = new Map<number, FleetTask>();
  if (ids.length === 0) return out;
  const rows = db()
    .select()
    .from(fleetTasks)
    .where(and(inArray(fleetTasks.deviceId, ids), inArray(fleetTasks.status, ['succeeded', 'failed'])))
    .orderBy(desc(fleetTasks.finishedAt), desc(fleetTasks.id))
    .all();
  for (const t of rows) if (!out.has(t.deviceId)) out.set(t.deviceId, t);
  return out;
}

function keyOf(d: ManagedDevice, orgKey: boolean): 'org' | 'device' | '-' {
  return d.recipient ? 'device' : orgKey ? 'org' : '-';
}

function deviceView(d: ManagedDevice, last: FleetTask | undefined, orgKey: boolean): DeviceView {
  return {
    name: d.name,
    host: d.host,
    port: d.port,
    username: d.username,
    authKind: d.authKind,
    model: d.model,
    modelName: DEVICE_MODELS.find((m) => m.id === d.model)?.name ?? d.model,
    exportCommand: d.exportCommand,
    state: d.approval === 'pending' ? 'PENDING' : d.syncStatus === 'synced' ? 'SYNCED' : 'NOT SYNCED',
    backup: d.backupEnabled ? 'enabled' : 'disabled',
    key: keyOf(d, orgKey),
    hostKey: {
      pinned: d.hostKeyFingerprint,
      presented: d.presentedFingerprint ?? d.hostKeyFingerprint,
      changed: !!(d.hostKeyFingerprint && d.presentedFingerprint && d.presentedFingerprint !== d.hostKeyFingerprint),
    },
    firmwareVersion: d.firmwareVersion,
    lastContactAt: iso(d.lastContactAt),
    lastError: d.lastError,
    lastBackup: last ? { at: iso(last.finishedAt)!, status: last.status === 'succeeded' ? 'SUCCESS' : 'FAILED', message: last.error } : null,
  };
}

export function deviceViews(): DeviceView[] {
  const all = listDevices();
  const last = lastAttempts(all.map((d) => d.id));
  const orgKey = !!getFleetConfig()?.recipient;
  return all.map((d) => deviceView(d, last.get(d.id), orgKey));
}

export function deviceViewOf(d: ManagedDevice): DeviceView {
  return deviceView(d, lastAttempts([d.id]).get(d.id), !!getFleetConfig()?.recipient);
}

/**
 * The status table (NetDefense's `backup status`): Backup is Enabled only
 * where backups apply (approved and toggled on), Key is "-" where they do
 * not (or no key is set), Status the last attempt's.
 */
export function statusView() {
  const all = listDevices();
  const last = lastAttempts(all.map((d) => d.id));
  const orgKey = !!getFleetConfig()?.recipient;
  const devices = all.map((d) => {
    const applies = d.approval === 'approved' && d.backupEnabled;
    const t = last.get(d.id);
    return {
      name: d.name,
      backup: applies ? ('Enabled' as const) : ('Disabled' as const),
      key: applies ? keyOf(d, orgKey) : ('-' as const),
      lastBackupAt: iso(t?.finishedAt),
      status: t ? (t.status === 'succeeded' ? ('SUCCESS' as const) : ('FAILED' as const)) : null,
      message: t?.status === 'failed' ? t.error : null,
    };
  });
  return { devices, total: devices.length, enabled: devices.filter((d) => d.backup === 'Enabled').length };
}

export function runView(id: number) {
  const run = db().select().from(fleetRuns).where(eq(fleetRuns.id, id)).get();
  if (!run) throw new AppError('not_found', `There is no device backup run ${id}.`);
  const tasks = db()
    .select({ task: fleetTasks, name: managedDevices.name })
    .from(fleetTasks)
    .innerJoin(managedDevices, eq(managedDevices.id, fleetTasks.deviceId))
    .where(eq(fleetTasks.runId, id))
    .orderBy(managedDevices.name)
    .all();
  return {
    id: run.id,
    status: run.status,
    trigger: run.trigger,
    requestedBy: run.requestedBy,
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    error: run.error,
    tasks: tasks.map(({ task, name }) => ({
      device: name,
      status: TASK_STATUS[task.status],
      unchanged: task.unchanged,
      attempts: task.attempts,
      error: task.error,
      startedAt: iso(task.startedAt),
      finishedAt: iso(task.finishedAt),
    })),
  };
}

export function deviceBackupsView(name: string) {
  const d = deviceByName(name);
  const rows = db()
    .select()
    .from(deviceBackups)
    .where(and(eq(deviceBackups.deviceId, d.id), isNull(deviceBackups.deletedAt)))
    .orderBy(desc(deviceBackups.createdAt), desc(deviceBackups.id))
    .all();
  return {
    backups: rows.map((b) => ({
      id: b.id,
      createdAt: iso(b.createdAt),
      sizeBytes: b.sizeBytes,
      keyKind: b.keyKind,
      recipient: b.recipient,
      firmwareVersion: b.firmwareVersion,
      sha256: b.sha256,
      storage: b.storage,
      objectKey: b.objectKey,
    })),
  };
}
