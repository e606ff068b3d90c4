import { and, desc, eq, isNull } from 'drizzle-orm';
import { generateX25519Identity } from '../age';
import { audit, type Actor } from '../audit/audit';
import { db } from '../db/client';
import { isConstraintViolation } from '../db/errors';
import { deviceBackups, fleetRuns, managedDevices, type ManagedDevice } from '../db/schema';
import { exportConfiguration, isDeviceError } from '../devices';
import { AppError } from '../errors';
import { connectionOf, modelOf, sealCredentials } from './credentials';
import { removeBackupObjects } from './retention';
import { backupToggleSchema, deviceAddSchema, deviceChangeSchema, deviceKeyInputSchema, deviceNameSchema, pinInputSchema } from './schemas';

/**
 * The device inventory. A device is added PENDING with the host key it
 * presents (probed: nothing is authenticated); an admin compares that
 * fingerprint with the device's own and pins it (the given fingerprint must
 * equal what the device presents at that moment), then approves it. Backups
 * apply to approved devices whose toggle is on. A run that meets another key
 * than the pinned one keeps the presented one and stops the device's
 * backups until an admin pins the new key the same way.
 *
 * Removing a device that has backups is refused unless the caller asks for
 * its backups to go too (deleteBackups): then the objects the console wrote
 * for it are deleted from the storage and their records with them. An admin
 * who removes a firewall from the inventory by mistake must not lose its
 * history silently, and one who means it must not be left with objects no
 * record points to (retention never touches those): so it is asked, in words.
 */

/** How long adding or pinning waits for the device's host key. */
const PROBE_TIMEOUT_MS = 15_000;

export function deviceByName(name: string): ManagedDevice {
  const parsed = deviceNameSchema.safeParse(name);
  const d = parsed.success ? db().select().from(managedDevices).where(eq(managedDevices.name, parsed.data)).get() : undefined;
  if (!d) throw new AppError('not_found', `There is no managed device named "${String(name).slice(0, 64)}".`);
  return d;
}

export function listDevices(): ManagedDevice[] {
  return db().select().from(managedDevices).orderBy(managedDevices.name).all();
}

type Probe = { keyType: string; fingerprint: string } | { error: string };

async function probe(d: ManagedDevice): Promise<Probe> {
  try {
    const out = await exportConfiguration(connectionOf(d, { probe: true, limits: { connectTimeoutMs: PROBE_TIMEOUT_MS } }), modelOf(d));
    if (out.kind !== 'probe') throw new Error('expected a probe');
    return out.hostKey;
  } catch (err) {
    if (isDeviceError(err) && err.reason !== 'internal') return { error: err.message };
    throw err;
  }
}

function update(id: number, values: Partial<ManagedDevice>): ManagedDevice {
  return db()
    .update(managedDevices)
    .set({ ...values, updatedAt: new Date() })
    .where(eq(managedDevices.id, id))
    .returning()
    .get();
}

/** What the probe saw, as the device's record keeps it: the presented key (or why it could not be read). */
function probeFields(p: Probe): Partial<ManagedDevice> {
  return 'error' in p
    ? { lastError: p.error, lastContactAt: new Date() }
    : { presentedFingerprint: p.fingerprint, presentedKeyType: p.keyType, lastContactAt: new Date(), lastError: null };
}

export async function addDevice(actor: Actor, raw: unknown): Promise<ManagedDevice> {
  const input = deviceAddSchema.parse(raw);
  // The login fields are checked by lib/devices' own schema too (a private key must be readable).
  const creds = sealCredentials(input);
  if (db().select({ id: managedDevices.id }).from(managedDevices).where(eq(managedDevices.name, input.name)).get()) {
    throw new AppError('conflict', `A device named "${input.name}" exists already.`, { field: 'name' });
  }
  const now = new Date();
  let d: ManagedDevice;
  try {
    d = db()
      .insert(managedDevices)
      .values({
        name: input.name,
        host: input.host,
        port: input.port,
        username: input.username,
        ...creds,
        model: input.model,
        exportCommand: input.exportCommand,
        approval: 'pending',
        backupEnabled: true,
        createdAt: now,
        createdBy: actor.name,
        updatedAt: now,
      })
      .returning()
      .get();
  } catch (err) {
    if (isConstraintViolation(err, 'UNIQUE')) throw new AppError('conflict', `A device named "${input.name}" exists already.`, { field: 'name' });
    throw err;
  }
  const seen = await probe(d);
  d = update(d.id, probeFields(seen));
  audit(actor, 'fleet.device.add', 'success', {
    target: d.name,
    detail: { host: d.host, port: d.port, username: d.username, model: d.model, authKind: d.authKind, presented: d.presentedFingerprint, probeError: 'error' in seen ? seen.error : undefined },
  });
  return d;
}

export async function changeDevice(actor: Actor, name: string, raw: unknown): Promise<ManagedDevice> {
  const d = deviceByName(name);
  const input = deviceChangeSchema.parse(raw);
  const values: Partial<ManagedDevice> = {};
  for (const k of ['host', 'port', 'username', 'model'] as const) if (input[k] !== undefined) (values as Record<string, unknown>)[k] = input[k];
  if (input.exportCommand !== undefined) values.exportCommand = input.exportCommand;
  const model = values.model ?? d.model;
  const command = values.exportCommand !== undefined ? values.exportCommand : d.exportCommand;
  if (model === 'generic' && !command) throw new AppError('unprocessable', 'A generic device needs the command that prints its configuration.', { field: 'exportCommand' });
  if (input.password !== undefined || input.privateKey !== undefined) {
    if (input.password && input.privateKey) throw new AppError('unprocessable', 'Give either a password or a private key, not both.', { field: 'credentials' });
    Object.assign(values, sealCredentials(input));
  }
  let next = update(d.id, values);
  const moved = next.host !== d.host || next.port !== d.port;
  if (moved) {
    // Another address may be another machine: what it presents is compared with the pin at the next run, and shown now.
    const seen = await probe(next);
    const f = probeFields(seen);
    if (!('error' in seen) && seen.fingerprint === next.hostKeyFingerprint) f.presentedFingerprint = null;
    next = update(next.id, f);
  }
  audit(actor, 'fleet.device.change', 'success', {
    target: d.name,
    detail: { changed: Object.keys(values).filter((k) => k !== 'secretSealed' && k !== 'passphraseSealed'), credentials: values.secretSealed !== undefined },
  });
  return next;
}

/** Pins the fingerprint an admin confirmed: it must be the one the device presents now. */
export async function pinHostKey(actor: Actor, name: string, raw: unknown): Promise<ManagedDevice> {
  const d = deviceByName(name);
  const { fingerprint } = pinInputSchema.parse(raw);
  const seen = await probe(d);
  if ('error' in seen) {
    audit(actor, 'fleet.device.pin', 'failure', { target: d.name, detail: { fingerprint, reason: seen.error } });
    throw new AppError('unprocessable', `The host key was not pinned: ${seen.error}`);
  }
  if (seen.fingerprint !== fingerprint) {
    update(d.id, probeFields(seen));
    audit(actor, 'fleet.device.pin', 'failure', { target: d.name, detail: { fingerprint, presented: seen.fingerprint } });
    throw new AppError(
      'conflict',
      `${d.name} presents ${seen.keyType} ${seen.fingerprint} now, not ${fingerprint}; nothing was pinned. Compare the fingerprint with the device's own (ssh-keygen -lf on its host key) before pinning it.`,
      { field: 'fingerprint' },
    );
  }
  const next = update(d.id, { hostKeyFingerprint: seen.fingerprint, hostKeyType: seen.keyType, presentedFingerprint: null, presentedKeyType: null, lastError: null, lastContactAt: new Date() });
  audit(actor, 'fleet.device.pin', 'success', { target: d.name, detail: { fingerprint, previous: d.hostKeyFingerprint } });
  return next;
}

export function approveDevice(actor: Actor, name: string): ManagedDevice {
  const d = deviceByName(name);
  if (!d.hostKeyFingerprint) throw new AppError('conflict', `Confirm ${d.name}'s host key fingerprint before approving it.`);
  const next = update(d.id, { approval: 'approved' });
  audit(actor, 'fleet.device.approve', 'success', { target: d.name });
  return next;
}

export function setDeviceBackup(actor: Actor, name: string, raw: unknown): ManagedDevice {
  const d = deviceByName(name);
  const { enabled } = backupToggleSchema.parse(raw);
  const next = update(d.id, { backupEnabled: enabled });
  audit(actor, enabled ? 'fleet.device.enable' : 'fleet.device.disable', 'success', { target: d.name });
  return next;
}

/** The device's own recipient, a generated one (identity answered once, never stored), or null: the organisation key. */
export function setDeviceKey(actor: Actor, name: string, raw: unknown): { recipient: string | null; identity?: string } {
  const d = deviceByName(name);
  const input = deviceKeyInputSchema.parse(raw);
  let recipient: string | null;
  let identity: string | undefined;
  if (input.generate) {
    const id = generateX25519Identity();
    recipient = id.recipient.toString();
    identity = id.exportSecretKey();
  } else recipient = input.recipient ?? null;
  update(d.id, { recipient });
  audit(actor, 'fleet.device.key', 'success', { target: d.name, detail: { recipient, generated: identity !== undefined } });
  return identity ? { recipient, identity } : { recipient };
}

export async function removeDevice(actor: Actor, name: string, opts: { deleteBackups?: boolean } = {}): Promise<{ removed: string; backupsRemoved: number }> {
  const d = deviceByName(name);
  if (db().select({ id: fleetRuns.id }).from(fleetRuns).where(eq(fleetRuns.status, 'running')).get()) {
    throw new AppError('conflict', 'A device backup run is in progress. Remove the device once it has finished (or cancel it).');
  }
  const kept = db()
    .select()
    .from(deviceBackups)
    .where(and(eq(deviceBackups.deviceId, d.id), isNull(deviceBackups.deletedAt)))
    .orderBy(desc(deviceBackups.createdAt))
    .all();
  if (kept.length > 0 && !opts.deleteBackups) {
    throw new AppError(
      'conflict',
      `${d.name} has ${kept.length} stored backup${kept.length === 1 ? '' : 's'}. Nothing was removed. To remove the device and delete its backups from the storage, repeat with deleteBackups=true; to keep them, disable its backups instead.`,
    );
  }
  const removed = await removeBackupObjects(kept);
  if (removed.failed.length > 0) {
    audit(actor, 'fleet.device.remove', 'failure', { target: d.name, detail: { reason: removed.failed[0], deleted: removed.deleted } });
    throw new AppError('unprocessable', `${d.name} was not removed: ${removed.failed[0]} (${removed.deleted} of its ${kept.length} backups were deleted; try again).`);
  }
  db().delete(managedDevices).where(eq(managedDevices.id, d.id)).run();
  audit(actor, 'fleet.device.remove', 'success', { target: d.name, detail: { backupsRemoved: removed.deleted } });
  return { removed: d.name, backupsRemoved: removed.deleted };
}
