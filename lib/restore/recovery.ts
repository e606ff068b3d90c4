import fs from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { audit } from '../audit/audit';
import { applianceRoot } from '../backup/appliance';
import { db } from '../db/client';
import { restoreRuns } from '../db/schema';
import { log } from '../log';
import { exists } from './durable-fs';
import { readJournal, removeJournal } from './journal';
import { restoreOwnerAlive } from './owner';
import { APPLIANCE_WORK_PREFIX, ownerFile, restoreRoot, WORK_PREFIX } from './paths';
import { finishCommitted } from './restore';
import { switchBack } from './switch';

/**
 * At start-up, before the database is opened: a restore the process did
 * not finish is settled from its journal alone (journal.ts) — committed:
 * the new state stays and its clean-up finishes; any other phase: every item
 * is switched back and the old state stays. Work folders no journal refers to
 * are removed (a restore killed while verifying or staging). Then the
 * restore's row says what happened, in the state that is now live, and the
 * answer is logged: the console says which state it came back with and why.
 */
export type RestoreRecovery = { state: 'old' | 'new'; message: string } | null;

const PHASE_WORDS: Record<string, string> = {
  staged: 'after the backup was verified and staged, before anything live was switched',
  switching: 'in the middle of switching the database and configuration folders',
  switched: 'after the switch, before the restored state had passed its check',
};

function removeOrphans(): void {
  for (const [dir, prefix] of [
    [restoreRoot(), WORK_PREFIX],
    [applianceRoot(), APPLIANCE_WORK_PREFIX],
  ] as const) {
    for (const name of exists(dir) ? fs.readdirSync(dir) : []) {
      if (name.startsWith(prefix)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    }
  }
}

/** Settles the files; call before the database is first opened. */
export function recoverRestoreFiles(): { state: 'old' | 'new'; journalPhase: string; fileName: string; oldRowId: number | null; newRowId: number | null } | null {
  const j = readJournal();
  let answer = null;
  if (j) {
    if (j.phase === 'committed') finishCommitted(j);
    else {
      switchBack(j);
      removeJournal();
    }
    answer = { state: j.phase === 'committed' ? ('new' as const) : ('old' as const), journalPhase: j.phase, fileName: j.fileName, oldRowId: j.oldRowId, newRowId: j.newRowId };
  }
  removeOrphans();
  return answer;
}

/** Files first, then the rows: the full start-up recovery. */
export function recoverInterruptedRestore(): RestoreRecovery {
  // A restore another live process is running is not interrupted: leave it alone.
  if (restoreOwnerAlive()) return null;
  fs.rmSync(ownerFile(), { force: true });
  const files = recoverRestoreFiles();
  const system = { id: null, name: 'system', ip: null };
  let result: RestoreRecovery = null;
  if (files?.state === 'new') {
    const message = `The console stopped after the restore of ${files.fileName} was committed; it came back with the restored state and finished cleaning up.`;
    result = { state: 'new', message };
    audit(system, 'backup.restore.recover', 'success', { target: files.fileName, detail: { state: 'new' } });
  }
  // Any row still running belongs to a restore whose process is gone.
  const stale = db().select().from(restoreRuns).where(eq(restoreRuns.status, 'running')).all();
  for (const row of stale) {
    const when = files && files.state === 'old' && files.oldRowId === row.id ? PHASE_WORDS[files.journalPhase] : `while ${row.phase === 'verifying' ? 'verifying the backup' : row.phase}, before anything live was switched`;
    const message = `The console stopped during the restore of ${row.fileName} (${when}). It came back with the state from before the restore: nothing was restored. Start the restore again.`;
    db().update(restoreRuns).set({ status: 'interrupted', phase: 'done', finishedAt: new Date(), outcome: message, error: 'the process ended' }).where(eq(restoreRuns.id, row.id)).run();
    audit(system, 'backup.restore.recover', 'success', { target: row.fileName, detail: { state: 'old' } });
    result = { state: 'old', message };
  }
  if (result) log.warn({ event: 'restore.recovered', state: result.state }, result.message);
  return result;
}
