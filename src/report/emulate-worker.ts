/**
 * emulateFrames in worker threads (each its own WASM instance): `neuroemu run` prices several
 * chips at once, and the frames of one chip in parts, one worker each (emulateSplit). Results are
 * those of one in-process emulation, byte for byte: every frame starts from reset with the same
 * seed, so a frame depends only on its input, and the parts' accountants are merged in frame order
 * (Accountant.absorb), their traces joined frame by frame (concatTraces).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { SnnNetwork } from '../convert/snn-ir.ts';
import { Accountant, type AccountantState, type AccountGeometry, type ChipRunResult, type FrameResult } from '../hw/account.ts';
import { rmSync } from 'node:fs';
import { loadChip, type ChipParams } from '../hw/chip-schema.ts';
import { concatTraces } from '../hw/trace.ts';
import type { PlacementOrder } from '../hw/mapper.ts';
import { describeThrown, UserError } from '../util/errors.ts';
import { collectGarbage } from '../util/gc.ts';
import { emulateFrames, type TickFigures } from '../sim/emulate.ts';
import type { BiasOnset } from '../sim/simulator.ts';
import { withThresholdSchedule, type ThresholdSchedule } from '../tune/thresholds-file.ts';
import { stopCheck, type StopRule } from './stopping.ts';

export interface EmulateJob {
  snn: SnnNetwork;
  /** the chip as named (loadChip) or its parameters (e.g. a sweep point's) */
  chip: string | ChipParams;
  inputs: Float32Array[];
  /** event input: each of `inputs` is a T×C×H×W spike tensor of this many ticks (emulateFrames inputEvents) */
  inputEvents?: number;
  timesteps: number;
  seed: number;
  autoBoard: boolean;
  placement?: PlacementOrder;
  trace?: string;
  /** a two-phase threshold schedule (from a thresholds file) */
  schedule?: ThresholdSchedule;
  /** with a layer delay: when each layer's bias starts (default 'input') */
  biasOnset?: BiasOnset;
  /** per-frame stopping rule (src/report/stopping.ts) and the frames' image sizes it decodes at (every frame of the run) */
  stop?: { rule: StopRule; sizes: { width: number; height: number }[] };
  /** ticks at which to read each frame's energy and latency so far (emulateFrames tickStops) */
  tickStops?: number[];
  /** this job is frames offset.. of a run of framesInRun frames (emulateSplit) */
  frameOffset?: number;
  framesInRun?: number;
  /** threads per tick in the worker (emulateFrames threads; default 1) */
  threads?: number;
}

export interface EmulateOutcome {
  totals: ChipRunResult;
  perFrame: FrameResult[];
  readouts: Float32Array[][];
  state: AccountantState;
  geometry: AccountGeometry;
  notes: string[];
  atTicks?: TickFigures[][];
}

/**
 * One chip's frames in `parts` contiguous parts, each in its own worker, at most `lanes(...)` at
 * a time as the caller schedules them; the outcome is that of one emulation of all the frames
 * (see the module comment), its trace too.
 */
export async function emulateSplit(job: EmulateJob, parts: number, run: (part: EmulateJob) => Promise<EmulateOutcome>): Promise<EmulateOutcome> {
  const n = job.inputs.length;
  const k = Math.max(1, Math.min(parts, n));
  if (k === 1) return run(job);
  const jobs: EmulateJob[] = [];
  for (let i = 0, at = 0; i < k; i++) {
    const size = Math.floor(n / k) + (i < n % k ? 1 : 0);
    // a trace: each part records its own, joined in frame order below (the bytes of one writer)
    jobs.push({ ...job, inputs: job.inputs.slice(at, at + size), frameOffset: at, framesInRun: n, trace: job.trace ? `${job.trace}.part${i + 1}of${k}` : undefined });
    at += size;
  }
  let outs: EmulateOutcome[];
  try {
    outs = await Promise.all(jobs.map(run));
    if (job.trace) concatTraces(jobs.map((j) => j.trace!), job.trace);
  } finally {
    for (const j of jobs) if (j.trace) rmSync(j.trace, { force: true });
  }
  const acc = new Accountant(chipOf(job), outs[0].geometry);
  for (const o of outs) acc.absorb(o.state);
  const fill = outs[0].totals.fill_ticks;
  const totals = acc.result({ timesteps: job.timesteps, fillTicks: fill, seed: job.seed, notes: outs[0].notes });
  return {
    totals, perFrame: outs.flatMap((o) => o.perFrame), readouts: outs.flatMap((o) => o.readouts),
    state: acc.state(), geometry: outs[0].geometry, notes: outs[0].notes,
    ...(job.tickStops ? { atTicks: outs.flatMap((o) => o.atTicks ?? []) } : {}),
  };
}

type Msg = { kind: 'progress'; line: string } | { kind: 'done'; result: EmulateOutcome } | { kind: 'error'; user: boolean; message: string };

/** Runs one job in a new worker thread; progress lines go to onProgress. */
export function emulateInWorker(job: EmulateJob, onProgress: (line: string) => void): Promise<EmulateOutcome> {
  // what this thread dropped before (the ANN's activations, calibration) goes before the workers grow
  collectGarbage();
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./emulate-boot.mjs', import.meta.url), { workerData: job });
    let settled = false;
    w.on('message', (m: Msg) => {
      if (m.kind === 'progress') onProgress(m.line);
      else if (m.kind === 'done') { settled = true; resolve(m.result); void w.terminate(); }
      else { settled = true; reject(m.user ? new UserError(m.message) : new Error(m.message)); void w.terminate(); }
    });
    w.on('error', (e) => { if (!settled) { settled = true; reject(e); } });
    w.on('exit', (code) => { if (!settled) reject(new Error(`emulation worker for ${chipLabel(job)} exited with code ${code}`)); });
  });
}

const chipOf = (job: EmulateJob): ChipParams => (typeof job.chip === 'string' ? loadChip(job.chip).params : job.chip);
const chipLabel = (job: EmulateJob): string => (typeof job.chip === 'string' ? job.chip : job.chip.variant ? `${job.chip.name}@${job.chip.variant}` : job.chip.name);

async function workerMain(job: EmulateJob): Promise<void> {
  const post = (m: Msg) => parentPort!.postMessage(m);
  try {
    const chip = chipOf(job);
    const s = job.schedule;
    const em = await emulateFrames(job.snn, chip, job.inputs, {
      timesteps: job.timesteps, seed: job.seed, autoBoard: job.autoBoard, placement: job.placement, trace: job.trace, biasOnset: job.biasOnset,
      frameOffset: job.frameOffset, framesInRun: job.framesInRun, tickStops: job.tickStops, inputEvents: job.inputEvents, threads: job.threads,
      onProgress: (line) => post({ kind: 'progress', line }),
      wrap: s ? (sim) => withThresholdSchedule(sim, s) : undefined,
      stop: job.stop ? { every: job.stop.rule.every, check: stopCheck(job.stop.rule, job.snn, job.stop.sizes) } : undefined,
    });
    post({ kind: 'done', result: { totals: em.totals, perFrame: em.perFrame, readouts: em.readouts, state: em.state, geometry: em.geometry, notes: em.notes, atTicks: em.atTicks } });
  } catch (e) {
    post({ kind: 'error', user: e instanceof UserError, message: e instanceof UserError ? e.message : describeThrown(e) });
  }
}

if (!isMainThread && parentPort && workerData) void workerMain(workerData as EmulateJob);
