import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { dataDir } from '../env';

/**
 * Random keys the appliance makes for itself at first start, each in its own
 * 0600 file under <data>/secrets. A key is written to a temporary file,
 * fsync'ed, then linked to its name (link never replaces): a crash leaves no
 * empty key under the final name, and two processes starting together agree
 * on one key.
 */
export function secretsDir(): string {
  return path.join(dataDir(), 'secrets');
}

export function loadOrCreateKey(name: string, bytes = 32): Buffer {
  const dir = secretsDir();
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) {
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    try {
      fs.writeSync(fd, crypto.randomBytes(bytes).toString('base64'));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== bytes) throw new Error(`Key file ${file} is damaged (expected ${bytes} bytes)`);
  return key;
}
