import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appliance, applianceJson, webconf } from '../helpers/restore-cli';

/**
 * The restore killed (SIGKILL, no clean-up) at 20 points spread over it:
 * during verification and staging, after staging, in the middle of the
 * switch, after it and before and after the post-check. At the next start
 * the appliance has either the old state or the new one, compared row by row
 * and file by file, and says which; nothing of the restore is left behind.
 */
const DMS = 'crash test domain master secret';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-restore-crash-'));
const storage = path.join(tmp, 'storage');
const template = path.join(tmp, 'appliance');
const envOf = (dir: string, extra: Record<string, string> = {}) => ({ WEBCONF_DATA_DIR: dir, WEBCONF_APPLIANCE_NAME: 'crash-test', TEST_DMS: DMS, ...extra });
let restored: any;
let old: any;
let backupFile: string;
let n = 0;

const POINTS: [string, 'old' | 'new'][] = [
  ['stage-write#1', 'old'],
  ['stage-write#4', 'old'],
  ['verify#2', 'old'],
  ['verified', 'old'],
  ['planned', 'old'],
  ['staged', 'old'],
  ['journal-staged', 'old'],
  ['suspended', 'old'],
  ['switch:journal', 'old'],
  ['switch:aside:0', 'old'],
  ['switch:in:0', 'old'],
  ['switch:aside:1', 'old'],
  ['switch:in:1', 'old'],
  ['switch:aside:2', 'old'],
  ['switch:in:2', 'old'],
  ['switch:switched', 'old'],
  ['reopened', 'old'],
  ['post-checked', 'old'],
  ['recorded', 'old'],
  ['committed', 'new'],
];

function same(state: any, expected: any, withHistory: boolean) {
  expect(state.users).toEqual(expected.users);
  expect(state.settings).toEqual(expected.settings);
  expect(state.dms).toEqual(expected.dms);
  expect(state.firmware).toEqual(expected.firmware);
  expect(state.system).toEqual(expected.system);
  expect(state.hsm).toEqual(expected.hsm);
  if (withHistory) expect(state.history).toEqual(expected.history);
}

function leftovers(dir: string): string[] {
  const found: string[] = [];
  const restoreDir = path.join(dir, 'restore');
  for (const name of fs.existsSync(restoreDir) ? fs.readdirSync(restoreDir) : []) if (name !== 'safety') found.push(`restore/${name}`);
  for (const name of fs.readdirSync(path.join(dir, 'appliance'))) if (name.startsWith('.restore-')) found.push(`appliance/${name}`);
  for (const name of fs.readdirSync(dir)) if (name.includes('discarded')) found.push(name);
  return found;
}

beforeAll(async () => {
  fs.mkdirSync(storage);
  const env = envOf(template);
  expect((await appliance(['configure', 'a', storage], env)).code).toBe(0);
  fs.mkdirSync(path.join(template, 'appliance', 'hsm'), { recursive: true });
  fs.writeFileSync(path.join(template, 'appliance', 'hsm', 'slot.key'), 'HSM material');
  restored = (await applianceJson(['dump'], env)).state;
  backupFile = path.join(storage, (await applianceJson(['backup'], env)).fileName);
  expect((await appliance(['configure', 'b', storage], env)).code).toBe(0);
  await applianceJson(['backup'], env);
  old = (await applianceJson(['dump'], env)).state;
}, 240_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('a restore killed at any point', () => {
  it.each(POINTS)('killed at %s: comes back with the %s state and says so', async (point, expected) => {
    const dir = path.join(tmp, `run-${++n}`);
    fs.cpSync(template, dir, { recursive: true });
    const r = await webconf(['restore', backupFile, '--confirm', 'crash-test'], envOf(dir, { WEBCONF_TEST_HOOKS: '1', WEBCONF_TEST_CRASH_AT: point }));
    expect(r.signal).toBe('SIGKILL');
    const next = await applianceJson(['dump'], envOf(dir));
    if (expected === 'old') {
      same(next.state, old, true);
      expect(next.recovery).toEqual({ state: 'old', message: expect.stringMatching(/came back with the state from before the restore: nothing was restored/) });
      expect(next.restores).toEqual([expect.objectContaining({ status: 'interrupted', outcome: next.recovery.message })]);
    } else {
      same(next.state, restored, false);
      expect(next.recovery).toEqual({ state: 'new', message: expect.stringMatching(/came back with the restored state/) });
      expect(next.restores).toEqual([expect.objectContaining({ status: 'succeeded' })]);
    }
    expect(leftovers(dir)).toEqual([]);
    // A second start finds nothing more to settle.
    expect((await applianceJson(['dump'], envOf(dir))).recovery).toBeNull();
  });

  it('a post-check that fails switches back at once: the old state, in words', async () => {
    const dir = path.join(tmp, `run-${++n}`);
    fs.cpSync(template, dir, { recursive: true });
    const r = await webconf(['restore', backupFile, '--confirm', 'crash-test'], envOf(dir, { WEBCONF_TEST_HOOKS: '1', WEBCONF_TEST_FAIL_AT: 'post-check' }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed and was switched back: the console has the state from before the restore\. Why: .*post-check was made to fail/);
    const next = await applianceJson(['dump'], envOf(dir));
    expect(next.recovery).toBeNull();
    same(next.state, old, true);
    expect(next.restores).toEqual([expect.objectContaining({ status: 'rolled_back' })]);
    expect(leftovers(dir)).toEqual([]);
  });
});
