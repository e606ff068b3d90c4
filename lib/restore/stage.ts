import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { DATABASE_MEMBER } from '../backup/archive';
import type { ManifestMember } from '../backup/manifest';
import { unsafeSegmentReason } from '../storage/paths';
import { fsyncTree } from './durable-fs';
import { faultPoint } from './faults';
import { RESTORED_FOLDERS } from './paths';

/**
 * Where each archive member goes when it is staged: firmware/… and
 * system/… under `applianceNew`, the database copy to `database`. Member
 * names come from a signed manifest but are still checked like any name
 * from outside: no "..", no absolute path, no NUL, nothing but the known
 * folders. Files are created new (O_EXCL) with mode 0600.
 */
export class StageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StageError';
  }
}

export function stagedPathOf(member: string, dirs: { applianceNew: string; database: string }): string {
  if (member === DATABASE_MEMBER) return dirs.database;
  const parts = member.split('/');
  const [top, ...rest] = parts;
  if (!(RESTORED_FOLDERS as readonly string[]).includes(top ?? '') || rest.length === 0) {
    throw new StageError(`The backup holds a member this console does not restore: ${JSON.stringify(member)}.`);
  }
  for (const seg of rest) {
    const why = seg === '' ? 'an empty path part' : unsafeSegmentReason(seg);
    if (why) throw new StageError(`The backup holds a member with an unsafe name (${why}): ${JSON.stringify(member)}.`);
  }
  return path.join(dirs.applianceNew, ...parts);
}

/** Makes the staging folders (the configuration folders exist even when the backup has no file in them). */
export function prepareStaging(dirs: { applianceNew: string; database: string }): void {
  fs.mkdirSync(path.dirname(dirs.database), { recursive: true, mode: 0o700 });
  for (const f of RESTORED_FOLDERS) fs.mkdirSync(path.join(dirs.applianceNew, f), { recursive: true, mode: 0o700 });
}

/**
 * A sink for verifyBackupFile that writes each member to its staged place, with backpressure.
 *
 * Each file, once closed, is also fsynced in the background (the thread pool, not the
 * verification's worker threads), so that the kernel writes it out while the next members
 * are decrypted; syncStaging (which fsyncs every staged file and folder before the switch)
 * then finds them clean. Nothing waits for these early fsyncs and their failures do not
 * count: syncStaging is the one that makes the staging durable, and says so when it cannot.
 * They run one at a time: each small file's fsync is a journal commit of a few ms, and a
 * backup's hundreds of small configuration files, synced all at once, took every thread of
 * the pool, so that the next files' opens and writes waited behind them (~3 ms a file here).
 */
export function stagingSink(dirs: { applianceNew: string; database: string }, opts: { faults?: boolean } = {}) {
  const written: string[] = [];
  let syncing: Promise<void> = Promise.resolve();
  const early = (file: string) => {
    syncing = syncing.then(
      () =>
        new Promise<void>((done) =>
          fs.open(file, 'r', (err, fd) => {
            if (err) return done();
            fs.fdatasync(fd, () => fs.close(fd, () => done()));
          }),
        ),
    );
  };
  const sink = async (member: ManifestMember): Promise<Writable> => {
    const file = stagedPathOf(member.path, dirs);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    written.push(file);
    let position = 0;
    let closed = false;
    return new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _enc, cb) {
        if (opts.faults !== false) faultPoint('stage-write');
        // The caller may reuse `chunk` once cb ran (verify-local's shared memory), so cb waits for all of it.
        const rest = (from: number) =>
          fs.write(fd, chunk, from, chunk.length - from, position, (err, n) => {
            if (err) return cb(err);
            if (n === 0) return cb(new Error(`no progress writing ${file}`));
            position += n;
            if (from + n < chunk.length) rest(from + n);
            else cb();
          });
        rest(0);
      },
      final(cb) {
        // The member is complete: closed at once for the sink's caller, written out later
        // through a descriptor of its own.
        closed = true;
        fs.close(fd, (err) => {
          if (!err) early(file);
          cb(err);
        });
      },
      destroy(err, cb) {
        // Once only: after final() the number may already belong to another open file.
        if (!closed) {
          closed = true;
          try {
            fs.closeSync(fd);
          } catch {
            // nothing to close
          }
        }
        cb(err);
      },
    });
  };
  return { sink, written };
}

/** Everything staged made durable before the switch. */
export function syncStaging(dirs: { applianceNew: string; database: string }): void {
  fsyncTree(dirs.applianceNew);
  fsyncTree(dirs.database);
}
