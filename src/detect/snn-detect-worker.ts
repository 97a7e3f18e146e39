/**
 * detectImagesSnn over worker threads: the images in contiguous parts, one worker (its own WASM
 * instance) each. Every image starts from reset with the same seed, so an image's detections and
 * counts depend only on it: the parts, concatenated in order, are the serial result byte for byte.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { SnnNetwork } from '../convert/snn-ir.ts';
import type { ThresholdSchedule } from '../tune/thresholds-file.ts';
import { describeThrown, UserError } from '../util/errors.ts';
import type { SnnDetectOptions, SnnDetectResult } from './snn-detect.ts';

/** what a worker needs: the options that cross a thread (no callbacks), a two-phase schedule as data */
export interface DetectPart {
  snn: SnnNetwork;
  files: string[];
  offset: number;
  opts: Omit<SnnDetectOptions, 'onImage' | 'onCounts' | 'wrap' | 'workers'>;
  schedule?: ThresholdSchedule;
}

type Msg = { kind: 'image'; i: number; file: string } | { kind: 'done'; result: SnnDetectResult } | { kind: 'error'; user: boolean; message: string };

function runPart(part: DetectPart, onImage?: (i: number, file: string) => void): Promise<SnnDetectResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./snn-detect-boot.mjs', import.meta.url), { workerData: { neuroemuDetectPart: part } });
    let settled = false;
    w.on('message', (m: Msg) => {
      if (m.kind === 'image') onImage?.(m.i, m.file);
      else if (m.kind === 'done') { settled = true; resolve(m.result); void w.terminate(); }
      else { settled = true; reject(m.user ? new UserError(m.message) : new Error(m.message)); void w.terminate(); }
    });
    w.on('error', (e) => { if (!settled) { settled = true; reject(e); } });
    w.on('exit', (code) => { if (!settled) reject(new Error(`detection worker exited with code ${code}`)); });
  });
}

/** The images in `parts` parts in parallel; the result is the serial one (see the module comment). */
export async function detectInParts(snn: SnnNetwork, files: string[], opts: SnnDetectOptions, schedule: ThresholdSchedule | undefined, parts: number): Promise<SnnDetectResult> {
  const { onImage, onCounts, wrap: _wrap, workers: _workers, ...plain } = opts;
  const k = Math.min(parts, files.length);
  const jobs: DetectPart[] = [];
  for (let i = 0, at = 0; i < k; i++) {
    const size = Math.floor(files.length / k) + (i < files.length % k ? 1 : 0);
    jobs.push({ snn, files: files.slice(at, at + size), offset: at, opts: plain, schedule });
    at += size;
  }
  const outs = await Promise.all(jobs.map((j) => runPart(j, onImage)));
  const counts = outs.flatMap((o) => o.counts);
  counts.forEach((c, i) => onCounts?.(i, c));
  return {
    images: outs.flatMap((o) => o.images),
    checkpoints: outs[0].checkpoints.map((cp, j) => ({ tick: cp.tick, images: outs.flatMap((o) => o.checkpoints[j].images) })),
    counts,
    peakMemoryBytes: Math.max(...outs.map((o) => o.peakMemoryBytes)),
  };
}

async function workerMain(part: DetectPart): Promise<void> {
  const post = (m: Msg) => parentPort!.postMessage(m);
  try {
    const { detectImagesSnn } = await import('./snn-detect.ts');
    const { withThresholdSchedule } = await import('../tune/thresholds-file.ts');
    const s = part.schedule;
    const result = await detectImagesSnn(part.snn, part.files, {
      ...part.opts,
      onImage: (i, file) => post({ kind: 'image', i: part.offset + i, file }),
      wrap: s ? (sim) => withThresholdSchedule(sim, s) : undefined,
    });
    post({ kind: 'done', result });
  } catch (e) {
    post({ kind: 'error', user: e instanceof UserError, message: e instanceof UserError ? e.message : describeThrown(e) });
  }
}

const wd = workerData as { neuroemuDetectPart?: DetectPart } | null;
if (!isMainThread && parentPort && wd?.neuroemuDetectPart) void workerMain(wd.neuroemuDetectPart);
