// The ingestion worker's entry: a worker thread starts without the parent's TypeScript loader
// (on Node 20 `--import tsx` in a Worker's execArgv does not take), so it registers tsx and then
// loads the worker module, under `npm start` and under vitest alike.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
