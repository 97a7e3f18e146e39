/**
 * Calibration: run the ANN over calibration images and collect, for every conv layer's OUTPUT
 * (post-activation) and every channel, the statistics the normalization reads λ from:
 * max, min, and the distribution of the positive values (for percentiles), plus the distribution
 * of the negative values for linear layers (whose λ is taken from |activation|) and leaky layers
 * (whose negative side can saturate an IBT neuron: settings.lambdaSide 'both').
 *
 * No activation is kept: each channel has a streaming histogram on a fixed logarithmic grid.
 *
 * Precision of the percentiles (documented, tested against an exact sort):
 * - the grid has BINS_PER_OCTAVE = 72 bins per octave over [2^-20, 2^20) (≈ 9.5e-7 .. 1.05e6),
 *   so a bin spans a ratio r = 2^(1/72) ≈ 1.00967; a percentile is reported as the bin's geometric
 *   centre (clamped to the exact min/max of the values seen). A value is binned from its float32
 *   bits through a table indexed by exponent and the top 13 mantissa bits (no logarithm per value):
 *   a value within 2^-13 (relative) above a bin edge may land in the bin below. Together the
 *   reported percentile is within √r·(1 + 2^-13) − 1 ≈ 0.495 % (relative) of the exact value.
 *   Histograms merge exactly across images, channels (layer-wise percentiles) and calibration
 *   runs, because all share the one grid.
 * - values below 2^-20 fall in an underflow bin (reported as the smallest positive value seen),
 *   values at or above 2^20 in an overflow bin (reported as the exact max).
 * - max and min are exact (float32 values of the ANN).
 *
 * Percentile definition: nearest rank over the POSITIVE values of the channel (or layer):
 * p-th percentile = the k-th smallest positive value, k = ceil(p/100 · n), n = number of
 * positive values. Using the non-zero values follows snn_toolbox (`nonzero_activations` in
 * normalize_parameters, Rueckauer 2017); for ReLU/leaky layers only the positive side sets λ.
 * For linear layers the same is available over |x| of the non-zero values (side 'abs'); for linear
 * and leaky layers over |x| of the negative values alone (side 'negative').
 */
import { createHash } from 'node:crypto';
import type { AnnEngineKind } from '../ann/engine.ts';
import { createAnnEngine } from '../ann/engine.ts';
import { decodeImage } from '../image/decode.ts';
import { preprocess } from '../image/preprocess.ts';
import { readFileChecked } from '../model/darknet.ts';
import type { ConvLayer, Network } from '../model/ir.ts';
import { shapeSize } from '../model/ir.ts';
import { fail } from '../util/errors.ts';
import type { NormStatistic } from './snn-ir.ts';

export const BINS_PER_OCTAVE = 72;
export const LOG2_LO = -20;
export const LOG2_HI = 20;
/** regular bins; index 0 is the underflow bin, REGULAR_BINS + 1 the overflow bin */
export const REGULAR_BINS = (LOG2_HI - LOG2_LO) * BINS_PER_OCTAVE;
export const HIST_BINS = REGULAR_BINS + 2;
const MANTISSA_BITS = 13;
/** bound on the relative error of a histogram percentile (see the module comment) */
export const PERCENTILE_REL_ERROR = 2 ** (1 / (2 * BINS_PER_OCTAVE)) * (1 + 2 ** -MANTISSA_BITS) - 1;
/** float32 bit patterns of 2^LOG2_LO and 2^LOG2_HI */
const LO_BITS = (127 + LOG2_LO) << 23;
const HI_BITS = (127 + LOG2_HI) << 23;
const SHIFT = 23 - MANTISSA_BITS;
/** sub-bin (exponent, top mantissa bits) → log bin of the sub-bin's lower edge */
const BIN_TABLE = (() => {
  const n = (HI_BITS - LO_BITS) >>> SHIFT;
  const t = new Uint16Array(n);
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  for (let k = 0; k < n; k++) {
    u[0] = LO_BITS + (k << SHIFT);
    const b = 1 + Math.floor((Math.log2(f[0]) - LOG2_LO) * BINS_PER_OCTAVE);
    t[k] = Math.min(REGULAR_BINS, Math.max(1, b));
  }
  return t;
})();

/** histogram bin of a positive float32 value given its bit pattern */
function binOfBits(bits: number): number {
  if (bits < LO_BITS) return 0;
  if (bits >= HI_BITS) return REGULAR_BINS + 1;
  return BIN_TABLE[(bits - LO_BITS) >>> SHIFT];
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** histogram bin of a positive value (rounded to float32 first) */
export function binOf(x: number): number {
  f32[0] = x;
  return binOfBits(u32[0]);
}

/** geometric centre of a regular bin */
function binCentre(b: number): number {
  return 2 ** (LOG2_LO + (b - 0.5) / BINS_PER_OCTAVE);
}

/** which values a statistic is read from: the positive outputs, |x| of the non-zero outputs, or |x| of the negative outputs */
export type StatSide = 'positive' | 'abs' | 'negative';

/** Statistics of one conv layer's output, per channel. */
export interface LayerActivationStats {
  layer: number;
  name: string;
  channels: number;
  /** values seen per channel (images × H × W) */
  count: number;
  /** exact max / min per channel over all values seen (−Infinity / +Infinity before any) */
  max: Float64Array;
  min: Float64Array;
  /** smallest positive value and smallest |negative| value per channel (clamps the estimates) */
  minPos: Float64Array;
  minNegAbs: Float64Array;
  /** per channel HIST_BINS counts of the positive values, channel-major */
  posHist: Uint32Array;
  /** same for −x of the negative values; kept for linear and leaky layers (not relu) */
  negHist?: Uint32Array;
}

/**
 * Nearest-rank percentile (see the module comment) from a histogram, clamped to [lo, hi], the
 * exact extremes of the values counted. Returns 0 when the histogram is empty.
 */
export function histogramPercentile(hist: ArrayLike<number>, p: number, lo: number, hi: number): number {
  let n = 0;
  for (let b = 0; b < HIST_BINS; b++) n += hist[b];
  if (n === 0) return 0;
  if (p >= 100) return hi;
  const k = Math.max(1, Math.ceil((p / 100) * n));
  let cum = 0;
  for (let b = 0; b < HIST_BINS; b++) {
    cum += hist[b];
    if (cum >= k) {
      const est = b === 0 ? lo : b === REGULAR_BINS + 1 ? hi : binCentre(b);
      return Math.min(hi, Math.max(lo, est));
    }
  }
  return hi;
}

export function checkStatistic(s: NormStatistic, where = '--statistic'): void {
  if (s === 'max') return;
  if (typeof s !== 'number' || !Number.isFinite(s) || s <= 0 || s > 100) fail(where, `${String(s)} must be "max" or a percentile in (0, 100]`);
}

/** Activation statistics of a network over a set of calibration images. */
export class ActivationStats {
  /** by graph-IR layer index; conv layers only */
  readonly layers = new Map<number, LayerActivationStats>();
  /** calibration inputs (file paths, or labels for in-memory inputs) and sha256 of each file */
  readonly images: string[] = [];
  readonly hashes: string[] = [];

  constructor(readonly net: Network) {
    for (const l of net.layers) {
      if (l.kind !== 'conv') continue;
      const c = l.outShape.c;
      this.layers.set(l.index, {
        layer: l.index,
        name: l.name,
        channels: c,
        count: 0,
        max: new Float64Array(c).fill(-Infinity),
        min: new Float64Array(c).fill(Infinity),
        minPos: new Float64Array(c).fill(Infinity),
        minNegAbs: new Float64Array(c).fill(Infinity),
        posHist: new Uint32Array(c * HIST_BINS),
        negHist: l.activation !== 'relu' ? new Uint32Array(c * HIST_BINS) : undefined,
      });
    }
  }

  get imageCount(): number {
    return this.images.length;
  }

  /** Adds one forward pass (every layer's output, C×H×W, as the ANN engine returns them). */
  addOutputs(outputs: Float32Array[], label: string, hash = ''): void {
    for (const s of this.layers.values()) {
      const l = this.net.layers[s.layer] as ConvLayer;
      const out = outputs[s.layer];
      const hw = l.outShape.h * l.outShape.w;
      if (!out || out.length !== shapeSize(l.outShape)) throw new Error(`calibration: layer ${s.layer} output has ${out?.length} values, expected ${shapeSize(l.outShape)}`);
      const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
      if (s.count + hw > 0xffffffff) fail('--calib', `too many calibration values for layer ${s.layer} (histogram counts are 32-bit)`);
      for (let c = 0; c < s.channels; c++) {
        const base = c * HIST_BINS;
        let mx = s.max[c], mn = s.min[c], mp = s.minPos[c], mna = s.minNegAbs[c];
        const pos = s.posHist, neg = s.negHist;
        for (let i = c * hw, end = i + hw; i < end; i++) {
          const v = out[i];
          if (v > mx) mx = v;
          if (v < mn) mn = v;
          if (v > 0) {
            if (v < mp) mp = v;
            pos[base + binOfBits(bits[i])]++;
          } else if (v < 0 && neg) {
            if (-v < mna) mna = -v;
            neg[base + binOfBits(bits[i] & 0x7fffffff)]++;
          } else if (v !== v) {
            fail(label, `calibration: layer ${s.layer} (${s.name}) produced NaN`);
          }
        }
        s.max[c] = mx;
        s.min[c] = mn;
        s.minPos[c] = mp;
        s.minNegAbs[c] = mna;
      }
      s.count += hw;
    }
    this.images.push(label);
    this.hashes.push(hash);
  }

  /** Adds another run's statistics (same network shapes) into this one. */
  merge(other: ActivationStats): void {
    for (const [i, s] of this.layers) {
      const o = other.layers.get(i);
      if (!o || o.channels !== s.channels) throw new Error(`merge: layer ${i} differs`);
      for (let c = 0; c < s.channels; c++) {
        s.max[c] = Math.max(s.max[c], o.max[c]);
        s.min[c] = Math.min(s.min[c], o.min[c]);
        s.minPos[c] = Math.min(s.minPos[c], o.minPos[c]);
        s.minNegAbs[c] = Math.min(s.minNegAbs[c], o.minNegAbs[c]);
      }
      for (let k = 0; k < s.posHist.length; k++) s.posHist[k] += o.posHist[k];
      if (s.negHist && o.negHist) for (let k = 0; k < s.negHist.length; k++) s.negHist[k] += o.negHist[k];
      s.count += o.count;
    }
    this.images.push(...other.images);
    this.hashes.push(...other.hashes);
  }

  layer(index: number): LayerActivationStats {
    const s = this.layers.get(index);
    if (!s) throw new Error(`no activation statistics for layer ${index} (not a conv layer?)`);
    return s;
  }

  /**
   * λ per output channel of a conv layer: `statistic` ('max' or a percentile) of the positive
   * outputs (side 'positive') or of |x| (side 'abs', linear layers), per channel (mode 'channel')
   * or over the whole layer (mode 'layer': the same value for every channel).
   * A channel with no value on that side gets 0 (the caller decides the fallback).
   */
  lambda(layer: number, mode: 'layer' | 'channel', statistic: NormStatistic, side: StatSide = 'positive'): Float32Array {
    checkStatistic(statistic);
    const s = this.layer(layer);
    if (side !== 'positive' && !s.negHist) throw new Error(`layer ${layer} (${s.name}) is a relu layer: no statistics of its negative side`);
    const C = s.channels;
    const out = new Float32Array(C);
    const hiOf = (c: number) => (side === 'abs' ? Math.max(s.max[c], -s.min[c], 0) : side === 'negative' ? Math.max(-s.min[c], 0) : Math.max(s.max[c], 0));
    const loOf = (c: number) => (side === 'abs' ? Math.min(s.minPos[c], s.minNegAbs[c]) : side === 'negative' ? s.minNegAbs[c] : s.minPos[c]);
    if (mode === 'channel') {
      const h = new Float64Array(HIST_BINS);
      for (let c = 0; c < C; c++) {
        if (statistic === 'max') out[c] = hiOf(c);
        else {
          this.channelHist(s, c, side, h, true);
          out[c] = histogramPercentile(h, statistic, loOf(c), hiOf(c));
        }
      }
      return out;
    }
    let hi = 0, lo = Infinity;
    for (let c = 0; c < C; c++) {
      hi = Math.max(hi, hiOf(c));
      lo = Math.min(lo, loOf(c));
    }
    let v = hi;
    if (statistic !== 'max') {
      const h = new Float64Array(HIST_BINS);
      for (let c = 0; c < C; c++) this.channelHist(s, c, side, h, false);
      v = histogramPercentile(h, statistic, lo, hi);
    }
    return out.fill(v);
  }

  /** count of the values on a side per channel: positive, non-zero ('abs') or negative */
  sideCount(layer: number, side: StatSide = 'positive'): Float64Array {
    const s = this.layer(layer);
    const out = new Float64Array(s.channels);
    for (let c = 0; c < s.channels; c++) {
      let n = 0;
      for (let b = 0; b < HIST_BINS; b++) n += (side !== 'negative' ? s.posHist[c * HIST_BINS + b] : 0) + (side !== 'positive' && s.negHist ? s.negHist[c * HIST_BINS + b] : 0);
      out[c] = n;
    }
    return out;
  }

  private channelHist(s: LayerActivationStats, c: number, side: StatSide, into: Float64Array, reset: boolean): void {
    if (reset) into.fill(0);
    const base = c * HIST_BINS;
    if (side !== 'negative') for (let b = 0; b < HIST_BINS; b++) into[b] += s.posHist[base + b];
    if (side !== 'positive' && s.negHist) for (let b = 0; b < HIST_BINS; b++) into[b] += s.negHist[base + b];
  }
}

export interface CalibrateOptions {
  /** the ANN implementation (default wasm) */
  engine?: AnnEngineKind;
  /** called after each image: index, count, label, milliseconds it took */
  onImage?: (i: number, n: number, label: string, ms: number) => void;
}

/** sha256 of a file's bytes, hex */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Calibrates on preprocessed inputs (C×H×W each); labels name them in the statistics. */
export function calibrateInputs(net: Network, inputs: Float32Array[], labels?: string[], opts: CalibrateOptions = {}): ActivationStats {
  const stats = new ActivationStats(net);
  const engine = createAnnEngine(net, opts.engine ?? 'wasm', { reuseOutputs: true });
  inputs.forEach((input, i) => {
    const t0 = performance.now();
    const label = labels?.[i] ?? `input ${i}`;
    stats.addOutputs(engine.forward(input), label);
    opts.onImage?.(i, inputs.length, label, performance.now() - t0);
  });
  return stats;
}

/**
 * Calibrates on image files (decoded and preprocessed exactly as the ANN path does): one forward
 * pass per image, statistics accumulated, nothing kept. Records each file's sha256.
 */
export function calibrate(net: Network, images: string[], opts: CalibrateOptions = {}): ActivationStats {
  if (images.length === 0) fail('--calib', 'no calibration images given');
  const stats = new ActivationStats(net);
  const engine = createAnnEngine(net, opts.engine ?? 'wasm', { reuseOutputs: true });
  images.forEach((file, i) => {
    const t0 = performance.now();
    const bytes = readFileChecked(file);
    const input = preprocess(net, decodeImage(bytes, file));
    stats.addOutputs(engine.forward(input), file, sha256Hex(bytes));
    opts.onImage?.(i, images.length, file, performance.now() - t0);
  });
  return stats;
}
