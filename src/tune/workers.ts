/**
 * Parallel evaluation of threshold candidates: a pool of worker_threads, each with its own WASM
 * instance of the SNN core, or the same code in-process (`workers: 0`, used by tests and as the
 * fallback).
 *
 * A job is one image simulated with one threshold assignment: the pool hands (candidate, image)
 * jobs to whichever worker is free, so cheap and expensive candidates balance out. Each worker
 * keeps the simulators of its last two candidates (building one packs the weights once). Results
 * depend only on the job, never on which worker ran it or when, so the tuner stays deterministic.
 *
 * Under tsx a worker cannot start from a .ts file (ERR_UNKNOWN_FILE_EXTENSION): workers boot from
 * ./worker-boot.mjs, which registers tsx and imports this module; the `isMainThread` guard at the
 * bottom then starts the worker loop.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { SnnNetwork } from '../convert/snn-ir.ts';
import { detectFromReadouts } from '../detect/snn-detect.ts';
import type { Detection } from '../detect/types.ts';
import { createSimulatorSync, type Simulator, type SnnEngineKind } from '../sim/simulator.ts';
import { describeThrown } from '../util/errors.ts';
import { scaleNetwork, thresholdSchedule, withThresholdSchedule, type ThresholdAssignment } from './thresholds-file.ts';

/** An image decoded and preprocessed once, on the main thread. */
export interface PreparedImage {
  file: string;
  width: number;
  height: number;
  /** the network's preprocessed input, C×H×W */
  input: Float32Array;
}

/** What every worker gets once. */
export interface EvalSetup {
  /** the untuned network the assignments are applied to */
  snn: SnnNetwork;
  /** named image sets (e.g. calib, holdout) */
  sets: Record<string, PreparedImage[]>;
  /** score threshold of the SNN's candidate detections */
  candidateThreshold: number;
  engine: SnnEngineKind;
  /** simulator seed (Poisson input only) */
  seed: number;
}

/** One simulation: an image set and index, an assignment (null: the untuned network), ticks. */
export interface ImageJob {
  /** identifies the assignment (simulator cache key) */
  key: string;
  assignment: ThresholdAssignment | null;
  set: string;
  image: number;
  timesteps: number;
  /** checkpoint ticks (ascending, within 1..timesteps; the last tick is added) */
  checkpoints: number[];
}

/** Detections and cumulative SOPs of one image at each checkpoint tick. */
export interface ImageRun {
  file: string;
  width: number;
  height: number;
  ticks: number[];
  detections: Detection[][];
  /** synaptic operations since tick 0, at each checkpoint */
  sops: number[];
  simSeconds: number;
}

/** Builds simulators for assignments and runs jobs; the same in a worker and in-process. */
export class JobRunner {
  private readonly cache: { key: string; sim: Simulator }[] = [];

  constructor(private readonly setup: EvalSetup) {}

  private simulator(job: ImageJob): Simulator {
    const hit = this.cache.find((c) => c.key === job.key);
    if (hit) return hit.sim;
    const base = this.setup.snn;
    const net = job.assignment ? scaleNetwork(base, job.assignment) : base;
    const schedule = job.assignment ? thresholdSchedule(base, job.assignment) : undefined;
    const sim = withThresholdSchedule(createSimulatorSync(net, { engine: this.setup.engine, seed: this.setup.seed }), schedule);
    this.cache.unshift({ key: job.key, sim });
    this.cache.length = Math.min(this.cache.length, 2);
    return sim;
  }

  run(job: ImageJob): ImageRun {
    const t0 = performance.now();
    const img = this.setup.sets[job.set]?.[job.image];
    if (!img) throw new Error(`no image ${job.set}[${job.image}]`);
    const sim = this.simulator(job);
    const T = job.timesteps;
    const ticks = [...new Set([...job.checkpoints.filter((c) => Number.isInteger(c) && c >= 1 && c <= T), T])].sort((a, b) => a - b);
    const detections: Detection[][] = [];
    const sops: number[] = [];
    sim.reset(img.input);
    sim.runWithCheckpoints(T, ticks, (_tick, raws) => {
      detections.push(detectFromReadouts(this.setup.snn, raws, img.width, img.height, this.setup.candidateThreshold));
      sops.push(sim.counts().totals.sops);
    });
    return { file: img.file, width: img.width, height: img.height, ticks, detections, sops, simSeconds: (performance.now() - t0) / 1000 };
  }
}

type ToWorker = { type: 'job'; id: number; job: ImageJob } | { type: 'exit' };
type FromWorker = { type: 'ready' } | { type: 'done'; id: number; run: ImageRun } | { type: 'error'; id: number; message: string };

interface Slot {
  worker: Worker;
  busy: boolean;
}

/**
 * Runs image jobs on `workers` threads (0: in-process, one at a time). `runJobs` resolves with the
 * results in job order.
 */
export class EvalPool {
  private readonly slots: Slot[] = [];
  private readonly queue: { id: number; job: ImageJob }[] = [];
  private readonly pending = new Map<number, { resolve: (r: ImageRun) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private local: JobRunner | undefined;
  private failed: Error | undefined;

  private constructor(readonly setup: EvalSetup) {}

  get workers(): number {
    return this.slots.length;
  }

  static async create(setup: EvalSetup, opts: { workers: number }): Promise<EvalPool> {
    const pool = new EvalPool(setup);
    const n = Math.max(0, Math.floor(opts.workers));
    if (n === 0) {
      pool.local = new JobRunner(setup);
      return pool;
    }
    const boot = new URL('./worker-boot.mjs', import.meta.url);
    await Promise.all(
      Array.from({ length: n }, () =>
        new Promise<void>((resolve, reject) => {
          const worker = new Worker(boot, { workerData: { neuroemuTuneWorker: true, setup } });
          const slot: Slot = { worker, busy: false };
          let ready = false;
          worker.on('message', (m: FromWorker) => {
            if (m.type === 'ready') {
              ready = true;
              pool.slots.push(slot);
              resolve();
              return;
            }
            slot.busy = false;
            const p = pool.pending.get(m.id);
            pool.pending.delete(m.id);
            if (m.type === 'done') p?.resolve(m.run);
            else p?.reject(new Error(m.message));
            pool.dispatch();
          });
          worker.on('error', (e) => {
            const err = new Error(`tune worker failed: ${describeThrown(e)}`);
            if (!ready) reject(err);
            pool.fail(err);
          });
          worker.on('exit', (code) => {
            if (code !== 0 && !pool.closing) pool.fail(new Error(`tune worker exited with code ${code}`));
          });
        }),
      ),
    );
    return pool;
  }

  private closing = false;

  private fail(e: Error): void {
    if (this.closing) return;
    this.failed ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.queue.length = 0;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const next = this.queue.shift();
      if (!next) return;
      slot.busy = true;
      slot.worker.postMessage({ type: 'job', id: next.id, job: next.job } satisfies ToWorker);
    }
  }

  /** Runs one job. */
  run(job: ImageJob): Promise<ImageRun> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.local) {
      try {
        return Promise.resolve(this.local.run(job));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    const id = this.nextId++;
    const p = new Promise<ImageRun>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.queue.push({ id, job });
    this.dispatch();
    return p;
  }

  /** Runs many jobs (in parallel where there are workers); results in job order. */
  runJobs(jobs: ImageJob[]): Promise<ImageRun[]> {
    return Promise.all(jobs.map((j) => this.run(j)));
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}

/** The worker side: build a runner from workerData, answer jobs until told to exit. */
function workerMain(): void {
  const port = parentPort!;
  const runner = new JobRunner((workerData as { setup: EvalSetup }).setup);
  port.on('message', (m: ToWorker) => {
    if (m.type === 'exit') {
      process.exit(0);
    }
    try {
      port.postMessage({ type: 'done', id: m.id, run: runner.run(m.job) } satisfies FromWorker);
    } catch (e) {
      port.postMessage({ type: 'error', id: m.id, message: describeThrown(e) } satisfies FromWorker);
    }
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}

if (!isMainThread && (workerData as { neuroemuTuneWorker?: boolean } | null)?.neuroemuTuneWorker) workerMain();
