import fs from 'node:fs';
import path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread that runs one of this project's TypeScript modules.
 *
 * Node cannot start a .ts file as a worker, even with tsx in execArgv
 * ("Unknown file extension .ts" on Node 20), so the worker starts a tiny
 * CommonJS file, ts-worker-boot.cjs, which registers tsx's CommonJS hook
 * (tsx is a dependency: the console runs under it) and then requires the
 * module. The module is an ordinary, type-checked file that tests import too.
 *
 * Both files are found from the current folder, the project's root, as
 * lib/db/client.ts finds its migrations: inside Next's server bundle
 * __dirname and import.meta.url do not point at the sources (and the
 * bundler is told not to follow these paths: it would bundle tsx and
 * esbuild's binary into the server). The worker gets
 * no execArgv of ours (a parent's --import tsx would only slow its start).
 */
const BOOT = path.join('lib', 'ts-worker-boot.cjs');

/** `tsModule`: the module's path from the project's root, e.g. "lib/backup/worker-thread.ts". */
export function startTsWorker(tsModule: string, options: Omit<WorkerOptions, 'eval' | 'execArgv' | 'workerData'> = {}): Worker {
  // Not for the bundler to follow: these files run in the worker, under tsx, as they are.
  const boot = path.join(/*turbopackIgnore: true*/ process.cwd(), BOOT);
  const file = path.join(/*turbopackIgnore: true*/ process.cwd(), tsModule);
  for (const f of [boot, file]) {
    if (!fs.existsSync(f)) throw new Error(`Cannot start a worker thread: ${f} is missing (the console starts from its own folder).`);
  }
  return new Worker(boot, { ...options, execArgv: [], workerData: { tsModule: file } });
}
