import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannel, listChannels, removeChannel } from '@/lib/alerts/channels';
import { deliverDue } from '@/lib/alerts/deliverer';
import { saveReminderHours } from '@/lib/alerts/settings';
import { applianceRoot } from '@/lib/backup/appliance';
import { setDms } from '@/lib/backup/dms';
import { startBackup, waitForBackup } from '@/lib/backup/engine';
import { getBackupRun } from '@/lib/backup/runs';
import { db } from '@/lib/db/client';
import { alertOutbox } from '@/lib/db/schema';
import { saveStorageConfig } from '@/lib/storage/config';
import { startBlackhole, startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server';

const admin = { id: 1, name: 'admin', ip: '127.0.0.1' };
const HOUR = 3_600_000;
let storageDir: string;
let smtp: TestSmtpServer;

/** Subject lines, unfolded (RFC 5322 folds long ones). */
function subjectsOf(server: TestSmtpServer): string[] {
  return server.messages.map((m) => /^Subject: (.*)$/m.exec(m.raw.replace(/\r?\n[ \t]+/g, ' '))?.[1] ?? '');
}
const subjects = () => subjectsOf(smtp);
/** Takes the storage away (the folder is gone) or puts it back. */
function storage(present: boolean) {
  const gone = `${storageDir}.removed`;
  if (present && fs.existsSync(gone)) fs.renameSync(gone, storageDir);
  if (!present && fs.existsSync(storageDir)) fs.renameSync(storageDir, gone);
}
async function scheduledRun() {
  try {
    const run = await startBackup('scheduled', { id: null, name: 'scheduler', ip: null });
    await waitForBackup(run.id);
    return getBackupRun(run.id)!;
  } catch {
    return null; // refused at start: in the history as a failed run
  }
}

beforeAll(async () => {
  storageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-alerts-target-'));
  fs.mkdirSync(path.join(applianceRoot(), 'system'), { recursive: true });
  fs.writeFileSync(path.join(applianceRoot(), 'system', 'settings.json'), JSON.stringify({ hello: 'world' }));
  await setDms(admin, 'correct horse battery staple');
  await saveStorageConfig(admin, { type: 'local', path: storageDir });
  smtp = await startSmtpServer();
});
afterAll(async () => {
  storage(true);
  await smtp?.stop();
  fs.rmSync(storageDir, { recursive: true, force: true });
});

function mailChannel(name: string, port: number) {
  return createChannel(admin, {
    kind: 'email',
    name,
    secret: smtp.password,
    config: { host: '127.0.0.1', port, username: smtp.user, from: 'webconf@example.test', to: 'ops@example.test', trustedCa: smtp.cert.certPem },
  });
}

describe('no flood', () => {
  it('50 failing scheduled runs then a success: one failure alert, the reminders due, one recovery', async () => {
    const channel = mailChannel('Ops mail', smtp.port);
    saveReminderHours(24, 'admin');
    storage(false);
    // The clock the deliverer sees: one scheduled run an hour, 50 hours in all.
    const start = Date.now();
    for (let i = 0; i < 50; i++) {
      const run = await scheduledRun();
      expect(run?.status ?? 'failed').toBe('failed');
      await deliverDue(() => new Date(start + i * HOUR));
    }
    storage(true);
    const ok = await scheduledRun();
    expect(ok!.status).toBe('succeeded');
    await deliverDue(() => new Date(start + 50 * HOUR));

    const backup = subjects().filter((s) => / (FAILING|STILL FAILING|RECOVERED): (A scheduled backup did not start|Backups work again)/.test(s));
    expect(backup.map((s) => /\] ([A-Z ]+):/.exec(s)![1])).toEqual(['FAILING', 'STILL FAILING', 'STILL FAILING', 'RECOVERED']);
    // The storage location's own condition: the same shape (unavailable at the first run, back at the success).
    const store = subjects().filter((s) => /storage location is (unavailable|available again)/.test(s));
    expect(store.map((s) => /\] ([A-Z ]+):/.exec(s)![1])).toEqual(['FAILING', 'STILL FAILING', 'STILL FAILING', 'RECOVERED']);
    expect(smtp.messages).toHaveLength(8);
    // Each says what, where, when, why and what to do.
    const first = smtp.messages[0]!.raw;
    expect(first).toMatch(/Where: appliance \S+/);
    expect(first).toMatch(/When: \d{4}-\d\d-\d\dT/);
    expect(first).toMatch(/Why: /);
    expect(first).toMatch(/What to do: /);
    const recovery = smtp.messages.find((m) => /RECOVERED: Backups work again/.test(m.raw))!.raw;
    expect(recovery).toMatch(/Failing since: .* \(\d+ (min|h)/);
    removeChannel(admin, channel.id);
  });
});

describe('an unreachable channel', () => {
  it('does not hold a backup up, and its alerts are delivered once it is back', async () => {
    smtp.messages.length = 0;
    const hole = await startBlackhole();
    const channel = mailChannel('Mail that hangs', hole.port);
    try {
      storage(false);
      expect((await scheduledRun())?.status ?? 'failed').toBe('failed');
      storage(true);
      // The deliverer is at work on the hanging server while the next backup runs.
      let delivering = true;
      const pass = deliverDue().finally(() => (delivering = false));
      await new Promise((r) => setTimeout(r, 200));
      expect(hole.connections()).toBeGreaterThan(0);
      const t0 = performance.now();
      const run = await scheduledRun();
      const withDown = performance.now() - t0;
      expect(run!.status).toBe('succeeded');
      // The backup ended while the delivery was still waiting for the server's first word.
      expect(delivering).toBe(true);
      await pass;
      const ch = listChannels().find((c) => c.id === channel.id)!;
      expect(ch.lastError).toMatch(/^Could not connect to 127\.0\.0\.1:\d+: no answer \(timed out\)\.$|greeting|timed out/);
      const pending = db().select().from(alertOutbox).where(eq(alertOutbox.channelId, channel.id)).all();
      expect(pending.every((r) => r.status === 'pending')).toBe(true);
      expect(pending.length).toBeGreaterThanOrEqual(2);

      // A figure for the README, not an assertion: the same backup with no alert delivery going on.
      const t1 = performance.now();
      await scheduledRun();
      console.log(`backup with the channel hanging: ${withDown.toFixed(0)} ms; with no delivery in progress: ${(performance.now() - t1).toFixed(0)} ms`);

      // The server comes back on the same port: after the back-off, everything queued arrives in order.
      await hole.stop();
      const back = await startSmtpServer({ port: hole.port, user: smtp.user, password: smtp.password });
      try {
        // The channel trusts the first server's certificate: give it the new one (an edit keeps the password).
        const { updateChannel } = await import('@/lib/alerts/channels');
        updateChannel(admin, channel.id, {
          kind: 'email',
          name: 'Mail that hangs',
          config: { host: '127.0.0.1', port: hole.port, username: smtp.user, from: 'webconf@example.test', to: 'ops@example.test', trustedCa: back.cert.certPem },
        });
        const report = await deliverDue(() => new Date(Date.now() + HOUR));
        expect(report.failed).toBe(0);
        const got = subjectsOf(back);
        expect(got.some((s) => /FAILING: A scheduled backup did not start/.test(s))).toBe(true);
        expect(got.some((s) => /RECOVERED: Backups work again/.test(s))).toBe(true);
        expect(listChannels().find((c) => c.id === channel.id)!).toMatchObject({ lastError: null, consecutiveFailures: 0 });
      } finally {
        await back.stop();
      }
    } finally {
      await hole.stop().catch(() => undefined);
    }
  }, 90_000);
});
