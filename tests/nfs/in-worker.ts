import { Worker } from 'node:worker_threads';

/**
 * Runs `fn(arg, progress)`, exported by `module` (a path relative to this
 * folder), in a worker thread and returns its result. For code that might
 * never return: a loop that does not end would freeze the test's own
 * thread, while a worker is stopped after `timeoutMs` and the test fails,
 * naming the last progress label the function reported.
 */
export async function inWorker<T>(module: string, fn: string, arg: unknown, timeoutMs: number): Promise<T> {
  const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), { workerData: { module, fn, arg } });
  let last = `loading ${module}`;
  try {
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${module} ${fn}() did not finish within ${timeoutMs} ms, at: ${last}`)), timeoutMs);
      worker.on('message', (m: { progress?: string; result?: T }) => {
        if (m.progress) last = m.progress;
        if ('result' in m) {
          clearTimeout(timer);
          resolve(m.result as T);
        }
      });
      worker.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      worker.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the worker exited (code ${code}) before ${fn}() returned`));
      });
    });
  } finally {
    await worker.terminate();
  }
}
