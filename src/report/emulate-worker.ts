/**
 * emulateFrames in a worker thread, one chip per worker, so `neuroemu run` prices several chips
 * at once (each worker has its own WASM instance). Results are the same as in-process: the
 * emulation depends only on its inputs.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { SnnNetwork } from '../convert/snn-ir.ts';
import type { ChipRunResult, FrameResult } from '../hw/account.ts';
import { loadChip } from '../hw/chip-schema.ts';
import type { PlacementOrder } from '../hw/mapper.ts';
import { describeThrown, UserError } from '../util/errors.ts';
import { emulateFrames } from '../sim/emulate.ts';
import type { BiasOnset } from '../sim/simulator.ts';
import { withThresholdSchedule, type ThresholdSchedule } from '../tune/thresholds-file.ts';
import { stopCheck, type StopRule } from './stopping.ts';

export interface EmulateJob {
  snn: SnnNetwork;
  chip: string;
  inputs: Float32Array[];
  timesteps: number;
  seed: number;
  autoBoard: boolean;
  placement?: PlacementOrder;
  trace?: string;
  /** a two-phase threshold schedule (from a thresholds file) */
  schedule?: ThresholdSchedule;
  /** with a layer delay: when each layer's bias starts (default 'input') */
  biasOnset?: BiasOnset;
  /** per-frame stopping rule (src/report/stopping.ts) and the frames' image sizes it decodes at */
  stop?: { rule: StopRule; sizes: { width: number; height: number }[] };
}

export interface EmulateOutcome {
  totals: ChipRunResult;
  perFrame: FrameResult[];
  readouts: Float32Array[][];
}

type Msg = { kind: 'progress'; line: string } | { kind: 'done'; result: EmulateOutcome } | { kind: 'error'; user: boolean; message: string };

/** Runs one job in a new worker thread; progress lines go to onProgress. */
export function emulateInWorker(job: EmulateJob, onProgress: (line: string) => void): Promise<EmulateOutcome> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./emulate-boot.mjs', import.meta.url), { workerData: job });
    let settled = false;
    w.on('message', (m: Msg) => {
      if (m.kind === 'progress') onProgress(m.line);
      else if (m.kind === 'done') { settled = true; resolve(m.result); void w.terminate(); }
      else { settled = true; reject(m.user ? new UserError(m.message) : new Error(m.message)); void w.terminate(); }
    });
    w.on('error', (e) => { if (!settled) { settled = true; reject(e); } });
    w.on('exit', (code) => { if (!settled) reject(new Error(`emulation worker for ${job.chip} exited with code ${code}`)); });
  });
}

async function workerMain(job: EmulateJob): Promise<void> {
  const post = (m: Msg) => parentPort!.postMessage(m);
  try {
    const chip = loadChip(job.chip).params;
    const s = job.schedule;
    const em = await emulateFrames(job.snn, chip, job.inputs, {
      timesteps: job.timesteps, seed: job.seed, autoBoard: job.autoBoard, placement: job.placement, trace: job.trace, biasOnset: job.biasOnset,
      onProgress: (line) => post({ kind: 'progress', line }),
      wrap: s ? (sim) => withThresholdSchedule(sim, s) : undefined,
      stop: job.stop ? { every: job.stop.rule.every, check: stopCheck(job.stop.rule, job.snn, job.stop.sizes) } : undefined,
    });
    post({ kind: 'done', result: { totals: em.totals, perFrame: em.perFrame, readouts: em.readouts } });
  } catch (e) {
    post({ kind: 'error', user: e instanceof UserError, message: e instanceof UserError ? e.message : describeThrown(e) });
  }
}

if (!isMainThread && parentPort && workerData) void workerMain(workerData as EmulateJob);
