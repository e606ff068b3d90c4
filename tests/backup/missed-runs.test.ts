import { describe, expect, it } from 'vitest';
import { alertEvents } from '@/lib/alerts/events';
import { failingConditions } from '@/lib/alerts/conditions';
import { checkMissedRun, lastHeartbeat, writeHeartbeat } from '@/lib/backup/missed-runs';
import { db } from '@/lib/db/client';
import { alertConditions, backupRuns } from '@/lib/db/schema';

const nightly = { enabled: true, cron: '0 2 * * *', timezone: 'UTC' };
const at = (iso: string) => new Date(iso);
const condition = (key: string) => failingConditions().find((c) => c.key === key);

function reset() {
  db().delete(alertConditions).run();
  db().delete(backupRuns).run();
}

describe('scheduled backups missed while the console was down', () => {
  it('a scheduled time between the last heartbeat and the start is reported once, in words, and a scheduled start clears it', () => {
    reset();
    writeHeartbeat(at('2026-11-30T23:00:00Z'));
    expect(lastHeartbeat()).toEqual(at('2026-11-30T23:00:00Z'));
    // Down from 23:00 to 09:00: the 02:00 run never started.
    expect(checkMissedRun(nightly, at('2026-12-01T09:00:00Z'))).toEqual(at('2026-12-01T02:00:00Z'));
    const c = condition('schedule-missed');
    expect(c).toBeDefined();
    expect(JSON.parse(c!.detail!)).toMatchObject({
      what: 'A scheduled backup did not run',
      why: expect.stringContaining('2026-12-01T02:00:00.000Z'),
    });
    alertEvents.scheduledRunStarted();
    expect(condition('schedule-missed')).toBeUndefined();
  });

  it('nothing is reported when no scheduled time passed, the schedule is off, there was no heartbeat yet, or the run had started', () => {
    reset();
    writeHeartbeat(at('2026-12-01T03:00:00Z'));
    expect(checkMissedRun(nightly, at('2026-12-01T09:00:00Z'))).toBeNull();
    writeHeartbeat(at('2026-11-30T23:00:00Z'));
    expect(checkMissedRun({ ...nightly, enabled: false }, at('2026-12-01T09:00:00Z'))).toBeNull();
    // The scheduler started the 02:00 run just before the console stopped: not missed.
    db()
      .insert(backupRuns)
      .values({ trigger: 'scheduled', requestedBy: 'scheduler', status: 'failed', phase: 'preparing', startedAt: at('2026-12-01T02:00:01Z'), finishedAt: at('2026-12-01T02:00:02Z'), error: 'x' })
      .run();
    expect(checkMissedRun(nightly, at('2026-12-01T09:00:00Z'))).toBeNull();
    expect(condition('schedule-missed')).toBeUndefined();
  });
});

describe('managed device and verify events', () => {
  it('a device failure and a changed host key are conditions of their own, each cleared by a good backup of that device', () => {
    reset();
    alertEvents.deviceBackupFailed('fw1', 'connection refused', false);
    alertEvents.deviceBackupFailed('fw2', 'the host key changed', true);
    expect(JSON.parse(condition('device:fw1')!.detail!)).toMatchObject({ where: 'managed device fw1', why: 'connection refused' });
    expect(JSON.parse(condition('device-host-key:fw2')!.detail!)).toMatchObject({ what: 'The host key of managed device fw2 changed' });
    expect(condition('device:fw2')).toBeUndefined();
    alertEvents.deviceBackupSucceeded('fw2');
    expect(condition('device-host-key:fw2')).toBeUndefined();
    expect(condition('device:fw1')).toBeDefined();
    alertEvents.deviceBackupSucceeded('fw1');
    expect(failingConditions()).toEqual([]);
  });

  it('a failed verification stays failing until one passes', () => {
    reset();
    alertEvents.verifyFailed('appliance-2026-12-01.age', 'chunk 7 does not authenticate');
    alertEvents.verifyFailed('appliance-2026-12-02.age', 'chunk 9 does not authenticate');
    expect(failingConditions().map((c) => c.key)).toEqual(['verify']);
    alertEvents.verifyPassed('appliance-2026-12-03.age');
    expect(failingConditions()).toEqual([]);
  });
});
