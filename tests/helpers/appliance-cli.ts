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
 */
import fs from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { dataDir } from '../../lib/env';
import { applianceIdentity, ensureApplianceFolders } from '../../lib/backup/appliance';
import { db } from '../../lib/db/client';
import { auditEvents, backupRuns, restoreRuns } from '../../lib/db/schema';
import { recoverInterruptedRestore } from '../../lib/restore/recovery';
import { backUp, configure, dumpState } from './appliance-state';

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
  } else throw new Error(`unknown command ${cmd}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
