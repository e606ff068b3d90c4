import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { dataDir } from '../env';

/**
 * Random keys the appliance makes for itself at first start, each in its own
 * 0600 file under <data>/secrets. Created with O_EXCL so that two processes
 * starting together agree on one key.
 */
export function secretsDir(): string {
  return path.join(dataDir(), 'secrets');
}

export function loadOrCreateKey(name: string, bytes = 32): Buffer {
  const dir = secretsDir();
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, name);
  try {
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    try {
      fs.writeSync(fd, crypto.randomBytes(bytes).toString('base64'));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== bytes) throw new Error(`Key file ${file} is damaged (expected ${bytes} bytes)`);
  return key;
}
