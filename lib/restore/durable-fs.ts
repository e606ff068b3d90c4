import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * File-system steps that survive a crash: a rename or a new file is durable
 * only once its folder is fsync'ed too (POSIX leaves the directory entry in
 * the page cache until then).
 */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `data` to `file` atomically: a temporary file beside it, fsync'ed, renamed over, the folder fsync'ed. */
export function writeFileDurable(file: string, data: string | Buffer, mode = 0o600): void {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, mode);
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(path.dirname(file));
}

/** rename(2) and fsync of both folders. */
export function renameDurable(from: string, to: string): void {
  fs.renameSync(from, to);
  fsyncDir(path.dirname(to));
  if (path.dirname(from) !== path.dirname(to)) fsyncDir(path.dirname(from));
}

/** fsync every regular file and folder under `root` (a staged tree before it is switched in). */
export function fsyncTree(root: string): void {
  const st = fs.lstatSync(root);
  if (st.isDirectory()) {
    for (const name of fs.readdirSync(root)) fsyncTree(path.join(root, name));
    fsyncDir(root);
  } else if (st.isFile()) {
    const fd = fs.openSync(root, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

export function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
