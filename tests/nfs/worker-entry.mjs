// Runs one exported function of a TypeScript module of this folder in a worker thread (tsx compiles it): see in-worker.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

const mod = await tsImport(workerData.module, import.meta.url);
const result = await mod[workerData.fn](workerData.arg, (label) => parentPort.postMessage({ progress: label }));
parentPort.postMessage({ result });
