import fs from 'node:fs';
import path from 'node:path';
import { exists, fsyncDir, renameDurable } from './durable-fs';
import { faultPoint } from './faults';
import { writeJournal, type Journal, type JournalItem } from './journal';

/**
 * The switch: each item's live path is renamed aside and its staged
 * replacement renamed in, item by item, under the journal (journal.ts).
 * Both directions are idempotent, so recovery can run them again after a
 * crash at any instruction:
 *
 *   forward   hadLive and live present and aside absent  -> live  => aside
 *             staged present                             -> staged => live
 *   back      aside present                              -> live (the new one) => discarded, aside => live
 *             no old one (hadLive false)                 -> live (the new one) => discarded
 *
 * A database is switched only closed and checkpointed: its -wal and -shm
 * must not exist (they would replay onto the other file), and the new
 * database's -wal and -shm, if it was opened after the switch, are
 * discarded with it when switching back.
 */
const SIDE_FILES = ['-wal', '-shm'];

function isDatabase(item: JournalItem): boolean {
  return item.live.endsWith('.db');
}

export class SwitchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SwitchError';
  }
}

/** Refuses to switch a database that is still open somewhere (a -wal beside it). */
export function assertClosed(item: JournalItem): void {
  if (!isDatabase(item)) return;
  for (const side of SIDE_FILES) {
    if (exists(item.live + side) && side === '-wal' && fs.statSync(item.live + side).size > 0) {
      throw new SwitchError(`The database ${item.live} is still open in another process (its write-ahead log is not empty). Stop that process and restore again.`);
    }
    if (exists(item.staged + side)) throw new SwitchError(`The staged database ${item.staged} was not closed cleanly.`);
  }
}

function discard(p: string): void {
  if (!exists(p)) return;
  const gone = `${p}.discarded-${process.pid}-${Date.now()}`;
  fs.renameSync(p, gone);
  fsyncDir(path.dirname(p));
  fs.rmSync(gone, { recursive: true, force: true });
}

function removeSideFiles(db: string): void {
  for (const side of SIDE_FILES) fs.rmSync(db + side, { force: true });
  fsyncDir(path.dirname(db));
}

/** Switches every item to its staged replacement; the journal says 'switching' first and 'switched' at the end. */
export function switchForward(journal: Journal): Journal {
  for (const item of journal.items) {
    assertClosed(item);
    if (item.hadLive !== exists(item.live)) throw new SwitchError(`${item.live} appeared or vanished during the restore; nothing was switched.`);
    if (!exists(item.staged)) throw new SwitchError(`The staged ${item.staged} is missing; nothing was switched.`);
  }
  let j: Journal = { ...journal, phase: 'switching' };
  writeJournal(j);
  faultPoint('switch:journal');
  for (const [i, item] of j.items.entries()) {
    fs.mkdirSync(path.dirname(item.aside), { recursive: true, mode: 0o700 });
    if (item.hadLive && exists(item.live) && !exists(item.aside)) {
      // An empty -shm of a cleanly closed database may remain: it belongs to the old file.
      if (isDatabase(item)) removeSideFiles(item.live);
      renameDurable(item.live, item.aside);
    }
    faultPoint(`switch:aside:${i}`);
    if (exists(item.staged)) renameDurable(item.staged, item.live);
    faultPoint(`switch:in:${i}`);
  }
  j = { ...j, phase: 'switched' };
  writeJournal(j);
  faultPoint('switch:switched');
  return j;
}

/** Puts every item back as it was before the switch (any phase but committed). */
export function switchBack(journal: Journal): void {
  for (const item of [...journal.items].reverse()) {
    if (item.hadLive) {
      if (!exists(item.aside)) continue; // never moved: live is still the old one
      if (exists(item.live)) discard(item.live);
      if (isDatabase(item)) removeSideFiles(item.live);
      renameDurable(item.aside, item.live);
    } else if (!exists(item.staged) && exists(item.live)) {
      // There was no old one and the new one was switched in: it goes.
      discard(item.live);
      if (isDatabase(item)) removeSideFiles(item.live);
    }
  }
}
