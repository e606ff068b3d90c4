import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { db } from '@/lib/db/client';
import { checkDms, dmsInfo, isDmsSet, setDms, unsealDms } from '@/lib/backup/dms';
import { dataDir } from '@/lib/env';
import { recentAuditEvents } from '@/lib/audit/audit';

const actor = { id: 1, name: 'admin', ip: '127.0.0.1' };
const DMS = 'the appliance master secret 1';

describe('Domain Master Secret', () => {
  it('is set once, by exactly one of two concurrent requests', async () => {
    expect(isDmsSet()).toBe(false);
    const results = await Promise.allSettled([setDms(actor, DMS), setDms(actor, 'another secret 22')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason.message).toMatch(/already set/);
    expect(dmsInfo()).toMatchObject({ set: true, setBy: 'admin' });
  });

  it('refuses a second set attempt and keeps the first secret', async () => {
    const before = unsealDms();
    await expect(setDms(actor, 'a brand new secret')).rejects.toThrow(/already set\. It cannot be changed or deleted/);
    expect(unsealDms()).toBe(before);
  });

  it('cannot be changed or deleted in the database itself', () => {
    const sqlite = db().$client;
    expect(() => sqlite.prepare("update domain_master_secret set sealed = 'x'").run()).toThrow(/cannot be changed/);
    expect(() => sqlite.prepare('delete from domain_master_secret').run()).toThrow(/cannot be deleted/);
    expect(() => sqlite.prepare("insert into domain_master_secret values (2, 'v', 's', 0, 'x')").run()).toThrow(/already set/);
    expect(() => sqlite.prepare("insert or replace into domain_master_secret values (1, 'v', 's', 0, 'x')").run()).toThrow();
    expect(sqlite.prepare('select count(*) as n from domain_master_secret').get()).toEqual({ n: 1 });
  });

  it('is never stored or logged in clear', async () => {
    const secret = unsealDms();
    db().$client.pragma('wal_checkpoint(TRUNCATE)');
    for (const f of fs.readdirSync(dataDir()).filter((f) => f.startsWith('webconf.db'))) {
      expect(fs.readFileSync(path.join(dataDir(), f)).includes(Buffer.from(secret))).toBe(false);
    }
    expect(JSON.stringify(recentAuditEvents())).not.toContain(secret);
    // Its verifier costs as much to attack as a backup's key (scrypt logN 18).
    expect((db().$client.prepare('select verifier from domain_master_secret').get() as { verifier: string }).verifier).toMatch(/^scrypt\$18\$8\$1\$/);
    expect(await checkDms(secret)).toBe(true);
    expect(await checkDms('not the secret')).toBe(false);
  });
});
