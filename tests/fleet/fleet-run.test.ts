import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, desc, eq, isNull } from 'drizzle-orm';
import { failingConditions } from '@/lib/alerts/conditions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptWithIdentities, parseX25519Identity } from '@/lib/age';
import type { Actor } from '@/lib/audit/audit';
import { recentAuditEvents } from '@/lib/audit/audit';
import { db } from '@/lib/db/client';
import { deviceBackups, fleetRuns, fleetTasks, managedDevices } from '@/lib/db/schema';
import { fleetConfigView, getFleetConfig, saveFleetConfig, setOrgKey } from '@/lib/fleet/config';
import { addDevice, approveDevice, deviceByName, pinHostKey, removeDevice, setDeviceBackup, setDeviceKey } from '@/lib/fleet/devices';
import { recoverInterruptedFleetRuns } from '@/lib/fleet/recovery';
import { CANCELLED_RUNNING, CANCELLED_WAITING, cancelFleetRun, startFleetRun, waitForFleetRun, type RunTuning } from '@/lib/fleet/run';
import { dueFleetRun } from '@/lib/fleet/scheduler';
import { openDeviceBackup } from '@/lib/fleet/download';
import { deviceBackupsView, deviceViews, runView, statusView } from '@/lib/fleet/views';
import { putSetting } from '@/lib/settings/store';
import { storageConfigSchema } from '@/lib/storage/schemas';
import { AppError } from '@/lib/errors';
import { startDevices, type SimulatedDevice, type SimulatedDeviceSpec, type SimulatedFleet } from '../helpers/ssh-devices';

/**
 * lib/fleet end to end in one process: the real SQLite database, simulated
 * devices (ssh2 servers on loopback) and the console's own storage (a local
 * folder). Devices are added, probed, pinned and approved; runs back them up
 * encrypted to the organisation's or a device's key, detect unchanged
 * configurations despite secret churn, keep N per device, fail each
 * misbehaving device with its reason while the others succeed, stop a device
 * whose host key changed until the new key is pinned.
 */
const admin: Actor = { id: 1, name: 'ada', ip: '127.0.0.1' };
const TUNING: RunTuning = { attempts: 1, limits: { connectTimeoutMs: 3000, commandTimeoutMs: 2000, keepaliveIntervalMs: 500, keepaliveCountMax: 2 } };
let fleet: SimulatedFleet;
let store: string;
let orgIdentity: string;
const specs: Record<string, SimulatedDeviceSpec> = {
  good: { kind: 'opnsense' },
  cisco: { kind: 'cisco' },
  churn: { kind: 'opnsense', behaviour: 'churn-secrets' },
  generic: { kind: 'generic', command: 'export-config', content: Buffer.from('hostname gen\nversion 1\n') },
  refuse: { kind: 'opnsense', behaviour: 'refuse-password' },
  hang: { kind: 'opnsense', behaviour: 'hang-after-login' },
  midway: { kind: 'opnsense', behaviour: 'close-mid-output', configBytes: 512 * 1024 },
  empty: { kind: 'opnsense', behaviour: 'empty' },
  rekey: { kind: 'opnsense' },
};
const dev: Record<string, SimulatedDevice> = {};

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<AppError> {
  const err = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, 'expected a refusal').toBeInstanceOf(AppError);
  return err as AppError;
}

async function add(key: string) {
  const d = dev[key]!;
  const model = d.kind === 'cisco' ? 'cisco-ios' : d.kind;
  return addDevice(admin, { name: key, host: d.host, port: d.port, username: d.username, password: d.password, model, exportCommand: d.kind === 'generic' ? 'export-config' : undefined });
}

async function run(devices?: string[]) {
  const r = await startFleetRun(admin, { trigger: 'manual', devices }, TUNING);
  await waitForFleetRun(r.id);
  return runView(r.id);
}

async function plaintextOf(name: string, id: number, identity = orgIdentity): Promise<Buffer> {
  const f = await openDeviceBackup(admin, name, id);
  const out = await decryptWithIdentities(f.body, parseX25519Identity(identity));
  const chunks: Buffer[] = [];
  for await (const c of out) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  const list = Object.values(specs);
  fleet = await startDevices(list);
  Object.keys(specs).forEach((k, i) => (dev[k] = fleet.devices[i]!));
  store = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-fleet-store-'));
});
afterAll(async () => {
  await fleet?.close();
  if (store) fs.rmSync(store, { recursive: true, force: true });
});

describe('organisation configuration', () => {
  it('starts disabled with defaults; console storage is refused while the console has none, in words', async () => {
    expect(fleetConfigView()).toMatchObject({ status: 'disabled', storage: null, schedule: { cron: '0 2 * * *', timezone: 'UTC' }, encryptionKey: { configured: false, recipient: null }, retention: 5 });
    const err = await refusal(saveFleetConfig(admin, { storage: { kind: 'console' } }));
    expect(err.message).toMatch(/Storage Type None/);
    expect(getFleetConfig()).toBeNull();
  });

  it('a bad cron expression, time zone or retention changes nothing', async () => {
    for (const bad of [{ schedule: { cron: '* * *', timezone: 'UTC' } }, { schedule: { cron: '0 2 * * *', timezone: 'Mars/Base' } }, { retention: 0 }]) {
      await expect(saveFleetConfig(admin, bad)).rejects.toThrow();
    }
    expect(getFleetConfig()).toBeNull();
  });

  it('saves the console storage, schedule and retention; a generated key is answered once and only its public half is kept', async () => {
    putSetting('storage', storageConfigSchema, { type: 'local', path: store }, 'test');
    const v = await saveFleetConfig(admin, { enabled: true, storage: { kind: 'console' }, schedule: { cron: '30 3 * * 1-5', timezone: 'Europe/Berlin' }, retention: 3 });
    expect(v).toMatchObject({ status: 'enabled', storage: { kind: 'console' }, schedule: { cron: '30 3 * * 1-5', timezone: 'Europe/Berlin' }, retention: 3, updatedBy: 'ada' });
    const key = setOrgKey(admin, { generate: true });
    expect(key.recipient).toMatch(/^age1[a-z0-9]{58}$/);
    expect(key.identity).toMatch(/^AGE-SECRET-KEY-1[A-Z0-9]{58}$/);
    orgIdentity = key.identity!;
    expect(fleetConfigView().encryptionKey).toEqual({ configured: true, recipient: key.recipient });
    const stored = JSON.stringify(db().$client.prepare('select * from settings').all()) + JSON.stringify(recentAuditEvents());
    expect(stored).not.toContain(orgIdentity);
    expect(stored).not.toContain(orgIdentity.slice(16, 40));
    let bad: unknown;
    try {
      setOrgKey(admin, { recipient: 'age1notakey' });
    } catch (e) {
      bad = e;
    }
    expect((bad as { issues: { path: string[]; message: string }[] }).issues[0]).toMatchObject({ path: ['recipient'], message: expect.stringMatching(/^Not an age X25519 recipient: /) });
    expect(fleetConfigView().encryptionKey.recipient).toBe(key.recipient);
  });

  it('the schedule fires at its times in its time zone', () => {
    const last = new Date('2025-01-06T02:29:00Z'); // Monday 03:29 in Berlin
    expect(dueFleetRun({ cron: '30 3 * * 1-5', timezone: 'Europe/Berlin' }, last, new Date('2025-01-06T02:30:01Z'))?.toISOString()).toBe('2025-01-06T02:30:00.000Z');
    expect(dueFleetRun({ cron: '30 3 * * 1-5', timezone: 'Europe/Berlin' }, last, new Date('2025-01-06T02:29:59Z'))).toBeNull();
  });
});

describe('devices', () => {
  it('added PENDING with the fingerprint the device presents; credentials sealed', async () => {
    for (const k of Object.keys(specs)) await add(k);
    const v = deviceViews().find((d) => d.name === 'good')!;
    expect(v).toMatchObject({ state: 'PENDING', backup: 'enabled', key: 'org', authKind: 'password', hostKey: { pinned: null, presented: dev.good!.fingerprint, changed: false } });
    const row = deviceByName('good');
    expect(row.secretSealed).not.toContain(dev.good!.password);
    expect(dev.good!.stats.logins).toBe(0);
    expect((await refusal(add('good'))).message).toBe('A device named "good" exists already.');
  });

  it('approving needs a pinned key; a fingerprint other than the presented one pins nothing', async () => {
    expect((await refusal(() => approveDevice(admin, 'good'))).message).toMatch(/Confirm good's host key fingerprint/);
    const err = await refusal(pinHostKey(admin, 'good', { fingerprint: dev.cisco!.fingerprint }));
    expect(err.message).toContain(`presents ssh-ed25519 ${dev.good!.fingerprint} now, not ${dev.cisco!.fingerprint}; nothing was pinned`);
    expect(deviceByName('good').hostKeyFingerprint).toBeNull();
  });

  it('a run before approval refuses the pending device in words', async () => {
    expect((await refusal(startFleetRun(admin, { trigger: 'manual', devices: ['good'] }))).message).toMatch(/^good is PENDING/);
    expect((await refusal(startFleetRun(admin, { trigger: 'manual' }))).message).toMatch(/No device is approved/);
  });

  it('pinned and approved', async () => {
    for (const k of Object.keys(specs)) {
      await pinHostKey(admin, k, { fingerprint: dev[k]!.fingerprint });
      approveDevice(admin, k);
    }
    expect(deviceViews().every((d) => d.hostKey.pinned && d.state === 'NOT SYNCED')).toBe(true);
  });
});

describe('runs', () => {
  let first: ReturnType<typeof runView>;
  it('each misbehaving device fails with its reason while the rest succeed', async () => {
    first = await run();
    expect(first.status).toBe('partial');
    const by = Object.fromEntries(first.tasks.map((t) => [t.device, t]));
    for (const k of ['good', 'cisco', 'churn', 'generic', 'rekey']) expect(by[k], k).toMatchObject({ status: 'SUCCEEDED', unchanged: false, error: null });
    expect(by.refuse!.status).toBe('FAILED');
    expect(by.refuse!.error).toMatch(/did not accept the user "backup" with this password/);
    expect(by.hang!.status).toBe('FAILED');
    expect(by.hang!.error).toMatch(/time limit|did not finish|watchdog/i);
    expect(by.midway!.status).toBe('FAILED');
    expect(by.midway!.error).toMatch(/connection|closed|lost|truncated|exit status/i);
    expect(by.empty!.status).toBe('FAILED');
    expect(by.empty!.error).toMatch(/empty|nothing/i);
    const views = Object.fromEntries(deviceViews().map((d) => [d.name, d]));
    expect(views.good).toMatchObject({ state: 'SYNCED', firmwareVersion: 'OPNsense 24.7.5 (amd64)', lastBackup: { status: 'SUCCESS', message: null } });
    expect(views.refuse).toMatchObject({ state: 'NOT SYNCED', lastBackup: { status: 'FAILED' } });
    // Each failed device is an alert condition of its own, in the device's words; the good ones are not.
    const failing = new Map(failingConditions().map((c) => [c.key, JSON.parse(c.detail!) as { why: string }]));
    for (const k of ['refuse', 'hang', 'midway', 'empty']) expect(failing.get(`device:${k}`)?.why, k).toBe(by[k]!.error);
    expect(failing.has('device:good')).toBe(false);
  });

  it('stored files are age files for the organisation key that decrypt to what each device served; names as documented', async () => {
    for (const k of ['good', 'cisco', 'generic']) {
      const [b] = deviceBackupsView(k).backups;
      expect(b!.keyKind).toBe('org');
      expect(b!.objectKey).toMatch(new RegExp(`^managed-device-${k}-\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d\\.\\d{3}Z\\.${k === 'good' ? 'xml' : 'cfg'}\\.age$`));
      expect(fs.existsSync(path.join(store, b!.objectKey))).toBe(true);
      expect((await plaintextOf(k, b!.id)).equals(dev[k]!.served.at(-1)!)).toBe(true);
    }
    expect(fs.readdirSync(store).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('the status table: every device, its key, its last status and message, totals', () => {
    setDeviceBackup(admin, 'empty', { enabled: false });
    const s = statusView();
    expect(s.total).toBe(9);
    expect(s.enabled).toBe(8);
    expect(s.devices.find((d) => d.name === 'empty')).toMatchObject({ backup: 'Disabled', key: '-' });
    expect(s.devices.find((d) => d.name === 'good')).toMatchObject({ backup: 'Enabled', key: 'org', status: 'SUCCESS', message: null });
    expect(s.devices.find((d) => d.name === 'refuse')!.message).toMatch(/did not accept the user/);
  });

  it('a second run: unchanged configurations (secret churn and Cisco clock lines set aside) store no new copy; a changed key fails naming both fingerprints', async () => {
    const oldFp = dev.rekey!.fingerprint;
    dev.rekey!.rotateHostKey();
    const before = db().select().from(deviceBackups).all().length;
    const second = await run(['good', 'cisco', 'churn', 'generic', 'rekey']);
    const by = Object.fromEntries(second.tasks.map((t) => [t.device, t]));
    for (const k of ['good', 'cisco', 'churn', 'generic']) expect(by[k], k).toMatchObject({ status: 'SUCCEEDED', unchanged: true });
    expect(db().select().from(deviceBackups).all().length).toBe(before);
    expect(by.rekey!.status).toBe('FAILED');
    expect(by.rekey!.error).toContain(oldFp);
    expect(by.rekey!.error).toContain(dev.rekey!.fingerprint);
    expect(deviceViews().find((d) => d.name === 'rekey')!.hostKey).toEqual({ pinned: oldFp, presented: dev.rekey!.fingerprint, changed: true });
    // Stopped: the next run does not contact it at all.
    const logins = dev.rekey!.stats.connections;
    const third = await run(['rekey']);
    expect(third.tasks[0]!.error).toMatch(/^Backups of rekey are stopped: its host key changed/);
    expect(dev.rekey!.stats.connections).toBe(logins);
    expect(failingConditions().some((c) => c.key === 'device-host-key:rekey')).toBe(true);
    // Pinned again by an admin: backups resume.
    await pinHostKey(admin, 'rekey', { fingerprint: dev.rekey!.fingerprint });
    expect((await run(['rekey'])).tasks[0]).toMatchObject({ status: 'SUCCEEDED', unchanged: true });
    expect(failingConditions().some((c) => c.key === 'device-host-key:rekey')).toBe(false);
  });

  it('retention keeps the N most recent per device and never files it did not write', async () => {
    const foreign = path.join(store, 'managed-device-generic-1999-01-01T00-00-00.000Z.cfg.age');
    fs.writeFileSync(foreign, 'not ours');
    for (let i = 2; i <= 6; i++) {
      specs.generic!.content = Buffer.from(`hostname gen\nversion ${i}\n`);
      expect((await run(['generic'])).tasks[0]).toMatchObject({ status: 'SUCCEEDED', unchanged: false });
    }
    const kept = deviceBackupsView('generic').backups;
    expect(kept.length).toBe(3);
    expect((await plaintextOf('generic', kept[0]!.id)).toString()).toBe('hostname gen\nversion 6\n');
    expect(fs.readdirSync(store).filter((f) => f.startsWith('managed-device-generic-')).length).toBe(4);
    expect(fs.readFileSync(foreign, 'utf8')).toBe('not ours');
  });

  it('retention keeps the backup just taken even when older ones carry later times (they were taken while the clock was ahead)', async () => {
    const gen = deviceByName('generic');
    const ahead = new Date(Date.now() + 24 * 3600_000);
    db().update(deviceBackups).set({ createdAt: ahead }).where(and(eq(deviceBackups.deviceId, gen.id), isNull(deviceBackups.deletedAt))).run();
    specs.generic!.content = Buffer.from('hostname gen\nversion 7\n');
    expect((await run(['generic'])).tasks[0]).toMatchObject({ status: 'SUCCEEDED', unchanged: false });
    const lastTask = () => db().select().from(fleetTasks).where(eq(fleetTasks.deviceId, gen.id)).orderBy(desc(fleetTasks.id)).get()!;
    const newest = db().select().from(deviceBackups).where(eq(deviceBackups.id, lastTask().backupId!)).get()!;
    expect(newest.deletedAt).toBeNull();
    expect(fs.existsSync(path.join(store, newest.objectKey))).toBe(true);
    expect((await plaintextOf('generic', newest.id)).toString()).toBe('hostname gen\nversion 7\n');
    expect(deviceBackupsView('generic').backups.length).toBe(3);
    // The same configuration again is unchanged against the backup just taken, not against an older one.
    expect((await run(['generic'])).tasks[0]).toMatchObject({ status: 'SUCCEEDED', unchanged: true });
    expect(lastTask().backupId).toBe(newest.id);
  });

  it('a device key overrides the organisation key; a generated identity is answered once', async () => {
    const k = setDeviceKey(admin, 'cisco', { generate: true });
    expect(k.identity).toMatch(/^AGE-SECRET-KEY-1/);
    expect(deviceViews().find((d) => d.name === 'cisco')!.key).toBe('device');
    // Same configuration, another key: a new copy, readable with the device's identity only.
    expect((await run(['cisco'])).tasks[0]).toMatchObject({ status: 'SUCCEEDED', unchanged: false });
    const [b] = deviceBackupsView('cisco').backups;
    expect(b!.keyKind).toBe('device');
    expect((await plaintextOf('cisco', b!.id, k.identity!)).equals(dev.cisco!.served.at(-1)!)).toBe(true);
    await expect(plaintextOf('cisco', b!.id, orgIdentity)).rejects.toThrow();
    setDeviceKey(admin, 'cisco', { recipient: null });
    expect(deviceViews().find((d) => d.name === 'cisco')!.key).toBe('org');
  });

  it('no key for a device: the run fails in words before any device is contacted', async () => {
    const saved = getFleetConfig()!;
    putSetting('fleet-backup', (await import('@/lib/fleet/schemas')).storedFleetConfigSchema, { ...saved, recipient: null }, 'test');
    const logins = dev.good!.stats.connections;
    const err = await refusal(startFleetRun(admin, { trigger: 'manual', devices: ['good'] }));
    expect(err.message).toBe('No encryption key is configured for good: set the organisation key (or a device key) first. No device was contacted.');
    expect(dev.good!.stats.connections).toBe(logins);
    putSetting('fleet-backup', (await import('@/lib/fleet/schemas')).storedFleetConfigSchema, saved, 'test');
  });

  it("a device whose stored secret cannot be opened fails alone; the others in the run go on and the run's record is theirs", async () => {
    const cisco = deviceByName('cisco');
    // As after restoring the database without the appliance key that sealed it.
    db().update(managedDevices).set({ secretSealed: 'v1.AAAA.AAAA.AAAA' }).where(eq(managedDevices.id, cisco.id)).run();
    try {
      const v = await run(['cisco', 'good']);
      expect(v.tasks.map((t) => [t.device, t.status])).toEqual([
        ['cisco', 'FAILED'],
        ['good', 'SUCCEEDED'],
      ]);
      expect(v.status).toBe('partial');
      expect(v.tasks[0]!.error).toMatch(/^cisco was not backed up: /);
      expect(v.tasks[0]!.error).not.toMatch(/\bat \S+ \(|node:internal/);
    } finally {
      db().update(managedDevices).set({ secretSealed: cisco.secretSealed }).where(eq(managedDevices.id, cisco.id)).run();
    }
  });

  it('one run at a time; cancel ends the devices not done as CANCELLED', async () => {
    const r = await startFleetRun(admin, { trigger: 'manual', devices: ['hang', 'midway'] }, { ...TUNING, concurrency: 1, limits: { ...TUNING.limits, commandTimeoutMs: 20_000 } });
    expect((await refusal(startFleetRun(admin, { trigger: 'manual' }))).message).toMatch(/^A device backup run is already in progress \(started by ada/);
    await new Promise((res) => setTimeout(res, 500));
    cancelFleetRun(admin, r.id);
    await waitForFleetRun(r.id);
    const v = runView(r.id);
    expect(v.status).toBe('cancelled');
    expect(v.error).toBe('Cancelled by ada.');
    expect(v.tasks.map((t) => [t.device, t.status, t.error])).toEqual([
      ['hang', 'CANCELLED', CANCELLED_RUNNING],
      ['midway', 'CANCELLED', CANCELLED_WAITING],
    ]);
  });

  it('a run a killed process left running is marked cancelled at the next start, with its open tasks', () => {
    const d = deviceByName('good');
    const r = db().insert(fleetRuns).values({ trigger: 'manual', requestedBy: 'ada', status: 'running', startedAt: new Date() }).returning().get();
    db().insert(fleetTasks).values({ runId: r.id, deviceId: d.id, status: 'in_progress' }).run();
    expect(recoverInterruptedFleetRuns()).toBe(1);
    const v = runView(r.id);
    expect(v.status).toBe('cancelled');
    expect(v.error).toMatch(/The console stopped while this run was going on/);
    expect(v.tasks[0]!.status).toBe('CANCELLED');
  });

  it('removing a device with backups is refused unless its backups go too; then its files are deleted', async () => {
    const files = () => fs.readdirSync(store).filter((f) => f.startsWith('managed-device-good-'));
    expect(files().length).toBe(1);
    expect((await refusal(removeDevice(admin, 'good'))).message).toMatch(/^good has 1 stored backup\. Nothing was removed\./);
    expect(deviceByName('good').name).toBe('good');
    expect(await removeDevice(admin, 'good', { deleteBackups: true })).toEqual({ removed: 'good', backupsRemoved: 1 });
    expect(files()).toEqual([]);
    expect(db().select().from(managedDevices).all().some((d) => d.name === 'good')).toBe(false);
  });

  it('no password, private key, S3 secret or identity in any answer or audit record', () => {
    const everything = JSON.stringify([deviceViews(), statusView(), fleetConfigView(), recentAuditEvents(1000), db().select().from(managedDevices).all().map((d) => d.lastError)]);
    for (const d of Object.values(dev)) expect(everything).not.toContain(d.password);
    expect(everything).not.toContain(orgIdentity);
  });
});
