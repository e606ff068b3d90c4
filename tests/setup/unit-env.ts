import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

// Each unit test file gets its own data folder (database, secrets), removed afterwards.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webconf-unit-'));
process.env.WEBCONF_DATA_DIR = dir;
process.env.WEBCONF_LOG_LEVEL = 'silent';
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
