/**
 * SNN detection over image files: each image is simulated for T ticks in one run; at every
 * checkpoint tick the readout (membrane/t · λ) goes through the same YOLO decoding as the ANN,
 * so the accuracy-against-ticks curve costs one simulation.
 */
import type { SnnNetwork } from '../convert/snn-ir.ts';
import { loadImage } from '../image/decode.ts';
import { preprocess } from '../image/preprocess.ts';
import type { SimCounts, Simulator } from '../sim/simulator.ts';
import { createSimulator, type SnnEngineKind } from '../sim/simulator.ts';
import { withThresholdSchedule, type ThresholdSchedule } from '../tune/thresholds-file.ts';
import { detectFromOutputs } from './decode.ts';
import type { Detection, ImageDetections } from './types.ts';

export interface SnnDetectOptions {
  timesteps: number;
  /** ticks at which to decode (the final tick is always included) */
  checkpoints?: number[];
  threshold?: number;
  engine?: SnnEngineKind;
  seed?: number;
  onImage?: (i: number, file: string) => void;
  /** called after each image with its counts (e.g. to accumulate energy) */
  onCounts?: (i: number, counts: SimCounts) => void;
  /** wraps the simulator, e.g. to follow a two-phase threshold schedule (src/tune/thresholds-file.ts) */
  wrap?: (sim: Simulator) => Simulator;
  /**
   * worker threads for the images (default 1: this thread). A `wrap` cannot cross a thread: give
   * the two-phase schedule it follows as `schedule` instead (or the images run here). The result
   * does not depend on it.
   */
  workers?: number;
  schedule?: ThresholdSchedule;
}

export interface SnnDetectResult {
  /** detections at the final tick */
  images: ImageDetections[];
  /** per checkpoint tick (ascending, the final tick last): detections per image */
  checkpoints: { tick: number; images: ImageDetections[] }[];
  /** spike/SOP counts per image (at the final tick) */
  counts: SimCounts[];
  peakMemoryBytes: number;
}

/**
 * Decodes a simulator's readouts (one per `snn.readouts` entry, C×H×W) into detections: each
 * readout stands in for the output of the conv feeding its head, then the ANN's decoding runs.
 */
export function detectFromReadouts(snn: SnnNetwork, raws: Float32Array[], imageW: number, imageH: number, threshold?: number): Detection[] {
  const net = snn.ann;
  const outputs: (Float32Array | undefined)[] = new Array(net.layers.length);
  snn.readouts.forEach((r, k) => (outputs[net.layers[r.head].inputs[0]] = raws[k]));
  return detectFromOutputs(net, outputs, imageW, imageH, threshold);
}

/** Standard checkpoint grid: 1, 2, 3, 4, 6, 8, 12, 16, ... (powers of 2 and 1.5×), up to T. */
export function defaultCheckpoints(T: number): number[] {
  const out = new Set<number>();
  for (let p = 1; p <= T; p *= 2) {
    out.add(p);
    if (Math.round(p * 1.5) <= T && p >= 2) out.add(Math.round(p * 1.5));
  }
  out.add(T);
  return [...out].sort((a, b) => a - b);
}

export async function detectImagesSnn(snn: SnnNetwork, files: string[], opts: SnnDetectOptions): Promise<SnnDetectResult> {
  const workers = opts.workers ?? 1;
  if (workers > 1 && files.length > 1 && (opts.engine ?? 'wasm') === 'wasm' && (!opts.wrap || opts.schedule)) {
    const { detectInParts } = await import('./snn-detect-worker.ts');
    return detectInParts(snn, files, opts, opts.schedule, workers);
  }
  const net = snn.ann;
  const T = opts.timesteps;
  const ticks = [...new Set([...(opts.checkpoints ?? []).filter((c) => c >= 1 && c <= T), T])].sort((a, b) => a - b);
  const base = await createSimulator(snn, { engine: opts.engine ?? 'wasm', seed: opts.seed ?? 1 });
  const sim = opts.wrap ? opts.wrap(base) : opts.schedule ? withThresholdSchedule(base, opts.schedule) : base;
  const perTick = new Map<number, ImageDetections[]>(ticks.map((t) => [t, []]));
  const counts: SimCounts[] = [];
  for (let i = 0; i < files.length; i++) {
    opts.onImage?.(i, files[i]);
    const img = loadImage(files[i]);
    sim.reset(preprocess(net, img));
    sim.runWithCheckpoints(T, ticks, (tick, raws) => {
      const detections = detectFromReadouts(snn, raws, img.width, img.height, opts.threshold);
      perTick.get(tick)!.push({ file: files[i], width: img.width, height: img.height, detections });
    });
    const c = sim.counts();
    counts.push(c);
    opts.onCounts?.(i, c);
  }
  return {
    images: perTick.get(T)!,
    checkpoints: ticks.map((tick) => ({ tick, images: perTick.get(tick)! })),
    counts,
    peakMemoryBytes: sim.peakMemoryBytes,
  };
}
