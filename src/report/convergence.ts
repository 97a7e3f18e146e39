/**
 * The Spiking-YOLO ablation: AP@0.5 against ticks for {layer, channel} normalization × {IF, IBT}
 * neurons, each from one simulation per image with decoding at checkpoint ticks.
 *
 * AP is scored against the ANN's own detections (score > the model's threshold) unless ground
 * truth is given; the SNN's candidates are taken at a low score threshold (default 0.05) so the
 * precision-recall curve is complete, as detection benchmarks do. "Ticks to reach X %" is the
 * first checkpoint at which AP >= X % of the ANN's AP (and, as a stricter column in the CSV, the
 * first checkpoint from which it stays there).
 *
 * Beside AP, never instead of it: the fidelity at the operating point (src/detect/fidelity.ts):
 * the SNN's detections above the model's score threshold (or `threshold`) against the ANN's above
 * it, precision/recall/F1 and the logit bias per checkpoint, and "ticks to F1 >= X".
 */
import { convertCalibrated, type CalibratedModel } from '../convert/from-model.ts';
import { settingsForNeuron } from '../convert/convert.ts';
import type { NeuronModel, NormMode, SnnNetwork, SnnSettings } from '../convert/snn-ir.ts';
import type { Simulator } from '../sim/simulator.ts';
import type { ThresholdSchedule } from '../tune/thresholds-file.ts';
import { detectImagesAnn } from '../detect/ann-detect.ts';
import { evaluate, truthFromDetections, type TruthImage } from '../detect/map.ts';
import { defaultCheckpoints, detectImagesSnn } from '../detect/snn-detect.ts';
import { atThreshold, fidelityAtThreshold, type Fidelity } from '../detect/fidelity.ts';

export interface ConvergenceCurve {
  norm: NormMode;
  neuron: NeuronModel;
  /** set for the tuned-thresholds curve */
  tuned?: string;
  /** [tick, AP@0.5] per checkpoint */
  points: Array<[number, number]>;
  /** per target fraction: first checkpoint tick reaching it, or null */
  firstReached: Record<string, number | null>;
  /** per target fraction: first checkpoint tick from which AP stays at or above it, or null */
  settled: Record<string, number | null>;
  /** [tick, fidelity at the operating threshold against the ANN] per checkpoint (src/detect/fidelity.ts) */
  fidelity: Array<[number, Fidelity]>;
  /** per target F1 (absolute, e.g. 0.95): first checkpoint tick whose F1 reaches it, or null */
  f1Reached: Record<string, number | null>;
  sops: number;
  spikes: number;
  simSeconds: number;
}

export interface ConvergenceResult {
  timesteps: number;
  images: string[];
  annAp: number;
  truth: 'ann' | string;
  targets: number[];
  /** the operating score threshold the fidelity is measured at */
  threshold: number;
  /** ANN detections above it */
  annDetections: number;
  curves: ConvergenceCurve[];
  seed: number;
}

export const CONVERGENCE_TARGETS = [0.9, 0.95, 0.98];

/** checkpoints: the 1, 1.5, 2, 3, 4, 6, ... grid plus every 16 ticks, up to T */
export function convergenceCheckpoints(T: number): number[] {
  const s = new Set(defaultCheckpoints(T));
  for (let t = 16; t <= T; t += 16) s.add(t);
  return [...s].sort((a, b) => a - b);
}

export async function runConvergence(
  model: CalibratedModel,
  images: string[],
  opts: {
    timesteps: number;
    truth?: TruthImage[];
    truthName?: string;
    candidateThreshold?: number;
    /** operating score threshold for the fidelity (default: the model's own) */
    threshold?: number;
    seed?: number;
    combos?: Array<{ norm: NormMode; neuron: NeuronModel }>;
    /** conversion settings shared by every combination (e.g. fuseLinear, statistic) */
    baseSettings?: Partial<SnnSettings>;
    /** a fifth curve: channel-wise + IBT with tuned thresholds (src/tune/thresholds-file.ts applyThresholdsFile) */
    tuned?: { label: string; apply: (snn: SnnNetwork) => { snn: SnnNetwork; wrap: (sim: Simulator) => Simulator; schedule?: ThresholdSchedule } };
    /** worker threads the images are split over (detectImagesSnn; the result does not depend on it) */
    workers?: number;
    onProgress?: (msg: string) => void;
  },
): Promise<ConvergenceResult> {
  const T = opts.timesteps;
  const ann = await detectImagesAnn(model.net, images);
  const opThreshold = opts.threshold ?? model.net.scoreThreshold;
  const annOp = opThreshold === model.net.scoreThreshold ? ann : await detectImagesAnn(model.net, images, { threshold: opThreshold });
  const candidates = Math.min(opts.candidateThreshold ?? 0.05, opThreshold);
  const truth = opts.truth ?? truthFromDetections(ann.images);
  const annAp = opts.truth ? evaluate(truth, ann.images, { metric: 'voc', iou: 0.5 }).map ?? 0 : 1;
  const combos = opts.combos ?? [
    { norm: 'layer', neuron: 'if' }, { norm: 'layer', neuron: 'ibt' }, { norm: 'channel', neuron: 'if' }, { norm: 'channel', neuron: 'ibt' },
  ];
  const ticks = convergenceCheckpoints(T);
  const curves: ConvergenceCurve[] = [];
  const runs: Array<{ norm: NormMode; neuron: NeuronModel; tuned?: string }> = [...combos];
  if (opts.tuned) runs.push({ norm: 'channel', neuron: 'ibt', tuned: opts.tuned.label });
  for (const c of runs) {
    const converted = convertCalibrated(model, settingsForNeuron({ ...opts.baseSettings, norm: c.norm }, c.neuron)).snn;
    const applied = c.tuned && opts.tuned ? opts.tuned.apply(converted) : undefined;
    const snn = applied ? applied.snn : converted;
    const t0 = performance.now();
    const res = await detectImagesSnn(snn, images, {
      timesteps: T, checkpoints: ticks, threshold: candidates, seed: opts.seed ?? 1,
      onImage: (i, f) => opts.onProgress?.(`${c.norm}/${c.neuron}${c.tuned ? ' tuned' : ''} [${i + 1}/${images.length}] ${f}`),
      wrap: applied?.wrap, schedule: applied?.schedule, workers: opts.workers,
    });
    const simSeconds = (performance.now() - t0) / 1000;
    const points = res.checkpoints.map((k): [number, number] => [k.tick, evaluate(truth, k.images, { metric: 'voc', iou: 0.5 }).map ?? 0]);
    const firstReached: Record<string, number | null> = {};
    const settled: Record<string, number | null> = {};
    for (const f of CONVERGENCE_TARGETS) {
      const goal = f * annAp - 1e-12;
      firstReached[f] = points.find(([, ap]) => ap >= goal)?.[0] ?? null;
      let s: number | null = null;
      for (let k = points.length - 1; k >= 0 && points[k][1] >= goal; k--) s = points[k][0];
      settled[f] = s;
    }
    const fidelity = res.checkpoints.map((k): [number, Fidelity] => [k.tick, fidelityAtThreshold(annOp.images, k.images, { threshold: opThreshold })]);
    const f1Reached: Record<string, number | null> = {};
    for (const f of CONVERGENCE_TARGETS) f1Reached[f] = fidelity.find(([, x]) => x.f1 >= f - 1e-12)?.[0] ?? null;
    curves.push({
      norm: c.norm, neuron: c.neuron, ...(c.tuned ? { tuned: c.tuned } : {}), points, firstReached, settled, fidelity, f1Reached, simSeconds,
      sops: res.counts.reduce((a, x) => a + x.totals.sops, 0),
      spikes: res.counts.reduce((a, x) => a + x.totals.posSpikes + x.totals.negSpikes, 0),
    });
  }
  const annDetections = atThreshold(annOp.images, opThreshold).reduce((a, im) => a + im.detections.length, 0);
  return { timesteps: T, images, annAp, truth: opts.truthName ?? 'ann', targets: CONVERGENCE_TARGETS, threshold: opThreshold, annDetections, curves, seed: opts.seed ?? 1 };
}
