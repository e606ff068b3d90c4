// The first file a TypeScript worker thread runs (see lib/ts-worker.ts):
// tsx's CommonJS hook compiles the module named in workerData, and what it
// imports, as they load. Plain CommonJS, so that Node runs it as it is in
// every process this project has (tsx command line, vitest, the console
// under `node --import tsx` with Next's bundles).
const { workerData } = require('node:worker_threads');
require('tsx/cjs/api').register();
require(workerData.tsModule);
