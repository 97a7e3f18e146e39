/**
 * Threshold balancing by Bayesian optimization (`neuroemu tune`): the search space, the objective,
 * candidate evaluation and the closing report on held-out images.
 *
 * The follow-up paper to Spiking-YOLO (IEEE Access 9:2633, 2021) tunes threshold voltages with
 * Bayesian optimization under an objective aware of latency and synaptic operations, and adds
 * "two-phase threshold voltages"; neither its objective nor its two-phase rule could be confirmed
 * (FACTS.md §1.7–1.8). What follows is neuroemu's own design; every part is configurable.
 *
 * SEARCH SPACE
 * - One threshold scale s_l per spiking layer l (every conv with a threshold: IBT, IF and the
 *   signed linear layers; the integrating readout has none): vthPos_l ← s_l·vthPos_l and
 *   vthNeg_l ← s_l·vthNeg_l, so the IBT ratio α is kept.
 * - Weight compensation (default on, --no-compensate to drop it): a spike of layer l then stands
 *   for s_l·λ_l, so the weights reading layer l are multiplied by s_l and the network computes the
 *   same function in the rate limit. The scale then trades granularity against saturation only:
 *   a lower threshold fires more (more SOPs), quantizes finer and converges sooner, but clips
 *   activations above s_l·λ (at most one spike per tick); a higher one saves SOPs and converges
 *   later. Without compensation a scale is a gain 1/s_l that compounds over the layers: measured
 *   on the face detector at 224 (11 spiking layers, 6 photos, T = 256), a uniform 0.8 or 1.25
 *   dropped AP@0.5 from 0.72 to 0.33 and 0.00, whereas compensated 0.7 raised it to 0.85 and
 *   compensated 1.5 kept 0.72 with 24 % fewer SOPs. So only the compensated space is smooth
 *   enough to search with a few dozen evaluations.
 * - Log scale: the search variable is log2 s, within --bounds (default [0.25, 4]: two octaves
 *   either way, centred on the untuned network, wide enough that the edges are clearly worse —
 *   at 0.25 a neuron saturates at a quarter of its calibration maximum, at 4 it needs four
 *   maxima of input per spike).
 * - Groups (--groups G, default 3): the spiking layers, in order, are split into G consecutive
 *   groups of near-equal size (sizes differ by at most one, larger groups first) sharing one
 *   scale. Three groups (early / middle / late) keep the space at 3 dimensions (7 with two
 *   phases), which a GP learns from ~20 evaluations; --groups L gives one scale per layer.
 * - Two-phase (--two-phase): per group a phase-2 scale s2_g (as above) and a phase-1 ratio
 *   r_g = s1_g/s2_g within --ratio-bounds (default [0.25, 1], log scale), plus the switch tick
 *   t_switch = round(2^u), u in [0, log2(T/2)]. Phase-1 thresholds s1 are in force for ticks
 *   1..t_switch, phase-2 thresholds from tick t_switch+1 on (Simulator.setThresholds between two
 *   run() calls). Weights are compensated with s2, so after the switch the network is rate-exact
 *   and before it each layer transmits r_g⁻¹ × its ANN value: an overdrive that fills the deep
 *   layers sooner (the readout averages the membrane from tick 0, so the early deficit of a
 *   pipeline that is still filling is what the overdrive pays back). Ratios above 1 (a damped
 *   start) can be allowed with --ratio-bounds.
 *
 * OBJECTIVE (maximized)
 *   J = AP_w − w_sop·(SOP_T / SOP_T,untuned − 1) − w_lat·t_reach / T
 * - AP: AP@0.5 (VOC all-point) of the spiking network against the ANN's own detections (score >
 *   --ann-threshold, default the model's), SNN candidates at score > --candidate-threshold
 *   (0.05), as the convergence command scores. AP_w is its mean over the checkpoints in the last
 *   quarter of the budget, [0.75·T, T] (--ap-window 0.25; 0 gives AP at T alone). Why a window:
 *   with a handful of images AP moves in steps of a box, and AP at one tick flips with one
 *   detection; measured on the face detector (4 images, 6 boxes), neighbouring candidates
 *   differed by 0.16 AP at T. The mean of 3 checkpoints (T = 128: 96, 112, 128) halves that
 *   jitter, still judges the end of the budget, and rewards a candidate that is there early.
 * - SOP_T: synaptic operations of ticks 1..T summed over the images; the untuned network's SOPs
 *   on the same images and ticks normalize it, so the term is the relative change (−0.4 = the
 *   paper's 40 % reduction).
 * - t_reach: the first checkpoint tick from which AP stays ≥ target·AP_ref up to T ('settled',
 *   default; --lat-rule first: the first checkpoint at the goal), T when not reached; target 0.95
 *   (--target). Settled, because a single lucky crossing is noise with a few images (measured: a
 *   BO optimum chosen on a first crossing at 72 ticks, its neighbours at 96–116, settled on the
 *   held-out images later than the untuned network), and because it is the tick at which a
 *   deployment could stop; AP_ref the untuned network's AP_T on the same images
 *   (--lat-ref untuned, default) or the ANN's AP (--lat-ref ann, 1 against its own detections).
 *   The untuned reference gives a graded signal at any budget; 95 % of the ANN is often not
 *   reached within a short T by anyone, which would make the term a constant.
 * - Weights: w_sop = 0.2, w_lat = 0.2. Accuracy comes first: the paper's 40 % SOP cut is worth
 *   0.08 AP, halving the ticks to the target 0.1 AP, so a candidate cannot buy frugality or speed
 *   with more than a few points of AP, yet between candidates of equal AP the cheaper and faster
 *   wins clearly.
 * - Evaluated on the tuning images (--images); the closing report runs the untuned network, the
 *   BO optimum and the random-search optimum on held-out images (--holdout) the search never saw.
 * - The untuned network (every scale 1) is evaluated first, outside the budget, and is a known
 *   point of both searches: BO is told its value, and the best-so-far of both starts from it, so
 *   a search that finds nothing better keeps the untuned thresholds (a tuned file never scores
 *   below the untuned network on the tuning images).
 *
 * SEARCH: the BO library (src/tune/bo.ts: scrambled Sobol initial design of max(5, 2·dim)
 * points, GP with Matérn 5/2 ARD, log-EI) in batches of k = number of workers (kriging believer);
 * a uniform random search over the same box with the same budget is the baseline. Each candidate
 * runs on every tuning image; (candidate, image) jobs go to worker_threads, one WASM instance
 * each (src/tune/workers.ts). Determinism: the seed fixes the design, the GP and the random
 * search; simulation is deterministic; results are recorded in suggestion order, so the same
 * seed gives the same thresholds file and CSV bytes whatever the timing.
 *
 * CHECKPOINTS: the convergence grid plus every floor(T/32) ticks (T = 128: every 4 ticks), both in
 * the search and in the report, so t_reach and the speed-up are resolved to ~3 % of T.
 *
 * CLOSING REPORT (held-out images, run to --report-timesteps R, default 4T, so that the untuned
 * network has a chance to reach the ANN-relative targets): per network the AP at T and at R, the
 * first checkpoint tick reaching 95 % and 98 % of the ANN's AP with the SOPs spent up to it,
 * speed-up = ticks(untuned)/ticks(tuned) and SOP reduction = 1 − SOPs(tuned)/SOPs(untuned) at
 * those ticks; the objective on the held-out images.
 *
 * ENERGY PER FRAME (priceHoldout, `tune --chip`, default the run command's TrueNorth and Loihi):
 * the three networks are emulated on each chip model exactly as `neuroemu run` does it
 * (src/sim/emulate.ts: mapping, route tables, per-event energy and cycle-level timing with the
 * constants of chips/NAME.json; auto-board; the run's seed) on the held-out images, and priced at
 * the ticks each network needs to reach each report target (95 % and 98 % of the ANN's AP, the
 * ticks of the table: energy to accuracy, what a deployment that stops there pays) and at the
 * search budget T (energy at a fixed tick budget). A target not reached within R has no energy to
 * it ("never within R"); the figure at T prices that network all the same. Figures are means over
 * the held-out frames of the energy (and latency) of ticks 1..t. One emulation per network and
 * chip, run to the largest of those ticks: the accountant's per-tick energies summed up to t equal
 * a t-tick emulation's frame energy (same counters; equal to float rounding, ~1e-16), and one
 * mapping per chip serves the three networks (threshold scales change no geometry).
 */
import { stringify } from 'csv-stringify/sync';
import type { SnnConvLayer, SnnNetwork } from '../convert/snn-ir.ts';
import { evaluate, type TruthImage } from '../detect/map.ts';
import type { ImageDetections } from '../detect/types.ts';
import { fidelityAtThreshold } from '../detect/fidelity.ts';
import { convergenceCheckpoints } from '../report/convergence.ts';
import { lineChart } from '../report/svg.ts';
import { formatTable, thousands } from '../report/table.ts';
import type { Chip } from '../hw/chip-schema.ts';
import { DEFAULT_PLACEMENT, mapNetwork, type Mapping, type PlacementOrder } from '../hw/mapper.ts';
import type { ChipRunResult, FrameResult } from '../hw/account.ts';
import { si } from '../hw/report.ts';
import { buildAcctTables, type AcctTables } from '../sim/acct.ts';
import { emulateFrames, fillTicksOn, type TickFigures } from '../sim/emulate.ts';
import { Lanes } from '../util/lanes.ts';
import { fail } from '../util/errors.ts';
import { BayesianOptimizer, randomSearch, type BoEvaluation } from './bo.ts';
import { scaleNetwork, spikingLayers, thresholdSchedule, withThresholdSchedule, type LayerScale, type ThresholdAssignment } from './thresholds-file.ts';
import type { EvalPool, ImageJob, ImageRun } from './workers.ts';

// ---------------------------------------------------------------------------------------------
// search space

export const DEFAULT_BOUNDS: [number, number] = [0.25, 4];
export const DEFAULT_RATIO_BOUNDS: [number, number] = [0.25, 1];
export const DEFAULT_GROUPS = 3;

export interface SearchSpaceOptions {
  /** number of layer groups sharing a scale (1..spiking layers) */
  groups: number;
  /** scale bounds [lo, hi], searched as log2 */
  bounds: [number, number];
  twoPhase: boolean;
  /** two-phase: bounds of the phase-1 / phase-2 ratio */
  ratioBounds: [number, number];
  /** tick budget T (t_switch is searched in [1, T/2]) */
  timesteps: number;
  compensate: boolean;
}

/** Splits n items into g consecutive groups of near-equal size (larger first): group of each item. */
export function splitGroups(n: number, g: number): number[] {
  const base = Math.floor(n / g), extra = n % g;
  const out: number[] = [];
  for (let k = 0; k < g; k++) for (let j = 0; j < base + (k < extra ? 1 : 0); j++) out.push(k);
  return out;
}

export class SearchSpace {
  readonly layers: SnnConvLayer[];
  /** group of each spiking layer */
  readonly groupOf: number[];
  readonly lower: number[];
  readonly upper: number[];
  /** a name per dimension (CSV headers) */
  readonly dimNames: string[];
  readonly opts: SearchSpaceOptions;

  constructor(snn: SnnNetwork, opts: SearchSpaceOptions) {
    this.layers = spikingLayers(snn);
    const L = this.layers.length;
    if (L === 0) fail('--model', `${snn.ann.name} has no spiking layer to tune`);
    if (!(Number.isInteger(opts.groups) && opts.groups >= 1 && opts.groups <= L)) fail('--groups', `${opts.groups} must be an integer in 1..${L} (the network has ${L} spiking layers)`);
    const [lo, hi] = opts.bounds;
    if (!(lo > 0 && hi > lo && Number.isFinite(hi))) fail('--bounds', `[${lo}, ${hi}] must satisfy 0 < lo < hi`);
    const [rlo, rhi] = opts.ratioBounds;
    if (opts.twoPhase && !(rlo > 0 && rhi > rlo && Number.isFinite(rhi))) fail('--ratio-bounds', `[${rlo}, ${rhi}] must satisfy 0 < lo < hi`);
    if (opts.twoPhase && opts.timesteps < 4) fail('--timesteps', `${opts.timesteps}: two-phase needs at least 4 ticks (t_switch is searched in [1, T/2])`);
    this.opts = opts;
    this.groupOf = splitGroups(L, opts.groups);
    const G = opts.groups;
    this.lower = Array(G).fill(Math.log2(lo));
    this.upper = Array(G).fill(Math.log2(hi));
    this.dimNames = Array.from({ length: G }, (_, g) => (opts.twoPhase ? `scale2_g${g + 1}` : `scale_g${g + 1}`));
    if (opts.twoPhase) {
      for (let g = 0; g < G; g++) {
        this.lower.push(Math.log2(rlo));
        this.upper.push(Math.log2(rhi));
        this.dimNames.push(`ratio_g${g + 1}`);
      }
      this.lower.push(0);
      this.upper.push(Math.log2(Math.floor(opts.timesteps / 2)));
      this.dimNames.push('t_switch');
    }
  }

  get dim(): number {
    return this.lower.length;
  }

  /** Per group: [phase-1 scale, phase-2 scale] (equal when single-phase), and t_switch. */
  groupScales(x: readonly number[]): { scale: number[]; scale2: number[]; tSwitch?: number } {
    const G = this.opts.groups;
    const s2 = x.slice(0, G).map((u) => 2 ** u);
    if (!this.opts.twoPhase) return { scale: s2, scale2: s2 };
    const s1 = s2.map((s, g) => s * 2 ** x[G + g]);
    const tSwitch = Math.min(Math.max(1, Math.round(2 ** x[2 * G])), Math.floor(this.opts.timesteps / 2));
    return { scale: s1, scale2: s2, tSwitch };
  }

  /** The threshold assignment a point of the box stands for. */
  decode(x: readonly number[]): ThresholdAssignment {
    const { scale, scale2, tSwitch } = this.groupScales(x);
    const layers: LayerScale[] = this.layers.map((l, k) => {
      const g = this.groupOf[k];
      const e: LayerScale = { snnLayer: l.index, name: l.name, group: g, scale: scale[g] };
      if (this.opts.twoPhase) e.scale2 = scale2[g];
      return e;
    });
    const a: ThresholdAssignment = { layers, compensate: this.opts.compensate };
    if (tSwitch !== undefined) a.tSwitch = tSwitch;
    return a;
  }

  /** The point of the untuned network (every scale 1, ratio 1), or undefined when outside the box. */
  untunedPoint(): number[] | undefined {
    const x = this.lower.map((lo, j) => (this.dimNames[j] === 't_switch' ? lo : 0));
    return x.every((v, j) => v >= this.lower[j] && v <= this.upper[j]) ? x : undefined;
  }

  /** CSV/progress values of a point: the scales (phase 1 and 2 when two-phase) and t_switch. */
  describe(x: readonly number[]): { names: string[]; values: number[] } {
    const { scale, scale2, tSwitch } = this.groupScales(x);
    const G = this.opts.groups;
    if (!this.opts.twoPhase) return { names: scale.map((_, g) => `scale_g${g + 1}`), values: scale };
    return {
      names: [...scale.map((_, g) => `scale1_g${g + 1}`), ...scale2.map((_, g) => `scale2_g${g + 1}`), 't_switch'],
      values: [...scale.slice(0, G), ...scale2.slice(0, G), tSwitch!],
    };
  }
}

// ---------------------------------------------------------------------------------------------
// objective

export interface ObjectiveWeights {
  /**
   * the accuracy the objective scores: 'f1', the operating-point F1 of the SNN's detections above
   * the ANN's score threshold against the ANN's (src/detect/fidelity.ts: what a detector used at
   * its threshold delivers), or 'ap', AP@0.5 of the candidates down to --candidate-threshold
   */
  score: ScoreMetric;
  /** weight of the relative SOP change */
  wSop: number;
  /** weight of t_reach / T */
  wLat: number;
  /** fraction of the reference AP that counts as reached */
  target: number;
  /** the AP the target fraction applies to: the untuned network's AP_T, or the ANN's */
  latencyReference: 'untuned' | 'ann';
  /** the accuracy term averages the score over the checkpoints in [(1 − apWindow)·T, T] (0: at T only) */
  apWindow: number;
  /** t_reach: the first checkpoint at the goal, or the first from which AP stays at the goal */
  latencyRule: 'first' | 'settled';
}

export type ScoreMetric = 'f1' | 'ap';

export const DEFAULT_OBJECTIVE: ObjectiveWeights = { score: 'f1', wSop: 0.2, wLat: 0.2, target: 0.95, latencyReference: 'untuned', apWindow: 0.25, latencyRule: 'settled' };

/** AP, operating-point F1 and cumulative SOPs (summed over the images) at each checkpoint tick. */
export interface Measured {
  ticks: number[];
  ap: number[];
  /** F1 of the SNN's detections above the ANN's score threshold against the ANN's (IoU >= 0.5) */
  f1: number[];
  sops: number[];
}

/** the series the objective scores */
export const scoreSeries = (m: Measured, metric: ScoreMetric): number[] => (metric === 'f1' ? m.f1 : m.ap);
/** how a report names the objective's score */
export const scoreName = (metric: ScoreMetric): string => (metric === 'f1' ? 'F1' : 'AP');

export interface ObjectiveContext {
  /** tick budget */
  T: number;
  /** SOPs of the untuned network over ticks 1..T on the same images */
  baseSops: number;
  /** the score (AP or F1, per ObjectiveWeights.score) that the target fraction applies to */
  refScore: number;
}

export interface ObjectiveValue {
  value: number;
  /** the accuracy term: the mean score (AP or F1) over the checkpoints of the window (at T when the window is 0) */
  score: number;
  /** the score at T */
  scoreT: number;
  /** AP and F1 at T, whichever is scored */
  apT: number;
  f1T: number;
  /** SOPs at T / the untuned network's */
  sopRatio: number;
  /** first checkpoint tick reaching target·refAp, T when not reached */
  latency: number;
  reached: boolean;
}

/** Value of a checkpoint series at tick t (the series must contain t). */
function at(m: Measured, series: number[], t: number): number {
  const k = m.ticks.indexOf(t);
  if (k < 0) throw new Error(`tick ${t} is not a checkpoint`);
  return series[k];
}

/**
 * Ticks to reach score >= goal (tolerance 1e-12; the series: AP unless given) within checkpoints
 * <= upTo: 'first', the first checkpoint at the goal; 'settled', the first from which the score
 * stays at the goal up to `upTo`. null when not reached.
 */
export function reachTick(m: Measured, goal: number, rule: 'first' | 'settled', upTo = Infinity, series: number[] = m.ap): number | null {
  const ok = (k: number) => series[k] >= goal - 1e-12;
  let last = m.ticks.length - 1;
  while (last >= 0 && m.ticks[last] > upTo) last--;
  if (rule === 'first') {
    for (let k = 0; k <= last; k++) if (ok(k)) return m.ticks[k];
    return null;
  }
  let k = last;
  while (k >= 0 && ok(k)) k--;
  return k === last ? null : m.ticks[k + 1];
}

/** J = score_w − w_sop·(SOP_T/SOP_T,untuned − 1) − w_lat·t_reach/T (see the header). */
export function objectiveOf(m: Measured, ctx: ObjectiveContext, w: ObjectiveWeights): ObjectiveValue {
  const series = scoreSeries(m, w.score);
  const scoreT = at(m, series, ctx.T);
  const from = (1 - w.apWindow) * ctx.T - 1e-9;
  const win = series.filter((_, k) => m.ticks[k] >= from && m.ticks[k] <= ctx.T);
  const score = win.reduce((a, b) => a + b, 0) / win.length;
  const sopRatio = ctx.baseSops > 0 ? at(m, m.sops, ctx.T) / ctx.baseSops : 1;
  const reach = reachTick(m, w.target * ctx.refScore, w.latencyRule, ctx.T, series);
  const latency = reach ?? ctx.T;
  const value = score - w.wSop * (sopRatio - 1) - w.wLat * (latency / ctx.T);
  return { value, score, scoreT, apT: at(m, m.ap, ctx.T), f1T: at(m, m.f1, ctx.T), sopRatio, latency, reached: reach !== null };
}

/**
 * Per checkpoint: AP@0.5 (VOC all-point) of the detections against the truth, and the F1 of those
 * above `threshold` (the score threshold the truth was taken at, strict >) against the truth boxes
 * (greedy by score, IoU >= 0.5: src/detect/fidelity.ts); SOPs summed.
 */
export function measureRuns(runs: readonly ImageRun[], truth: readonly TruthImage[], threshold: number): Measured {
  const ticks = runs[0].ticks;
  // the truth as detections above any threshold below 1 (F1 needs no reference score)
  const reference: ImageDetections[] = truth.map((t) => ({
    file: t.file, width: t.width ?? 0, height: t.height ?? 0,
    detections: t.boxes.filter((b) => !b.difficult).map((b) => ({ x: b.x, y: b.y, w: b.w, h: b.h, score: 1, classId: 0, className: b.className })),
  }));
  const ap: number[] = [], f1: number[] = [];
  ticks.forEach((_, j) => {
    const cand: ImageDetections[] = runs.map((r) => ({ file: r.file, width: r.width, height: r.height, detections: r.detections[j] }));
    ap.push(evaluate(truth, cand, { metric: 'voc', iou: 0.5 }).map ?? 0);
    f1.push(fidelityAtThreshold(reference, cand, { threshold, bias: false }).f1);
  });
  const sops = ticks.map((_, j) => runs.reduce((s, r) => s + r.sops[j], 0));
  return { ticks, ap, f1, sops };
}

// ---------------------------------------------------------------------------------------------
// the tuning run

export interface TuneOptions {
  /** the untuned converted network */
  snn: SnnNetwork;
  /** a pool set up with image sets 'calib' (tuning) and 'holdout' */
  pool: EvalPool;
  /** the ANN's detections (the reference), per set */
  truth: { calib: TruthImage[]; holdout: TruthImage[] };
  /** the score threshold the truth was taken at: F1 counts the SNN's detections above it */
  threshold: number;
  timesteps: number;
  budget: number;
  seed: number;
  space: Omit<SearchSpaceOptions, 'timesteps'>;
  objective: ObjectiveWeights;
  /** run the random-search baseline (default true) */
  baseline?: boolean;
  /** held-out horizon R (default 4T) */
  reportTimesteps?: number;
  /** ANN-relative targets of the report (default 0.95, 0.98) */
  reportTargets?: number[];
  /** candidates in flight at once (default: the pool's workers, at least 1) */
  batch?: number;
  onEvaluation?: (e: TuneEvaluation, space: SearchSpace) => void;
  onProgress?: (msg: string) => void;
}

export interface TuneEvaluation {
  search: 'bo' | 'random';
  /** 0-based, per search */
  index: number;
  phase: BoEvaluation['phase'];
  x: number[];
  objective: ObjectiveValue;
  /** best objective so far, the untuned network's included */
  best: number;
  /** where it was found; -1: the untuned network */
  bestIndex: number;
  simSeconds: number;
}

export interface HoldoutResult {
  label: 'untuned' | 'bo' | 'random';
  assignment: ThresholdAssignment | null;
  measured: Measured;
  /** the objective's score (AP or F1) at T and at R; AP and F1 at T */
  scoreAtT: number;
  scoreAtR: number;
  apAtT: number;
  f1AtT: number;
  /** per image averages */
  sopsPerImageAtT: number;
  /** per target fraction of the ANN's AP: first tick and SOPs per image spent up to it */
  reach: { target: number; tick: number | null; sopsPerImage: number | null }[];
  objective: ObjectiveValue;
}

export interface TuneResult {
  timesteps: number;
  /** the score threshold of the truth (and of F1) */
  threshold: number;
  reportTimesteps: number;
  budget: number;
  seed: number;
  space: SearchSpace;
  objective: ObjectiveWeights;
  /** on the tuning images */
  context: ObjectiveContext;
  untuned: ObjectiveValue;
  bo: TuneEvaluation[];
  random: TuneEvaluation[];
  /** index -1: nothing beat the untuned network */
  best: { x: number[]; assignment: ThresholdAssignment; objective: ObjectiveValue; index: number };
  bestRandom?: { x: number[]; assignment: ThresholdAssignment; objective: ObjectiveValue; index: number };
  holdout: { context: ObjectiveContext; annAp: number; targets: number[]; results: HoldoutResult[] };
  images: number;
  holdoutImages: number;
}

/**
 * Checkpoints of the search and of the report: the convergence grid (1, 2, 3, 4, 6, 8, ... and
 * every 16 ticks) plus every max(1, floor(T/32)) ticks, so that t_reach and the AP window are
 * resolved to about 3 % of T (decoding a checkpoint costs little next to simulating).
 */
export function tuneCheckpoints(T: number, fine = T): number[] {
  const s = new Set(convergenceCheckpoints(T));
  const step = Math.max(1, Math.floor(fine / 32));
  for (let t = step; t <= T; t += step) s.add(t);
  return [...s].sort((a, b) => a - b);
}

const keyOf = (a: ThresholdAssignment | null) => (a ? JSON.stringify(a) : 'untuned');

async function runSet(pool: EvalPool, set: 'calib' | 'holdout', n: number, a: ThresholdAssignment | null, T: number, checkpoints: number[]) {
  const jobs: ImageJob[] = Array.from({ length: n }, (_, image) => ({ key: keyOf(a), assignment: a, set, image, timesteps: T, checkpoints }));
  return pool.runJobs(jobs);
}

export async function tuneThresholds(o: TuneOptions): Promise<TuneResult> {
  const T = o.timesteps;
  const R = o.reportTimesteps ?? 4 * T;
  if (!(Number.isInteger(R) && R >= T)) fail('--report-timesteps', `${R} must be an integer >= --timesteps (${T})`);
  if (!(Number.isInteger(o.budget) && o.budget >= 1)) fail('--budget', `${o.budget} must be a positive integer`);
  const space = new SearchSpace(o.snn, { ...o.space, timesteps: T });
  const nCalib = o.pool.setup.sets.calib.length;
  const nHold = o.pool.setup.sets.holdout.length;
  const checkpoints = tuneCheckpoints(T);
  const batch = Math.max(1, o.batch ?? o.pool.workers);
  const log = o.onProgress ?? (() => {});

  // the untuned network on the tuning images: normalizes SOPs, gives the latency reference
  log(`untuned network on ${nCalib} tuning images, ${T} ticks`);
  const S = scoreName(o.objective.score);
  const measure = (runs: readonly ImageRun[], truth: readonly TruthImage[]) => measureRuns(runs, truth, o.threshold);
  const base = measure(await runSet(o.pool, 'calib', nCalib, null, T, checkpoints), o.truth.calib);
  const baseScore = at(base, scoreSeries(base, o.objective.score), T);
  const refScore = o.objective.latencyReference === 'ann' || baseScore <= 0 ? 1 : baseScore;
  if (o.objective.latencyReference === 'untuned' && baseScore <= 0) log(`the untuned network's ${S} at ${T} ticks is 0: the latency target falls back to the ANN's (1)`);
  const context: ObjectiveContext = { T, baseSops: at(base, base.sops, T), refScore };
  const untuned = objectiveOf(base, context, o.objective);
  log(`untuned: ${S} ${f3(untuned.score)} (${S}@${T} ${f3(untuned.scoreT)}; AP@${T} ${f3(untuned.apT)}, F1@${T} ${f3(untuned.f1T)}), ${Math.round(context.baseSops / nCalib).toLocaleString('en-US')} SOPs per image, t_reach ${untuned.latency}, J ${untuned.value.toFixed(4)} (latency goal: ${S} >= ${f3(o.objective.target * refScore)})`);

  const evaluateX = async (x: number[]): Promise<{ v: ObjectiveValue; simSeconds: number }> => {
    const a = space.decode(x);
    const runs = await runSet(o.pool, 'calib', nCalib, a, T, checkpoints);
    return { v: objectiveOf(measure(runs, o.truth.calib), context, o.objective), simSeconds: runs.reduce((s, r) => s + r.simSeconds, 0) };
  };

  // Both searches know the untuned network (all scales 1) as a free first point: BO is told its
  // value, and the best-so-far of either search starts from it (index -1), so a search that finds
  // nothing better returns the untuned thresholds.
  const x0 = space.untunedPoint();
  const tracker = () => {
    const st = { best: x0 ? untuned.value : -Infinity, bestIndex: -1 };
    return (search: TuneEvaluation['search'], index: number, phase: TuneEvaluation['phase'], x: number[], d: { v: ObjectiveValue; simSeconds: number }): TuneEvaluation => {
      if (d.v.value > st.best || (st.bestIndex === -1 && !x0)) {
        st.best = d.v.value;
        st.bestIndex = index;
      }
      return { search, index, phase, x, objective: d.v, best: st.best, bestIndex: st.bestIndex, simSeconds: d.simSeconds };
    };
  };
  const bestOf = (list: TuneEvaluation[]): NonNullable<TuneResult['bestRandom']> => {
    const k = list[list.length - 1].bestIndex;
    if (k < 0) return { x: x0!, assignment: space.decode(x0!), objective: untuned, index: -1 };
    return { x: list[k].x, assignment: space.decode(list[k].x), objective: list[k].objective, index: k };
  };

  // Bayesian optimization, k candidates in flight
  const bo = new BayesianOptimizer({ lower: space.lower, upper: space.upper, budget: o.budget, seed: o.seed, direction: 'maximize', batchSize: batch });
  if (x0) bo.observe(x0, untuned.value);
  const boEvals: TuneEvaluation[] = [];
  const boTrack = tracker();
  while (boEvals.length < o.budget) {
    const xs = bo.suggest(Math.min(batch, o.budget - boEvals.length));
    const vs = await Promise.all(xs.map((x) => evaluateX(x)));
    xs.forEach((x, i) => {
      const e = bo.observe(x, vs[i].v.value);
      const te = boTrack('bo', boEvals.length, e.phase, e.x, vs[i]);
      boEvals.push(te);
      o.onEvaluation?.(te, space);
    });
  }
  const best = bestOf(boEvals);

  // random search with the same budget and batches
  const rsEvals: TuneEvaluation[] = [];
  let bestRandom: TuneResult['bestRandom'];
  if (o.baseline ?? true) {
    const details = new Map<string, { v: ObjectiveValue; simSeconds: number }>();
    const rsTrack = tracker();
    await randomSearch(
      async (x) => {
        const r = await evaluateX(x);
        details.set(JSON.stringify(x), r);
        return r.v.value;
      },
      {
        lower: space.lower, upper: space.upper, budget: o.budget, seed: o.seed, direction: 'maximize', batchSize: batch,
        onEvaluation: (e) => {
          const te = rsTrack('random', e.index, e.phase, e.x, details.get(JSON.stringify(e.x))!);
          rsEvals.push(te);
          o.onEvaluation?.(te, space);
        },
      },
    );
    bestRandom = bestOf(rsEvals);
  }

  // held-out report
  const targets = o.reportTargets ?? [0.95, 0.98];
  const annAp = 1; // the ANN's detections are the truth
  const hTicks = tuneCheckpoints(R, T);
  const nets: { label: HoldoutResult['label']; a: ThresholdAssignment | null }[] = [
    { label: 'untuned', a: null },
    { label: 'bo', a: best.assignment },
    ...(bestRandom ? [{ label: 'random' as const, a: bestRandom.assignment }] : []),
  ];
  log(`held-out report: ${nets.length} networks on ${nHold} images, ${R} ticks`);
  const hRuns = await Promise.all(nets.map((n) => runSet(o.pool, 'holdout', nHold, n.a, R, hTicks)));
  const hMeasured = hRuns.map((runs) => measure(runs, o.truth.holdout));
  const hBase = at(hMeasured[0], scoreSeries(hMeasured[0], o.objective.score), T);
  const hContext: ObjectiveContext = {
    T,
    baseSops: at(hMeasured[0], hMeasured[0].sops, T),
    refScore: o.objective.latencyReference === 'ann' || hBase <= 0 ? 1 : hBase,
  };
  const results: HoldoutResult[] = nets.map((n, k) => {
    const m = hMeasured[k];
    const series = scoreSeries(m, o.objective.score);
    const reach = targets.map((f) => {
      const tick = reachTick(m, f * annAp, o.objective.latencyRule, R, series);
      return { target: f, tick, sopsPerImage: tick === null ? null : at(m, m.sops, tick) / nHold };
    });
    const r: HoldoutResult = {
      label: n.label, assignment: n.a, measured: m,
      scoreAtT: at(m, series, T), scoreAtR: at(m, series, R), apAtT: at(m, m.ap, T), f1AtT: at(m, m.f1, T), sopsPerImageAtT: at(m, m.sops, T) / nHold,
      reach, objective: objectiveOf(m, hContext, o.objective),
    };
    return r;
  });
  return {
    timesteps: T, threshold: o.threshold, reportTimesteps: R, budget: o.budget, seed: o.seed, space, objective: o.objective, context, untuned,
    bo: boEvals, random: rsEvals, best, bestRandom,
    holdout: { context: hContext, annAp, targets, results },
    images: nCalib, holdoutImages: nHold,
  };
}

// ---------------------------------------------------------------------------------------------
// energy per frame on chip models (held-out images; see the header)

export interface EnergyPoint {
  /** the frame's ticks 1..ticks are priced */
  ticks: number;
  /** means over the held-out frames */
  energyPerFrameJ: number;
  latencyPerFrameS: number;
}

export interface NetworkEnergy {
  label: HoldoutResult['label'];
  /** at the search budget T */
  atT: EnergyPoint;
  /** per report target (holdout.targets order): at the ticks the network needs to reach it; null: not reached within R */
  reach: { target: number; point: EnergyPoint | null }[];
}

export interface ChipEnergy {
  /** the chip as named (NAME, NAME@VARIANT or a chip file) */
  chip: string;
  /** where its constants come from: chips/NAME.json, or the file given */
  file: string;
  variant?: string;
  /** what the mapping uses (the same for the three networks) */
  cores: number;
  chips: number;
  networks: NetworkEnergy[];
}

export interface HoldoutEnergy {
  frames: number;
  seed: number;
  autoBoard: boolean;
  /** core order along the placement path */
  placement: PlacementOrder;
  timesteps: number;
  reportTimesteps: number;
  chips: ChipEnergy[];
}

export interface PriceOptions {
  /** the untuned network the result's assignments apply to (the one tuned) */
  snn: SnnNetwork;
  /** the held-out images, preprocessed */
  inputs: Float32Array[];
  /** the chips: as named, and loaded (loadChip) */
  chips: { name: string; chip: Chip }[];
  /** input seed of the emulation (Poisson input only), as `run --seed` */
  seed: number;
  /** board too small: the smallest square board that fits (default true, as `run`) */
  autoBoard?: boolean;
  /** core order along the placement path (default DEFAULT_PLACEMENT, as `run`) */
  placement?: PlacementOrder;
  /** worker threads for the emulations (0, default: this thread); the figures do not depend on it */
  workers?: number;
  onProgress?: (msg: string) => void;
}

/**
 * Prices the closing report's networks (untuned, BO, random search) on chip models: one emulation
 * per network and chip on the held-out images, run to the largest tick to price, with the energy
 * and latency of ticks 1..t read off the accountant's per-tick figures at each tick t to price
 * (T, and each target's reach tick). In this thread one mapping per chip serves the three
 * networks; with workers every emulation maps its chip itself.
 */
export async function priceHoldout(r: TuneResult, o: PriceOptions): Promise<HoldoutEnergy> {
  const T = r.timesteps;
  const autoBoard = o.autoBoard ?? true;
  const log = o.onProgress ?? (() => {});
  const nF = o.inputs.length;
  if (nF === 0) throw new Error('priceHoldout: no held-out images');
  // one emulation per chip and network, each read at its stop ticks (T and each target's reach
  // tick; a frame's ticks start with the chip's pipeline fill, the stops count readout ticks)
  const jobs = o.chips.flatMap(({ name, chip }, ci) => r.holdout.results.map((h) => {
    const a = h.assignment;
    const net = a ? scaleNetwork(o.snn, a) : o.snn;
    const stops = [...new Set([T, ...h.reach.flatMap((x) => (x.tick === null ? [] : [x.tick]))])].sort((x, y) => x - y);
    const fill = fillTicksOn(net, chip.params);
    return { ci, name, chip, h, net, schedule: a ? thresholdSchedule(o.snn, a) : undefined, stops, horizon: stops[stops.length - 1], fill };
  }));
  type Job = (typeof jobs)[number];
  const workers = o.workers ?? 0;
  let emulate: (j: Job) => Promise<{ perFrame: FrameResult[]; atTicks?: TickFigures[][]; totals: ChipRunResult }>;
  if (workers > 0) {
    // worker threads, each mapping its chip itself; a job's frames split when there are few jobs
    const { emulateInWorker, emulateSplit } = await import('../report/emulate-worker.ts');
    const lanes = new Lanes(workers);
    const parts = jobs.length < 2 * workers ? workers : 1;
    // a spare worker for every part (one frame): it shares the part's ticks (the same figures)
    const { threadsPerTick } = await import('../sim/threads.ts');
    const threads = threadsPerTick(workers, jobs.length * Math.min(parts, o.inputs.length));
    emulate = (j) => emulateSplit(
      { snn: j.net, chip: j.name, inputs: o.inputs, timesteps: j.horizon, seed: o.seed, autoBoard, placement: o.placement, schedule: j.schedule, tickStops: j.stops.map((t) => t + j.fill), threads },
      parts, (part) => lanes.run(() => emulateInWorker(part, (m) => log(`${j.name}, ${j.h.label}: ${m}`))));
  } else {
    // in this thread: one mapping per chip serves its networks
    const tables = new Map<number, { mapping: Mapping; accounting: AcctTables }>();
    emulate = async (j) => {
      let t = tables.get(j.ci);
      if (!t) {
        const mapping = mapNetwork(o.snn, j.chip.params, { autoBoard, placement: o.placement, onProgress: (m) => log(`${j.name}: ${m}`) });
        tables.set(j.ci, (t = { mapping, accounting: buildAcctTables(mapping) }));
      }
      const s = j.schedule;
      return emulateFrames(j.net, j.chip.params, o.inputs, {
        timesteps: j.horizon, seed: o.seed, autoBoard, mapping: t.mapping, accounting: t.accounting, tickStops: j.stops.map((x) => x + j.fill),
        wrap: s ? (sim) => withThresholdSchedule(sim, s) : undefined,
        onProgress: (m) => log(`${j.name}, ${j.h.label}: ${m}`),
      });
    };
  }
  const ems = workers > 0 ? await Promise.all(jobs.map((j) => emulate(j))) : [];
  if (workers === 0) for (const j of jobs) ems.push(await emulate(j));
  const chips: ChipEnergy[] = o.chips.map(({ name, chip }) => ({ chip: name, file: chip.file, ...(chip.variant ? { variant: chip.variant } : {}), cores: 0, chips: 0, networks: [] }));
  jobs.forEach((j, n) => {
    const em = ems[n];
    const at = em.atTicks!;
    // frame by frame, in frame order (the sums do not depend on how the frames were split)
    const energy = new Float64Array(j.stops.length), latency = new Float64Array(j.stops.length);
    em.perFrame.forEach((f, k) => {
      const fa = at[k];
      if (fa.length !== j.stops.length) throw new Error(`priceHoldout: ${j.name} frame ${k}: ${fa.length} stops read, ${j.stops.length} asked`);
      fa.forEach((x, i) => {
        energy[i] += x.energyJ;
        latency[i] += x.latencyS;
      });
      // the per-tick figures summed over a frame are the frame's figures (guards the reading above)
      const last = fa[fa.length - 1].energyJ;
      if (!(Math.abs(last - f.energy_J) <= 1e-9 * Math.abs(f.energy_J)) || f.ticks !== j.horizon + j.fill) {
        throw new Error(`priceHoldout: ${j.name} frame ${k}: per-tick energies sum to ${last} J over ${j.horizon} + ${j.fill} ticks, the frame's energy is ${f.energy_J} J over ${f.ticks}`);
      }
    });
    const point = (t: number): EnergyPoint => {
      const k = j.stops.indexOf(t);
      return { ticks: t, energyPerFrameJ: energy[k] / nF, latencyPerFrameS: latency[k] / nF };
    };
    const c = chips[j.ci];
    c.cores = em.totals.mapping.cores;
    c.chips = em.totals.mapping.chips;
    c.networks.push({ label: j.h.label, atT: point(T), reach: j.h.reach.map((x) => ({ target: x.target, point: x.tick === null ? null : point(x.tick) })) });
  });
  return { frames: nF, seed: o.seed, autoBoard, placement: o.placement ?? DEFAULT_PLACEMENT, timesteps: T, reportTimesteps: r.reportTimesteps, chips };
}

// ---------------------------------------------------------------------------------------------
// outputs: progress line, CSV, SVG, closing report

const f3 = (v: number) => v.toFixed(3);
const sig = (v: number) => Number(v.toPrecision(3)).toString();

/** Group scales of a point in a few characters: "g1=0.71 g2=1.2 g3=0.95", two-phase "g1=0.35→0.71 ... switch 12". */
export function formatPoint(space: SearchSpace, x: readonly number[]): string {
  const { scale, scale2, tSwitch } = space.groupScales(x);
  const g = scale.map((s, k) => `g${k + 1}=${space.opts.twoPhase ? `${sig(s)}→${sig(scale2[k])}` : sig(s)}`).join(' ');
  return tSwitch === undefined ? g : `${g} switch@${tSwitch}`;
}

export function progressLine(e: TuneEvaluation, space: SearchSpace, budget: number, metric: ScoreMetric = 'ap'): string {
  const o = e.objective;
  return (
    `[${e.search === 'bo' ? 'bo' : 'rs'} ${e.index + 1}/${budget} ${e.phase}] ${formatPoint(space, e.x)} | ${scoreName(metric)} ${f3(o.score)} SOPx${f3(o.sopRatio)} ` +
    `lat ${o.latency}${o.reached ? '' : '(not reached)'} | J ${o.value.toFixed(4)} best ${e.best.toFixed(4)} | ${e.simSeconds.toFixed(1)} s sim`
  );
}

/** Every evaluation of both searches, one row each (deterministic: no timings). */
export function evaluationsCsv(r: TuneResult): string {
  const names = r.space.describe(r.space.lower).names;
  // score_*: the objective's score (r.objective.score: f1 or ap); AP and F1 at T beside it
  const header = ['search', 'eval', 'phase', ...names, 'score_window', 'score_T', 'ap_T', 'f1_T', 'sop_ratio', 'latency_ticks', 'reached', 'objective', 'best_so_far'];
  const row = (search: string, n: number, phase: string, x: readonly number[] | undefined, o: ObjectiveValue, best: number) => {
    const d = x ? r.space.describe(x) : { names, values: names.map(() => NaN) };
    return [
      search, n, phase,
      ...d.values.map((v, i) => (Number.isNaN(v) ? '' : d.names[i] === 't_switch' ? String(v) : v.toFixed(6))),
      o.score.toFixed(6), o.scoreT.toFixed(6), o.apT.toFixed(6), o.f1T.toFixed(6), o.sopRatio.toFixed(6), o.latency, o.reached ? 1 : 0, o.value.toFixed(6), best.toFixed(6),
    ];
  };
  const x0 = r.space.untunedPoint();
  const rows = [
    row('untuned', 0, 'baseline', x0, r.untuned, r.untuned.value),
    ...[...r.bo, ...r.random].map((e) => row(e.search, e.index + 1, e.phase, e.x, e.objective, e.best)),
  ];
  return stringify([header, ...rows]);
}

/** Best objective so far against evaluations, BO and random search. */
export function bestSoFarSvg(r: TuneResult, title: string): string {
  const start: Array<[number, number]> = r.space.untunedPoint() ? [[0, r.untuned.value]] : [];
  const curve = (list: TuneEvaluation[]) => [...start, ...list.map((e): [number, number] => [e.index + 1, e.best])];
  const series = [{ name: 'Bayesian optimization', points: curve(r.bo), emphasis: true }];
  if (r.random.length) series.push({ name: 'random search', points: curve(r.random), emphasis: false });
  return lineChart(series, {
    title, xLabel: 'evaluations (0: the untuned network)', yLabel: 'best objective so far (tuning images)',
    hLines: [{ y: r.untuned.value, label: 'untuned network' }],
  });
}

const pct = (f: number) => `${Math.round(f * 100)}%`;
const signedPct = (f: number) => `${f >= 0 ? '+' : '−'}${Math.abs(f * 100).toFixed(1)}%`;

/** The closing report (stdout). */
export function formatTuneReport(r: TuneResult, head: { model: string; description: string }, energy?: HoldoutEnergy): string {
  const out: string[] = [];
  const w = r.objective;
  const sp = r.space.opts;
  out.push(`neuroemu tune — ${head.model}; seed ${r.seed}`);
  out.push(head.description);
  out.push(
    `search: ${r.space.layers.length} spiking layers in ${sp.groups} groups, scales in [${sp.bounds.join(', ')}] (log2)` +
      (sp.twoPhase ? `, two-phase (phase-1/phase-2 ratio in [${sp.ratioBounds.join(', ')}], t_switch in [1, ${Math.floor(r.timesteps / 2)}])` : '') +
      `, weights ${sp.compensate ? 'compensated' : 'not compensated'}; budget ${r.budget} per search (${r.random.length ? 'BO, random search' : 'BO; no random search'}), ${r.images} tuning images, T = ${r.timesteps}`,
  );
  out.push(`groups: ${Array.from({ length: sp.groups }, (_, g) => `g${g + 1} = ${r.space.layers.filter((_, k) => r.space.groupOf[k] === g).map((l) => l.name).join(', ')}`).join('; ')}`);
  const S = scoreName(w.score);
  const scoreSaid = w.score === 'f1'
    ? `F1 of the SNN's detections above score ${r.threshold} against the ANN's (IoU >= 0.5)`
    : 'AP@0.5 against the ANN\'s detections';
  out.push(
    `objective (score ${S}: ${scoreSaid}; t_reach: ${w.latencyRule === 'settled' ? `first tick from which ${S} stays at the goal` : 'first tick at the goal'}): J = ${w.apWindow > 0 ? `mean ${S} over checkpoints in [${Number(((1 - w.apWindow) * r.timesteps).toPrecision(6))}, ${r.timesteps}]` : `${S}(${r.timesteps})`} − ${w.wSop}·(SOPs/SOPs_untuned − 1) − ${w.wLat}·t_reach/T, t_reach = first tick with ${S} >= ${w.target} × ` +
      `${w.latencyReference === 'ann' ? `the ANN's ${S} (1)` : `the untuned network's ${S}(T)`}`,
  );
  out.push('');
  const figs = (o: ObjectiveValue) => `${S} ${f3(o.score)}, ${S}@${r.timesteps} ${f3(o.scoreT)}, ${w.score === 'f1' ? 'AP' : 'F1'}@${r.timesteps} ${f3(w.score === 'f1' ? o.apT : o.f1T)}`;
  out.push(`tuning images (${r.images}): untuned J ${r.untuned.value.toFixed(4)} (${figs(r.untuned)}, t_reach ${r.untuned.latency})`);
  const line = (name: string, b: NonNullable<TuneResult['bestRandom']>) => {
    if (b.index < 0) return `  ${name} best: none of its ${r.budget} candidates beat the untuned network (its thresholds are kept)`;
    return `  ${name} best J ${b.objective.value.toFixed(4)} at evaluation ${b.index + 1} (${figs(b.objective)}, SOPs x${f3(b.objective.sopRatio)}, t_reach ${b.objective.latency}): ${formatPoint(r.space, b.x)}`;
  };
  out.push(line('BO    ', r.best));
  if (r.bestRandom) out.push(line('random', r.bestRandom));
  out.push('');
  out.push(
    `held-out images (${r.holdoutImages}, never seen by the search), run to ${r.reportTimesteps} ticks; ${scoreSaid} (the ANN's = 1), AP and F1 at ${r.timesteps} beside it; ` +
      `ticks to X% = ${w.latencyRule === 'settled' ? `first checkpoint from which ${S} stays >= X%` : `first checkpoint with ${S} >= X%`}:`,
  );
  const res = r.holdout.results;
  const longer = r.reportTimesteps > r.timesteps;
  const name = (l: HoldoutResult['label']) => (l === 'untuned' ? 'untuned (channel-wise + IBT)' : l === 'bo' ? 'BO thresholds' : 'random-search thresholds');
  const rows = res.map((h) => [
    name(h.label), f3(h.scoreAtT), ...(longer ? [f3(h.scoreAtR)] : []), f3(w.score === 'f1' ? h.apAtT : h.f1AtT),
    ...h.reach.flatMap((x) => [x.tick === null ? `> ${r.reportTimesteps}` : String(x.tick), x.sopsPerImage === null ? '' : thousands(x.sopsPerImage)]),
    thousands(h.sopsPerImageAtT), h.objective.value.toFixed(4),
  ]);
  out.push(
    formatTable(
      [
        { header: 'network', align: 'left' }, { header: `${S}@${r.timesteps}` }, ...(longer ? [{ header: `${S}@${r.reportTimesteps}` }] : []),
        { header: `${w.score === 'f1' ? 'AP' : 'F1'}@${r.timesteps}` },
        ...r.holdout.targets.flatMap((f) => [{ header: `ticks to ${pct(f)}` }, { header: `SOPs/img to ${pct(f)}` }]),
        { header: `SOPs/img @${r.timesteps}` }, { header: 'J (held-out)' },
      ],
      rows,
    ),
  );
  const u = res[0];
  const cmp: string[] = [];
  for (const h of res.slice(1)) {
    const parts = r.holdout.targets.map((f, i) => {
      const a = u.reach[i], b = h.reach[i];
      if (a.tick === null || b.tick === null) {
        return `${pct(f)}: ${b.tick === null ? 'not reached' : `reached at ${b.tick}`}${a.tick === null ? ` (untuned: not reached by ${r.reportTimesteps})` : ` (untuned: ${a.tick})`}`;
      }
      return `${pct(f)}: speed-up ${(a.tick / b.tick).toFixed(2)}x (${a.tick} → ${b.tick} ticks), SOPs to get there ${signedPct(b.sopsPerImage! / a.sopsPerImage! - 1)}`;
    });
    cmp.push(`${name(h.label)} vs untuned — ${parts.join('; ')}; ${S}@${r.timesteps} ${h.scoreAtT >= u.scoreAtT ? '+' : ''}${f3(h.scoreAtT - u.scoreAtT)}; SOPs @${r.timesteps} ${signedPct(h.sopsPerImageAtT / u.sopsPerImageAtT - 1)}`);
  }
  out.push('');
  out.push(...cmp);
  out.push('(the paper reports 2x (VOC) / 1.85x (COCO) faster convergence and 40.33% / 45.31% fewer SOPs than conventional conversion)');
  out.push('');
  if (energy?.chips.length) out.push(...energyLines(r, energy, name));
  else out.push('energy per frame: not priced (--chip none); `neuroemu run --thresholds FILE` prices the tuned network on a chip model');
  return out.join('\n') + '\n';
}

/** The energy part of the closing report: a table per chip and network, then the changes against the untuned network. */
function energyLines(r: TuneResult, en: HoldoutEnergy, name: (l: HoldoutResult['label']) => string): string[] {
  const out: string[] = [];
  const T = r.timesteps, R = r.reportTimesteps;
  const targets = r.holdout.targets;
  out.push(
    `energy per frame on chip models: the held-out images (mean of ${en.frames} frame${en.frames === 1 ? '' : 's'}), each network emulated as \`neuroemu run\` does ` +
      `(mapping, routes, per-event energy, tick timing; constants from the chip file; seed ${en.seed}${en.autoBoard ? ', auto-board' : ''}${`, placement by ${en.placement}`}), ` +
      `energy of ticks 1..t priced at the ticks t each network needs to reach ${targets.map(pct).join(' and ')} of the ANN's ${scoreName(r.objective.score)} (the ticks above: energy to accuracy) and at T = ${T}:`,
  );
  const cell = (p: EnergyPoint | null) => (p === null ? `never within ${R}` : `${si(p.energyPerFrameJ, 'J')} @${p.ticks}`);
  const rows = en.chips.flatMap((c) =>
    c.networks.map((n, k) => [k === 0 ? c.chip : '', name(n.label), ...n.reach.map((x) => cell(x.point)), si(n.atT.energyPerFrameJ, 'J'), si(n.atT.latencyPerFrameS, 's')]),
  );
  out.push(
    formatTable(
      [
        { header: 'chip', align: 'left' }, { header: 'network', align: 'left' },
        ...targets.map((f) => ({ header: `energy to ${pct(f)}` })), { header: `energy @${T}` }, { header: `latency @${T}` },
      ],
      rows,
    ),
  );
  out.push(`chips: ${en.chips.map((c) => `${c.chip} = ${c.file}${c.variant ? ` variant ${c.variant}` : ''}, ${thousands(c.cores)} cores on ${thousands(c.chips)} chip${c.chips === 1 ? '' : 's'}`).join('; ')} (one mapping per chip serves the three networks)`);
  const change = (a: EnergyPoint | null, b: EnergyPoint | null) => (a === null || b === null ? 'n/a' : signedPct(b.energyPerFrameJ / a.energyPerFrameJ - 1));
  for (const k of [1, 2]) {
    if (!en.chips[0] || k >= en.chips[0].networks.length) continue;
    const parts = en.chips.map((c) => {
      const u = c.networks[0], h = c.networks[k];
      return `${c.chip} ${[...targets.map((f, i) => `to ${pct(f)} ${change(u.reach[i].point, h.reach[i].point)}`), `@${T} ${change(u.atT, h.atT)}`].join(', ')}`;
    });
    out.push(`${name(en.chips[0].networks[k].label)} vs untuned, energy per frame — ${parts.join('; ')}`);
  }
  return out;
}
