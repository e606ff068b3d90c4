import { parentPort } from 'node:worker_threads';
import { WorkerJobs } from './worker-jobs';
import type { WorkerRequest } from './worker-protocol';

/** A backup worker thread (started by backup-workers.ts through lib/ts-worker.ts): each message is one job of worker-jobs.ts. */
if (!parentPort) throw new Error('worker-thread.ts runs as a worker thread');
const port = parentPort;
const jobs = new WorkerJobs();
port.on('message', (m: WorkerRequest) => {
  const reply = jobs.handle(m);
  if (reply) port.postMessage(reply);
});
