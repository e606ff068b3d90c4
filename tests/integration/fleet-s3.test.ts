import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '@/lib/audit/audit';
import { db } from '@/lib/db/client';
import { deviceBackups } from '@/lib/db/schema';
import { saveFleetConfig, setOrgKey } from '@/lib/fleet/config';
import { addDevice, approveDevice, pinHostKey } from '@/lib/fleet/devices';
import { cancelFleetRun, startFleetRun, waitForFleetRun, type RunTuning } from '@/lib/fleet/run';
import { deviceBackupsView, runView } from '@/lib/fleet/views';
import { S3Store } from '@/lib/s3';
import { startCephRgw, type CephRgw } from '../helpers/ceph-rgw';
import { startConsole, type ConsoleServer } from '../helpers/console-server';
import { ConsoleClient } from '../helpers/http-client';
import { startDevices, type SimulatedDevice, type SimulatedDeviceSpec, type SimulatedFleet } from '../helpers/ssh-devices';
import { startSshServer, type SshServer } from '../helpers/sshd';

/**
 * Device backups to a real S3 gateway (Ceph RADOS Gateway on loopback) from
 * simulated devices and one real OpenSSH sshd. Part one runs lib/fleet in
 * this process: uploads that s3cmd lists and fetches, that Debian's age
 * decrypts with the organisation's identity; retention that keeps 5 and
 * never touches an object s3cmd put; unchanged detection under secret
 * churn; each misbehaving device failing with its reason; a cancelled
 * multipart upload and one a killed run left leave no parts. Part two goes
 * through the built console's routes as each role.
 */
const run$ = promisify(execFile);
const BUCKET = 'fleet-backups';
const FOLDER = 'production';
const admin: Actor = { id: 1, name: 'ada', ip: '127.0.0.1' };
const TUNING: RunTuning = { attempts: 1, limits: { connectTimeoutMs: 4000, commandTimeoutMs: 3000, keepaliveIntervalMs: 500, keepaliveCountMax: 2 } };
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-fleet-it-'));
process.env.WEBCONF_DATA_DIR = dataDir;
process.env.WEBCONF_LOG_LEVEL = 'silent';

let gw: CephRgw;
let fleet: SimulatedFleet;
let sshd: SshServer;
let identity: string;
let identityFile: string;
const specs: Record<string, SimulatedDeviceSpec> = {
  'fw-good': { kind: 'opnsense' },
  'fw-churn': { kind: 'opnsense', behaviour: 'churn-secrets' },
  'fw-gen': { kind: 'generic', command: 'export', content: Buffer.from('v0\n') },
  'fw-refuse': { kind: 'opnsense', behaviour: 'refuse-password' },
  'fw-hang': { kind: 'opnsense', behaviour: 'hang-after-login' },
  'fw-midway': { kind: 'opnsense', behaviour: 'close-mid-output', configBytes: 256 * 1024 },
  'fw-empty': { kind: 'opnsense', behaviour: 'empty' },
  'fw-rekey': { kind: 'opnsense' },
};
const dev: Record<string, SimulatedDevice> = {};
let sshdConfig: Buffer;

async function run(devices?: string[]) {
  const r = await startFleetRun(admin, { trigger: 'manual', devices }, TUNING);
  await waitForFleetRun(r.id);
  return runView(r.id);
}

function s3() {
  return new S3Store({ endpoint: gw.endpoint, region: gw.region, bucket: BUCKET, folder: FOLDER, accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey });
}

async function s3cmdKeys(prefix: string): Promise<string[]> {
  const { stdout } = await gw.s3cmd(['ls', '--recursive', `s3://${BUCKET}/${prefix}`]);
  return stdout
    .split('\n')
    .map((l) => /s3:\/\/\S+/.exec(l)?.[0])
    .filter((k): k is string => !!k)
    .map((k) => k.slice(`s3://${BUCKET}/`.length))
    .sort();
}

beforeAll(async () => {
  gw = await startCephRgw();
  await gw.createBucket(BUCKET);
  fleet = await startDevices(Object.values(specs));
  Object.keys(specs).forEach((k, i) => (dev[k] = fleet.devices[i]!));
  sshd = await startSshServer({ hostKeyTypes: ['ed25519'] });
  sshdConfig = Buffer.from(`hostname real-sshd\n${crypto.randomBytes(48 * 1024).toString('base64')}\n`);
  fs.writeFileSync(path.join(sshd.filesDir, 'running.cfg'), sshdConfig, { mode: 0o644 });
}, 240_000);

afterAll(async () => {
  await fleet?.close();
  await sshd?.stop();
  await gw?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('lib/fleet against Ceph RGW', () => {
  it('configured: the S3 location is checked before saving; a generated organisation key', async () => {
    const v = await saveFleetConfig(admin, {
      enabled: true,
      storage: { kind: 's3', endpoint: gw.endpoint, region: gw.region, bucket: BUCKET, folder: FOLDER, accessKeyId: gw.accessKeyId, secretKey: gw.secretAccessKey },
    });
    expect(v.storage).toEqual({ kind: 's3', endpoint: gw.endpoint, region: gw.region, bucket: BUCKET, folder: FOLDER, accessKeyId: gw.accessKeyId, secretKey: 'configured' });
    const key = setOrgKey(admin, { generate: true });
    identity = key.identity!;
    identityFile = path.join(dataDir, 'org.key');
    fs.writeFileSync(identityFile, `${identity}\n`, { mode: 0o600 });
    for (const [name, d] of Object.entries(dev)) {
      await addDevice(admin, { name, host: d.host, port: d.port, username: d.username, password: d.password, model: d.kind, exportCommand: d.kind === 'generic' ? 'export' : undefined });
      await pinHostKey(admin, name, { fingerprint: d.fingerprint });
      approveDevice(admin, name);
    }
    const added = await addDevice(admin, { name: 'real-sshd', host: sshd.host, port: sshd.port, username: sshd.user, password: sshd.password, model: 'generic', exportCommand: `cat ${sshd.filesDir}/running.cfg` });
    expect(added.presentedFingerprint).toBe(sshd.hostKeyFingerprint('ed25519'));
    await pinHostKey(admin, 'real-sshd', { fingerprint: sshd.hostKeyFingerprint('ed25519') });
    approveDevice(admin, 'real-sshd');
  });

  it('a run: each misbehaving device fails with its reason, the rest are uploaded; s3cmd lists the same objects and Debian age decrypts them', async () => {
    const oldFp = dev['fw-rekey']!.fingerprint;
    dev['fw-rekey']!.rotateHostKey();
    const v = await run();
    expect(v.status).toBe('partial');
    const by = Object.fromEntries(v.tasks.map((t) => [t.device, t]));
    for (const k of ['fw-good', 'fw-churn', 'fw-gen', 'real-sshd']) expect(by[k], k).toMatchObject({ status: 'SUCCEEDED', unchanged: false });
    expect(by['fw-refuse']!.error).toMatch(/did not accept the user "backup" with this password/);
    expect(by['fw-hang']!.error).toMatch(/^"cat \/conf\/config.xml" on 127\.0\.0\.1:\d+ did not finish within 3 s/);
    expect(by['fw-midway']!.status).toBe('FAILED');
    expect(by['fw-empty']!.error).toMatch(/empty|nothing/i);
    expect(by['fw-rekey']!.error).toContain(oldFp);
    expect(by['fw-rekey']!.error).toContain(dev['fw-rekey']!.fingerprint);

    const recorded = db().select().from(deviceBackups).all().map((b) => `${FOLDER}/${b.objectKey}`).sort();
    expect(recorded).toHaveLength(4);
    expect(await s3cmdKeys(`${FOLDER}/`)).toEqual(recorded);
    for (const k of recorded) expect(k).toMatch(new RegExp(`^${FOLDER}/(fw-good|fw-churn|fw-gen|real-sshd)/\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d\\.\\d{3}Z\\.(xml|cfg)\\.age$`));

    for (const [name, expected] of [['fw-good', dev['fw-good']!.served.at(-1)!], ['real-sshd', sshdConfig]] as const) {
      const [b] = deviceBackupsView(name).backups;
      const fetched = path.join(dataDir, `${name}.age`);
      await gw.s3cmd(['get', '--force', `s3://${BUCKET}/${FOLDER}/${b!.objectKey}`, fetched]);
      expect(crypto.createHash('sha256').update(fs.readFileSync(fetched)).digest('hex')).toBe(b!.sha256);
      const out = path.join(dataDir, `${name}.plain`);
      await run$('age', ['-d', '-i', identityFile, '-o', out, fetched]);
      expect(fs.readFileSync(out).equals(expected)).toBe(true);
    }
  });

  it('unchanged detection with secret churn: the second run stores no new object', async () => {
    const before = await s3cmdKeys(`${FOLDER}/`);
    const v = await run(['fw-good', 'fw-churn', 'real-sshd']);
    expect(v.tasks.map((t) => [t.device, t.status, t.unchanged])).toEqual([
      ['fw-churn', 'SUCCEEDED', true],
      ['fw-good', 'SUCCEEDED', true],
      ['real-sshd', 'SUCCEEDED', true],
    ]);
    expect(dev['fw-churn']!.served.at(-1)!.equals(dev['fw-churn']!.served.at(-2)!)).toBe(false);
    expect(await s3cmdKeys(`${FOLDER}/`)).toEqual(before);
  });

  it('retention keeps the 5 most recent per device and never an object s3cmd put there', async () => {
    const foreign = path.join(dataDir, 'foreign.age');
    fs.writeFileSync(foreign, 'not the console’s');
    await gw.s3cmd(['put', foreign, `s3://${BUCKET}/${FOLDER}/fw-gen/0000-foreign.cfg.age`]);
    for (let i = 1; i <= 7; i++) {
      specs['fw-gen']!.content = Buffer.from(`v${i}\n`);
      expect((await run(['fw-gen'])).tasks[0]).toMatchObject({ status: 'SUCCEEDED', unchanged: false });
    }
    const kept = deviceBackupsView('fw-gen').backups;
    expect(kept).toHaveLength(5);
    const listed = await s3cmdKeys(`${FOLDER}/fw-gen/`);
    expect(listed).toEqual([`${FOLDER}/fw-gen/0000-foreign.cfg.age`, ...kept.map((b) => `${FOLDER}/${b.objectKey}`).sort()]);
    const out = path.join(dataDir, 'gen.plain');
    await gw.s3cmd(['get', '--force', `s3://${BUCKET}/${FOLDER}/${kept[0]!.objectKey}`, path.join(dataDir, 'gen.age')]);
    await run$('age', ['-d', '-i', identityFile, '-o', out, path.join(dataDir, 'gen.age')]);
    expect(fs.readFileSync(out, 'utf8')).toBe('v7\n');
  });

  it('an upload a killed run left is swept at the next start; a cancelled multipart upload leaves no parts', async () => {
    const client = new S3Client({ endpoint: gw.endpoint, region: gw.region, forcePathStyle: true, credentials: { accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey } });
    // Named as the console names device backups: what a killed run leaves.
    await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: `${FOLDER}/fw-good/2020-01-01T00-00-00.000Z.xml.age` }));
    // Another tool's upload under way in the same folder: not the console's to abort.
    const foreign = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: `${FOLDER}/other-tool/archive.tar` }));
    const beside = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: `${FOLDER}/fw-good/notes.txt` }));
    client.destroy();
    const store = s3();
    try {
      expect((await store.incompleteUploads()).length).toBe(3);
      // 40 MiB: several 8 MiB parts, long enough to cancel in the middle.
      fs.writeFileSync(path.join(sshd.filesDir, 'running.cfg'), crypto.randomBytes(40 * 1024 * 1024).toString('base64').slice(0, 40 * 1024 * 1024));
      const r = await startFleetRun(admin, { trigger: 'manual', devices: ['real-sshd'] }, { ...TUNING, limits: { ...TUNING.limits, commandTimeoutMs: 60_000 } });
      let sawUpload = false;
      for (let i = 0; i < 400 && !sawUpload; i++) {
        const ups = await store.incompleteUploads();
        sawUpload = ups.some((u) => u.key.startsWith('real-sshd/'));
        if (!sawUpload) await new Promise((res) => setTimeout(res, 25));
      }
      expect(sawUpload).toBe(true);
      cancelFleetRun(admin, r.id);
      await waitForFleetRun(r.id);
      expect(runView(r.id).tasks[0]!.status).toBe('CANCELLED');
      // The killed run's upload and the cancelled one are gone; the uploads the console did not start are left alone.
      const left = await store.incompleteUploads();
      expect(left.map((u) => [u.key, u.uploadId]).sort()).toEqual([
        ['fw-good/notes.txt', beside.UploadId],
        ['other-tool/archive.tar', foreign.UploadId],
      ]);
      const { stdout } = await gw.s3cmd(['multipart', `s3://${BUCKET}`]);
      // "Initiated\tPath\tId" and only the other uploads (ListMultipartUploads, as s3cmd sees it).
      expect(stdout.split('\n').filter((l) => l.split('\t').length >= 3 && l.split('\t')[1]!.startsWith('s3://')).map((l) => l.split('\t')[1]).sort()).toEqual([
        `s3://${BUCKET}/${FOLDER}/fw-good/notes.txt`,
        `s3://${BUCKET}/${FOLDER}/other-tool/archive.tar`,
      ]);
    } finally {
      const cleanup = new S3Client({ endpoint: gw.endpoint, region: gw.region, forcePathStyle: true, credentials: { accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey } });
      for (const [Key, u] of [[`${FOLDER}/other-tool/archive.tar`, foreign], [`${FOLDER}/fw-good/notes.txt`, beside]] as const) {
        await cleanup.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key, UploadId: u.UploadId })).catch(() => undefined);
      }
      cleanup.destroy();
      store.close();
      fs.writeFileSync(path.join(sshd.filesDir, 'running.cfg'), sshdConfig);
    }
  });
});

describe('through the built console, as each role', () => {
  let server: ConsoleServer;
  const PASSWORD = 'fleet api password 01';
  const as: Record<'admin' | 'operator' | 'support', ConsoleClient> = {} as never;
  const answers: string[] = [];
  const call = async <T = Record<string, unknown>>(c: ConsoleClient, p: string, method = 'GET', body?: unknown) => {
    const r = await c.json<T>(p, method, body);
    answers.push(JSON.stringify(r.body));
    return r;
  };

  beforeAll(async () => {
    server = await startConsole();
    const otp = new ConsoleClient(server.url);
    expect((await otp.signIn('otp', server.otpPassword!)).ok).toBe(true);
    expect((await otp.json('/api/users', 'POST', { username: 'ada', role: 'admin', password: PASSWORD, confirmPassword: PASSWORD })).status).toBe(200);
    as.admin = new ConsoleClient(server.url);
    expect((await as.admin.signIn('ada', PASSWORD)).ok).toBe(true);
    for (const [name, role] of [['otto', 'operator'], ['sue', 'support']] as const) {
      expect((await as.admin.json('/api/users', 'POST', { username: name, role, password: PASSWORD, confirmPassword: PASSWORD })).status).toBe(200);
      as[role] = new ConsoleClient(server.url);
      expect((await as[role].signIn(name, PASSWORD)).ok).toBe(true);
    }
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
  });

  const s3Body = (over: Record<string, unknown> = {}) => ({
    enabled: true,
    storage: { kind: 's3', endpoint: gw.endpoint, region: gw.region, bucket: BUCKET, folder: 'console', accessKeyId: gw.accessKeyId, secretKey: gw.secretAccessKey, ...over },
  });

  it('wrong S3 credentials and a missing bucket are refused at save, in words, and nothing is saved', async () => {
    const wrong = await call<{ error: { message: string } }>(as.admin, '/api/fleet/config', 'PUT', s3Body({ secretKey: 'wrong-secret-key-0123456789' }));
    expect(wrong.status).toBe(422);
    expect(wrong.body.error.message).toMatch(/^The S3 location was not saved: .*(secret|signature|credentials|key)/i);
    const missing = await call<{ error: { message: string } }>(as.admin, '/api/fleet/config', 'PUT', s3Body({ bucket: 'no-such-bucket' }));
    expect(missing.status).toBe(422);
    expect(missing.body.error.message).toMatch(/no-such-bucket.*(does not exist|no bucket|not exist)/i);
    expect((await call(as.support, '/api/fleet/config')).body).toMatchObject({ status: 'disabled', storage: null });
  });

  it('support reads; only admins configure; operators run and download; the others are refused with nothing changed', async () => {
    for (const c of [as.support, as.operator]) {
      const r = await call<{ error: { code: string } }>(c, '/api/fleet/config', 'PUT', s3Body());
      expect(r.status).toBe(403);
      expect((await call(c, '/api/devices', 'POST', { name: 'x', host: '127.0.0.1', username: 'u', password: 'p', model: 'opnsense' })).status).toBe(403);
      expect((await call(c, '/api/fleet/encryption-key', 'PUT', { generate: true })).status).toBe(403);
    }
    expect((await call(as.support, '/api/fleet/config')).body).toMatchObject({ status: 'disabled', storage: null, encryptionKey: { configured: false } });
    expect((await call<{ devices: unknown[] }>(as.support, '/api/devices')).body.devices).toEqual([]);

    expect((await call(as.admin, '/api/fleet/config', 'PUT', s3Body())).status).toBe(200);
    const key = await call<{ recipient: string; identity: string }>(as.admin, '/api/fleet/encryption-key', 'PUT', { generate: true });
    expect(key.body.identity).toMatch(/^AGE-SECRET-KEY-1/);
    const d = dev['fw-good']!;
    // Every field's problem at once, the missing login told at the field the form shows; nothing added.
    const bad = await call<{ error: { fields: Record<string, string[]> } }>(as.admin, '/api/devices', 'POST', { name: '', host: '', username: '', password: '', model: 'opnsense' });
    expect(bad.status).toBe(422);
    expect(Object.keys(bad.body.error.fields).sort()).toEqual(['host', 'name', 'password', 'username']);
    expect(bad.body.error.fields.password).toEqual(['Enter the SSH password, or log in with a private key.']);
    const badKey = await call<{ error: { fields: Record<string, string[]> } }>(as.admin, '/api/devices', 'POST', { name: 'fw-k', host: d.host, username: 'u', privateKey: '  ', model: 'opnsense' });
    expect(badKey.body.error.fields).toEqual({ privateKey: ['Paste the private key (PEM or OpenSSH format), or log in with a password.'] });
    expect((await call<{ devices: unknown[] }>(as.admin, '/api/devices')).body.devices).toEqual([]);
    const added = await call<{ state: string; hostKey: { presented: string } }>(as.admin, '/api/devices', 'POST', { name: 'fw-good', host: d.host, port: d.port, username: d.username, password: d.password, model: 'opnsense' });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ state: 'PENDING', hostKey: { presented: d.fingerprint } });
    expect((await call(as.operator, '/api/devices/fw-good/host-key', 'POST', { fingerprint: d.fingerprint })).status).toBe(403);
    expect((await call(as.admin, '/api/devices/fw-good/host-key', 'POST', { fingerprint: d.fingerprint })).status).toBe(200);
    expect((await call(as.operator, '/api/devices/fw-good/approve', 'POST')).status).toBe(403);
    expect((await call(as.admin, '/api/devices/fw-good/approve', 'POST')).status).toBe(200);

    expect((await call(as.support, '/api/fleet/runs', 'POST', {})).status).toBe(403);
    const started = await call<{ runId: number }>(as.operator, '/api/fleet/runs', 'POST', {});
    expect(started.status).toBe(202);
    let runBody: { status: string; tasks: { device: string; status: string }[] } = { status: 'running', tasks: [] };
    for (let i = 0; i < 200 && runBody.status === 'running'; i++) {
      runBody = (await call<typeof runBody>(as.support, `/api/fleet/runs/${started.body.runId}`)).body;
      if (runBody.status === 'running') await new Promise((r) => setTimeout(r, 100));
    }
    expect(runBody).toMatchObject({ status: 'succeeded', tasks: [{ device: 'fw-good', status: 'SUCCEEDED' }] });
    const status = await call<{ total: number; enabled: number; devices: { name: string; status: string; key: string }[] }>(as.support, '/api/fleet/status');
    expect(status.body).toMatchObject({ total: 1, enabled: 1, devices: [{ name: 'fw-good', status: 'SUCCESS', key: 'org', backup: 'Enabled' }] });
    const backups = await call<{ backups: { id: number }[] }>(as.support, '/api/devices/fw-good/backups');
    const id = backups.body.backups[0]!.id;
    const url = `/api/devices/fw-good/backups/${id}/download`;
    expect((await as.support.fetch(url)).status).toBe(403);
    const dl = await as.operator.fetch(url);
    expect(dl.status).toBe(200);
    expect(dl.headers.get('content-disposition')).toMatch(/^attachment; filename="fw-good-.*\.xml\.age"$/);
    const file = path.join(dataDir, 'downloaded.age');
    fs.writeFileSync(file, Buffer.from(await dl.arrayBuffer()));
    const idFile = path.join(dataDir, 'console-org.key');
    fs.writeFileSync(idFile, `${key.body.identity}\n`, { mode: 0o600 });
    const out = path.join(dataDir, 'downloaded.xml');
    await run$('age', ['-d', '-i', idFile, '-o', out, file]);
    expect(fs.readFileSync(out).equals(d.served.at(-1)!)).toBe(true);
    expect(await s3cmdKeys('console/')).toEqual([`console/${(backups.body.backups[0] as unknown as { objectKey: string }).objectKey}`]);

    expect((await call(as.operator, '/api/devices/fw-good', 'DELETE')).status).toBe(403);
    const refused = await call<{ error: { message: string } }>(as.admin, '/api/devices/fw-good', 'DELETE');
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/^fw-good has 1 stored backup\./);
  });

  it('the S3 secret and device passwords never appear in any answer or in the log', () => {
    const all = answers.join('\n') + server.output();
    expect(all).not.toContain(gw.secretAccessKey);
    expect(all).not.toContain('wrong-secret-key-0123456789');
    for (const d of Object.values(dev)) expect(all).not.toContain(d.password);
  });
});
