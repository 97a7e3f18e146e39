/**
 * Fixed-point precision of a chip (`neuroemu run --precision chip`): quantizes a converted spiking
 * network to the weight and membrane bits a chip declares (chips/*.json `core.weight_bits`,
 * `core.membrane_bits`), so the emulation shows the accuracy those bits cost.
 *
 * Signed symmetric fixed point, no zero point; L_w = 2^(weight_bits−1) − 1 weight levels and
 * L_m = 2^(membrane_bits−1) − 1 membrane levels each side of 0 (at least 1: 1-bit weights become
 * ternary); q = round half away from zero. Each neuron (output channel j of a conv layer) counts
 * its membrane in integer units of a step Δ_j:
 * - weights W ← clamp(q(W/Δ_j), ±L_w)·Δ_j, kept as the float32 numbers of that integer grid, so
 *   both simulator engines run unchanged; the bias (a constant current per tick) ← q(b̃/Δ_j)·Δ_j
 *   (clipped to ±L_m); the thresholds are whole numbers of levels, at least 1.
 * - the step, scale 'neuron' (the default; what the CLI uses): Δ_j = vth/K_j with K_j the most
 *   threshold levels that keep the neuron's largest weight within L_w levels,
 *   K_j = clamp(floor(vth·L_w / max_i|W_ij|), 1, floor(L_m / H)), H = max(headroom, r),
 *   r = vthNeg/vthPos (IBT: 1/α = 10), so both thresholds fit the membrane and it keeps H
 *   thresholds of range (default 64: in the float face detector 1–3% of the pointwise layers'
 *   membranes go beyond 40 thresholds, up to 15,000 — neurons driven past one spike per tick; with
 *   the range of the negative threshold alone, 10, 32/32-bit precision lost 0.23 AP, with 40 it
 *   lost 0.02, within noise). The cap
 *   binds only when the membrane has few bits more than the weights (TrueNorth 9/20 and Loihi
 *   9/24 never reach it on the face detector; ODIN 3/8 and 8/16 do). vth is then exact (K_j levels) and one scalar
 *   threshold serves the layer, as the IR wants; the negative threshold is r·K_j levels, whole
 *   when r is an integer (noted otherwise). Chips set weights and thresholds per neuron (TrueNorth:
 *   each neuron its own; Loihi: per compartment prototype), and channel-wise normalization makes a
 *   per-layer step useless: one outlier channel (a rarely active one, tiny λ, weights in the
 *   thousands) sets the step of the whole layer — measured on the face detector at 9 bits: 65% of
 *   the weights rounded to 0 and AP@0.5 vs the ANN 0.04 instead of 0.84 (at 128 px: 77%, and one
 *   layer's threshold became its 1 level of Δ = 11.3, i.e. 11.3 instead of 1).
 * - scale 'layer' (the plain rule, kept for comparison): Δ = max|W̃| of the layer / L_w, the
 *   thresholds rounded to max(1, q(vth/Δ)) levels, clipped to L_m (reported).
 * - the readout layer ('integrate', no threshold): Δ_j = max_i|W_ij| / L_w, or coarser so that
 *   the membrane can hold `readoutTicks` ticks of the largest input a tick can bring,
 *   Δ_j ≥ readoutTicks·(|b_j| + Σ_i|W_ij|) / L_m (each input neuron spikes at most once a tick):
 *   the readout never saturates within the run (`run` passes --timesteps).
 * - membrane: saturating at ±L_m·Δ_j (`membraneClamp`), applied by both engines once per tick after
 *   the tick's input and bias are integrated, before the threshold test. (A chip that saturates
 *   after every synaptic event can differ when one tick's events push past the bound and back.)
 *   The readout layer saturates too: a narrow membrane cannot integrate long.
 * - analog input: the image is real-valued, so Σ W·x of the first layer is not on the grid; the
 *   layer's constant drive (bias included) is rounded to its Δ_j (`gridStep`, applied in
 *   src/sim/plan.ts `analogDrive`): the image enters as an integer current per neuron, as a
 *   bias-style input does on Loihi. With Poisson input coding instead, the engines scale the first
 *   layer's weights by the image's max|p| (the rate code's gain), so that layer's membrane is on
 *   the grid Δ·max|p| (still saturating at ±L_m·Δ).
 * - depthwise (grouped) and fused layers are quantized the same way; max-pool, route and upsample
 *   carry spikes only and have nothing to quantize.
 *
 * How to read the cost: the spiking network is chaotic at the level of single spikes. On the face
 * detector (6 sample photos, 64 ticks) a 10⁻⁶ relative perturbation of the float weights moves
 * AP@0.5 vs the ANN from 0.839 to 0.773–0.819, so differences below ~0.05 are within that noise.
 *
 * Every membrane quantity is then an integer × Δ, so the membrane stays on the grid: exactly as
 * far as float32 represents k·Δ (Δ is not a power of two; each add may round by half an ulp,
 * ~6·10⁻⁸ relative, far below one level for the membranes near threshold a network runs at).
 * A chip's integer arithmetic is exact; this emulation is that up to float32 rounding.
 *
 * Not modelled: bias and threshold fields narrower than the membrane (Loihi: 13-bit mantissa with
 * an exponent), weight exponents / per-core scales, TrueNorth's 4 weights per neuron (the mapper
 * notes that separately), stochastic rounding.
 */
import type { SnnConvLayer, SnnLayer, SnnNetwork } from './snn-ir.ts';
import { formatVersionFor } from './snn-ir.ts';

export interface ChipBits {
  /** signed weight bits (chips/*.json core.weight_bits) */
  weightBits: number;
  /** signed membrane bits (core.membrane_bits) */
  membraneBits: number;
}

/** one step Δ per output channel (a neuron's own integer scale, the default) or one per layer */
export type QuantScale = 'neuron' | 'layer';

export interface QuantizeOptions {
  scale?: QuantScale;
  /**
   * neuron scale: the membrane range each spiking neuron keeps, in thresholds (at least
   * vthNeg/vthPos): K_j ≤ floor(L_m / headroom). Default DEFAULT_HEADROOM.
   */
  headroom?: number;
  /**
   * readout layers: their membrane holds this many ticks of the largest input a tick can bring
   * (|b_j| + Σ_i |W_ij|) without saturating: Δ_j ≥ readoutTicks·(|b_j| + Σ_i |W_ij|) / L_m. The CLI
   * passes --timesteps. Default 0: the step follows the weights only.
   */
  readoutTicks?: number;
}

/** membrane range, in thresholds, a spiking neuron keeps at least (6 bits above the threshold) */
export const DEFAULT_HEADROOM = 64;

/** What quantization did to one conv layer. */
export interface LayerQuantization {
  /** SNN layer index */
  layer: number;
  name: string;
  rule: SnnConvLayer['rule'];
  /** smallest and largest step Δ over the output channels (normalized membrane units per level) */
  stepMin: number;
  stepMax: number;
  /** integer weight levels each side of 0 (2^(wb−1) − 1) */
  weightLevels: number;
  /** integer membrane levels each side of 0 (2^(mb−1) − 1); the bound is this × Δ */
  membraneLevels: number;
  /** max |W̃ − W_q| over the layer's weights (≤ Δ/2 unless clipped) */
  maxWeightError: number;
  weights: number;
  /** weights that were not 0 and became 0 */
  zeroed: number;
  /** weights beyond ±L_w·Δ, clipped (neuron scale: a neuron whose weight exceeds L_w thresholds) */
  weightsClipped: number;
  /** max |b̃ − b_q| */
  maxBiasError: number;
  /** biases clipped to the membrane range */
  biasesClipped: number;
  /** the thresholds as integer levels, smallest and largest over the channels (null: none on that side) */
  vthPosLevels: [number, number] | null;
  vthNegLevels: [number, number] | null;
  /** channels whose negative threshold is not a whole number of levels (neuron scale, vthNeg/vthPos not an integer) */
  fractionalVthNeg: number;
  /** the thresholds before and after */
  vthPosFloat: number;
  vthNegFloat: number;
  vthPos: number;
  vthNeg: number;
  /** layer scale: a threshold was clipped to the membrane range */
  thresholdClipped: boolean;
}

export interface QuantizationReport {
  weightBits: number;
  membraneBits: number;
  scale: QuantScale;
  layers: LayerQuantization[];
  /** totals over the layers */
  weights: number;
  zeroed: number;
  weightsClipped: number;
  notes: string[];
}

/** integer levels each side of 0 of a signed `bits`-bit symmetric code (at least 1) */
export function signedLevels(bits: number): number {
  return Math.max(1, 2 ** (bits - 1) - 1);
}

/** round half away from zero, no −0 */
function q(x: number): number {
  const r = Math.sign(x) * Math.round(Math.abs(x));
  return r === 0 ? 0 : r;
}

const clampTo = (k: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, k));

function quantizeConv(l: SnnConvLayer, wLevels: number, mLevels: number, scale: QuantScale, headroom: number, readoutTicks: number): { layer: SnnConvLayer; report: LayerQuantization } {
  const C = l.outShape.c, per = l.weights.length / C; // OIHW: each output channel's weights are contiguous
  const spiking = l.rule !== 'integrate';
  const hasNeg = spiking && Number.isFinite(l.vthNeg);
  const m = new Float64Array(C);
  for (let j = 0; j < C; j++) for (let i = j * per; i < (j + 1) * per; i++) m[j] = Math.max(m[j], Math.abs(l.weights[i]));
  const step = new Float64Array(C);
  let vthPos = l.vthPos, vthNeg = l.vthNeg, thresholdClipped = false;
  let posLv: [number, number] | null = null, negLv: [number, number] | null = null, fractionalVthNeg = 0;
  if (scale === 'layer') {
    let ref = Math.max(...m);
    if (!(ref > 0)) ref = Math.max(...Array.from(l.biases, Math.abs), spiking ? l.vthPos : 0) || 1;
    step.fill(ref / wLevels);
    const d = ref / wLevels;
    const level = (v: number): number => {
      const k0 = Math.max(1, q(v / d));
      if (k0 > mLevels) thresholdClipped = true;
      return Math.min(k0, mLevels);
    };
    if (spiking) {
      const kp = level(l.vthPos);
      vthPos = Math.fround(kp * d);
      posLv = [kp, kp];
    }
    if (hasNeg) {
      const kn = level(l.vthNeg);
      vthNeg = Math.fround(kn * d);
      negLv = [kn, kn];
    }
  } else if (spiking) {
    // the neuron's own integer scale: Δ_j = vth/K_j, K_j the most threshold levels that keep its
    // largest weight within L_w levels; both thresholds must fit the membrane (K_j·r ≤ L_m)
    const r = hasNeg ? l.vthNeg / l.vthPos : 1;
    const kMax = Math.max(1, Math.floor(mLevels / Math.max(r, headroom)));
    let pMin = Infinity, pMax = 0;
    for (let j = 0; j < C; j++) {
      const k = m[j] > 0 ? clampTo(Math.floor((l.vthPos * wLevels / m[j]) * (1 + 1e-6)), 1, kMax) : kMax;
      step[j] = l.vthPos / k;
      pMin = Math.min(pMin, k);
      pMax = Math.max(pMax, k);
      if (hasNeg && Math.abs(r * k - Math.round(r * k)) > 1e-6 * r * k) fractionalVthNeg++;
    }
    posLv = [pMin, pMax];
    if (hasNeg) negLv = [r * pMin, r * pMax];
  } else {
    // readout (no threshold): the largest weight of each channel on the top level
    for (let j = 0; j < C; j++) {
      let sum = Math.abs(l.biases[j]);
      for (let i = j * per; i < (j + 1) * per; i++) sum += Math.abs(l.weights[i]);
      step[j] = Math.max((m[j] > 0 ? m[j] : Math.abs(l.biases[j]) || 1) / wLevels, (readoutTicks * sum) / mLevels);
    }
  }
  const weights = new Float32Array(l.weights.length);
  let maxWeightError = 0, zeroed = 0, weightsClipped = 0;
  for (let j = 0; j < C; j++) {
    const d = step[j];
    for (let i = j * per; i < (j + 1) * per; i++) {
      const w = l.weights[i];
      const k0 = q(w / d), k = clampTo(k0, -wLevels, wLevels);
      if (k !== k0) weightsClipped++;
      weights[i] = k * d;
      maxWeightError = Math.max(maxWeightError, Math.abs(w - weights[i]));
      if (w !== 0 && k === 0) zeroed++;
    }
  }
  const biases = new Float32Array(C);
  let maxBiasError = 0, biasesClipped = 0;
  for (let j = 0; j < C; j++) {
    const b = l.biases[j];
    const k0 = q(b / step[j]), k = clampTo(k0, -mLevels, mLevels);
    if (k !== k0) biasesClipped++;
    biases[j] = k * step[j];
    maxBiasError = Math.max(maxBiasError, Math.abs(b - biases[j]));
  }
  const layer: SnnConvLayer = {
    ...l,
    weights,
    biases,
    vthPos,
    vthNeg,
    gridStep: Float32Array.from(step),
    membraneClamp: Float32Array.from(step, (d) => mLevels * d),
  };
  return {
    layer,
    report: {
      layer: l.index, name: l.name, rule: l.rule, stepMin: Math.min(...step), stepMax: Math.max(...step), weightLevels: wLevels, membraneLevels: mLevels,
      maxWeightError, weights: weights.length, zeroed, weightsClipped, maxBiasError, biasesClipped,
      vthPosLevels: posLv, vthNegLevels: negLv, fractionalVthNeg, vthPosFloat: l.vthPos, vthNegFloat: l.vthNeg, vthPos, vthNeg, thresholdClipped,
    },
  };
}

/**
 * A NEW network quantized to the chip's bits (see the module comment); `snn` is not changed
 * (non-conv layers are shared with it). Conv layers get fixed-point weights, biases and thresholds
 * and the `gridStep` / `membraneClamp` arrays; the result saves as .snn format version 2.
 */
export function quantizeForChip(snn: SnnNetwork, bits: ChipBits, opts: QuantizeOptions = {}): { snn: SnnNetwork; report: QuantizationReport } {
  for (const [k, v] of Object.entries(bits)) {
    if (!Number.isInteger(v) || v < 1 || v > 64) throw new RangeError(`quantizeForChip: ${k} ${v} must be an integer in 1..64`);
  }
  const scale = opts.scale ?? 'neuron';
  if (scale !== 'neuron' && scale !== 'layer') throw new RangeError(`quantizeForChip: scale "${String(scale)}" must be neuron or layer`);
  const headroom = opts.headroom ?? DEFAULT_HEADROOM, readoutTicks = opts.readoutTicks ?? 0;
  if (!(headroom >= 1)) throw new RangeError(`quantizeForChip: headroom ${headroom} must be at least 1`);
  if (!(readoutTicks >= 0)) throw new RangeError(`quantizeForChip: readoutTicks ${readoutTicks} must be 0 or more`);
  const wLevels = signedLevels(bits.weightBits), mLevels = signedLevels(bits.membraneBits);
  const reports: LayerQuantization[] = [];
  const layers: SnnLayer[] = snn.layers.map((l) => {
    if (l.kind !== 'conv') return l;
    const r = quantizeConv(l, wLevels, mLevels, scale, headroom, readoutTicks);
    reports.push(r.report);
    return r.layer;
  });
  const sum = (f: (r: LayerQuantization) => number) => reports.reduce((a, r) => a + f(r), 0);
  const notes: string[] = [];
  const clippedT = reports.filter((r) => r.thresholdClipped);
  if (clippedT.length) notes.push(`threshold clipped to the ${bits.membraneBits}-bit membrane range in ${clippedT.map((r) => r.name).join(', ')}`);
  const clippedW = sum((r) => r.weightsClipped);
  if (clippedW) notes.push(`${clippedW} weights clipped to ±${wLevels} levels (larger than ${scale === 'neuron' ? `${wLevels} thresholds of their neuron` : 'the layer range'})`);
  const clippedB = sum((r) => r.biasesClipped);
  if (clippedB) notes.push(`${clippedB} biases clipped to the ${bits.membraneBits}-bit membrane range`);
  const frac = sum((r) => r.fractionalVthNeg);
  if (frac) notes.push(`${frac} neurons have a negative threshold that is not a whole number of levels (vthNeg/vthPos is not an integer)`);
  if (snn.settings.input === 'poisson') notes.push('Poisson input: the first layer\'s weights are scaled by each image\'s max|p| (rate-code gain), off the Δ grid');
  return {
    snn: { ...snn, formatVersion: Math.max(snn.formatVersion, formatVersionFor({ settings: snn.settings, layers })), layers },
    report: { weightBits: bits.weightBits, membraneBits: bits.membraneBits, scale, layers: reports, weights: sum((r) => r.weights), zeroed: sum((r) => r.zeroed), weightsClipped: clippedW, notes },
  };
}

/**
 * A threshold value set at run time (a two-phase schedule) on a quantized layer's grid, as
 * `quantizeForChip` puts the layer's own: max(1, q(v/Δ))·Δ, at most the membrane bound. Only
 * possible when the layer has one Δ (layer scale); with per-neuron steps (or a float layer) v is
 * returned unchanged, and `onGrid` says whether it was put on the grid.
 */
export function thresholdOnGrid(l: SnnConvLayer, v: number): { value: number; onGrid: boolean } {
  const st = l.gridStep;
  if (!st || !Number.isFinite(v) || st.some((d) => d !== st[0])) return { value: v, onGrid: false };
  const d = st[0];
  const top = l.membraneClamp ? Math.round(l.membraneClamp[0] / d) : Infinity;
  return { value: Math.fround(Math.min(Math.max(1, q(v / d)), top) * d), onGrid: true };
}

/** One line for reports: "weights 9-bit (Δ per neuron), membrane 24-bit saturating; thresholds 2..980 levels; 3.1% of weights rounded to 0". */
export function describeQuantization(r: QuantizationReport): string {
  const pct = r.weights ? (100 * r.zeroed) / r.weights : 0;
  const lv = r.layers.filter((l) => l.vthPosLevels);
  const tMin = Math.min(...lv.map((l) => l.vthPosLevels![0])), tMax = Math.max(...lv.map((l) => l.vthPosLevels![1]));
  return `weights ${r.weightBits}-bit (Δ per ${r.scale}), membrane ${r.membraneBits}-bit saturating; ` +
    (lv.length ? `thresholds ${tMin === tMax ? `${tMin} level${tMin === 1 ? '' : 's'}` : `${tMin}..${tMax} levels`}; ` : '') +
    `${pct > 0 && pct < 0.1 ? pct.toPrecision(1) : pct.toFixed(1)}% of weights rounded to 0`;
}
