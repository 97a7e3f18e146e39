/**
 * Prices one simulation group of a sweep: emulate the network once on the group's first chip,
 * recording a trace, then price every point of the group by replaying that trace on the point's
 * chip (src/hw/trace.ts replayTrace). All points, the first included, are priced by replay, so a
 * row's figures do not depend on which point of its group happened to be simulated (shards and
 * resumed runs give the same bytes); a replay on the recording chip reproduces the live run bit
 * for bit (tests/trace.test.ts).
 *
 * Runs in a worker thread (one WASM instance each) or, with workers 0, in the calling thread.
 */
import { rmSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { SnnNetwork } from '../convert/snn-ir.ts';
import type { ChipParams } from '../hw/chip-schema.ts';
import type { PlacementOrder } from '../hw/mapper.ts';
import { replayTraceOnChips } from '../hw/trace.ts';
import { emulateFrames } from '../sim/emulate.ts';
import { withThresholdSchedule, type ThresholdSchedule } from '../tune/thresholds-file.ts';
import { describeThrown, UserError } from '../util/errors.ts';
import { pointFigures, type PointFigures } from './results.ts';

/** points priced per pass over a trace */
export const REPLAY_BATCH = 8;

export interface GroupJob {
  snn: SnnNetwork;
  schedule?: ThresholdSchedule;
  inputs: Float32Array[];
  /** event input: each of `inputs` is a T×C×H×W spike tensor of this many ticks (emulateFrames inputEvents) */
  inputEvents?: number;
  timesteps: number;
  seed: number;
  autoBoard: boolean;
  placement: PlacementOrder;
  /** where the group's trace is written (deleted when the group is done) */
  traceFile: string;
  /** the group's points; the first one's chip is simulated */
  points: { index: number; chip: ChipParams }[];
  /** the trace was recorded already (the simulation split over workers by the caller): price only */
  recorded?: boolean;
  /** threads per tick of the simulation (emulateFrames threads; default 1) */
  threads?: number;
}

export type GroupMsg =
  | { kind: 'simulated'; readouts: Float32Array[][]; seconds: number }
  | { kind: 'priced'; index: number; figures: PointFigures; seconds: number }
  | { kind: 'refused'; reason: string }
  | { kind: 'progress'; line: string }
  | { kind: 'error'; user: boolean; message: string }
  | { kind: 'done' };

/** Simulates the group once and prices each point; every outcome goes to `post`. */
export async function priceGroup(job: GroupJob, post: (m: GroupMsg) => void): Promise<void> {
  const t0 = performance.now();
  try {
    let readouts: Float32Array[][] = [];
    if (!job.recorded) try {
      const s = job.schedule;
      const em = await emulateFrames(job.snn, job.points[0].chip, job.inputs, {
        timesteps: job.timesteps, seed: job.seed, autoBoard: job.autoBoard, placement: job.placement, trace: job.traceFile, inputEvents: job.inputEvents, threads: job.threads,
        wrap: s ? (sim) => withThresholdSchedule(sim, s) : undefined,
      });
      readouts = em.readouts;
    } catch (e) {
      // the mapper's refusal (does not fit, fan-out limits): every point of the group shares it
      if (e instanceof UserError) {
        post({ kind: 'refused', reason: e.message });
        return;
      }
      throw e;
    }
    if (!job.recorded) post({ kind: 'simulated', readouts, seconds: (performance.now() - t0) / 1000 });
    // a few points per pass over the trace (decoding it costs more than pricing it), so rows
    // still reach the results file as they are done
    for (let k = 0; k < job.points.length; k += REPLAY_BATCH) {
      const batch = job.points.slice(k, k + REPLAY_BATCH);
      const t1 = performance.now();
      const results = replayTraceOnChips(job.traceFile, batch.map((p) => p.chip));
      const seconds = (performance.now() - t1) / 1000 / batch.length;
      batch.forEach((p, i) => post({ kind: 'priced', index: p.index, figures: pointFigures(results[i]), seconds }));
    }
  } finally {
    rmSync(job.traceFile, { force: true });
  }
}

/** priceGroup in a new worker thread; resolves when the group is done. */
export function priceGroupInWorker(job: GroupJob, onMessage: (m: GroupMsg) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: job });
    let settled = false;
    const settle = (e?: Error) => {
      if (settled) return;
      settled = true;
      if (e) reject(e);
      else resolve();
      void w.terminate();
    };
    w.on('message', (m: GroupMsg) => {
      if (m.kind === 'done') settle();
      else if (m.kind === 'error') settle(m.user ? new UserError(m.message) : new Error(m.message));
      else onMessage(m);
    });
    w.on('error', (e) => settle(e));
    w.on('exit', (code) => settle(new Error(`sweep worker exited with code ${code} before finishing its group`)));
  });
}

async function workerMain(job: GroupJob): Promise<void> {
  const post = (m: GroupMsg) => parentPort!.postMessage(m);
  try {
    await priceGroup(job, post);
    post({ kind: 'done' });
  } catch (e) {
    post({ kind: 'error', user: e instanceof UserError, message: e instanceof UserError ? e.message : describeThrown(e) });
  }
}

if (!isMainThread && parentPort && workerData) void workerMain(workerData as GroupJob);
