/**
 * A command for restore tests to drive an appliance's data folder from a
 * child process (each appliance is its own process: its own data folder,
 * keys and identity), through the console's own code:
 *
 *   tsx tests/helpers/appliance-cli.ts configure VARIANT STORAGE_DIR   (DMS from TEST_DMS)
 *   tsx tests/helpers/appliance-cli.ts backup                          prints {"fileName","checksum","id"}
 *   tsx tests/helpers/appliance-cli.ts dump                            settles a restore like a start would, prints the state
 *   tsx tests/helpers/appliance-cli.ts hold backup|restore|release      a running backup or restore row, as another process would hold
 *   tsx tests/helpers/appliance-cli.ts newer-schema                    records a migration this console does not know
 *   tsx tests/helpers/appliance-cli.ts storage URL                     the storage location (nfs://…, file://…), probed as the page does
 *   tsx tests/helpers/appliance-cli.ts big MIB                         a large random firmware file (a backup that takes a while to read)
 *   tsx tests/helpers/appliance-cli.ts restore-storage FILE NAME       restores FILE from the configured storage, as the Backup page does
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { dataDir } from '../../lib/env';
import { applianceIdentity, applianceRoot, ensureApplianceFolders } from '../../lib/backup/appliance';
import { db } from '../../lib/db/client';
import { auditEvents, backupRuns, restoreRuns } from '../../lib/db/schema';
import { recoverInterruptedRestore } from '../../lib/restore/recovery';
import { runRestore } from '../../lib/restore/restore';
import { saveStorageConfig } from '../../lib/storage/config';
import { ACTOR, backUp, configure, dumpState } from './appliance-state';

async function main() {
  const [cmd, a, b] = process.argv.slice(2);
  if (cmd === 'configure') {
    ensureApplianceFolders();
    await configure(a!, { storageDir: b!, dms: process.env.TEST_DMS! });
    applianceIdentity();
  } else if (cmd === 'backup') {
    process.stdout.write(JSON.stringify(await backUp()));
  } else if (cmd === 'dump') {
    const recovery = recoverInterruptedRestore();
    const audit = db().select().from(auditEvents).all();
    process.stdout.write(JSON.stringify({ recovery, state: dumpState(), restores: db().select().from(restoreRuns).all(), auditActions: audit.map((e) => `${e.action}:${e.outcome}`), applianceId: applianceIdentity().id }));
  } else if (cmd === 'hold') {
    if (a === 'backup') db().insert(backupRuns).values({ trigger: 'manual', requestedBy: 'other process', status: 'running', phase: 'writing', startedAt: new Date() }).run();
    else if (a === 'restore') {
      // Owned by a process that is alive (the test's), as a restore running elsewhere would be.
      fs.mkdirSync(path.join(dataDir(), 'restore'), { recursive: true });
      fs.writeFileSync(path.join(dataDir(), 'restore', 'owner.pid'), `${b}\n`);
      db().insert(restoreRuns).values({ status: 'running', phase: 'verifying', source: 'file', sourceLabel: 'elsewhere', fileName: 'x.tar.age', requestedBy: 'other process', startedAt: new Date() }).run();
    } else {
      db().delete(backupRuns).where(eq(backupRuns.requestedBy, 'other process')).run();
      db().delete(restoreRuns).where(eq(restoreRuns.requestedBy, 'other process')).run();
    }
  } else if (cmd === 'newer-schema') {
    db().$client.prepare('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)').run('from-a-newer-console', Date.now() + 86_400_000);
  } else if (cmd === 'storage') {
    await saveStorageConfig(ACTOR, a!.startsWith('nfs://') ? { type: 'nfs', url: a! } : { type: 'local', path: a!.replace(/^file:\/\//, '') });
  } else if (cmd === 'big') {
    const file = path.join(applianceRoot(), 'firmware', 'image.bin');
    const fd = fs.openSync(file, 'w');
    for (let i = 0; i < Number(a); i++) fs.writeSync(fd, crypto.randomBytes(1 << 20));
    fs.closeSync(fd);
  } else if (cmd === 'restore-storage') {
    try {
      const r = await runRestore({ source: { kind: 'storage', fileName: a! }, actor: ACTOR, confirm: b! });
      process.stdout.write(JSON.stringify({ ok: true, outcome: r.outcome }));
    } catch (err) {
      process.stdout.write(JSON.stringify({ ok: false, error: (err as Error).message }));
    }
  } else throw new Error(`unknown command ${cmd}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
