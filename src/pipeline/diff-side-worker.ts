// One side of `cpath diff` analysed on a worker thread, while the main thread analyses the other
// (issue 12: the two sides in parallel). Runs the same stages as the main thread (diff.ts,
// `analyseSide`) and sends back what the diff needs of the side: plain data (Maps, arrays,
// numbers), copied by structured clone.
import { parentPort, workerData } from 'node:worker_threads';
import { analyseSide, type SideJob, type SideReply } from './diff.js';

const job = workerData as SideJob;
analyseSide(job.opts, job.source, job.window).then(
  (r) => parentPort?.postMessage({ ok: true, run: r.run, side: r.side } satisfies SideReply),
  (e: unknown) => parentPort?.postMessage({ ok: false, name: e instanceof Error ? e.constructor.name : 'Error', message: e instanceof Error ? e.message : String(e) } satisfies SideReply),
);
