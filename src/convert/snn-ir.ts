/**
 * The SNN IR: the converted spiking network that the simulator runs. Produced by src/convert
 * from a graph-IR Network plus calibration statistics; consumed by src/sim (and later src/hw).
 *
 * Units: thresholds are in normalized membrane units (vth = 1 by default). A +1 spike of a layer
 * stands for λ_out(c) of ANN activation in channel c, so rate × λ ≈ the ANN's activation.
 * Weights and biases are already normalized: W̃_ij = W_ij·λ_in(i)/λ_out(j), b̃_j = b_j/λ_out(j);
 * the bias is injected as a constant current every tick.
 *
 * Layout conventions as in the graph IR: shapes C×H×W, conv weights OIHW [out][in/groups][k][k].
 * The simulator may repack internally (channels-last).
 */
import type { Network, Shape } from '../model/ir.ts';

/** the version `convert` writes (float networks) */
export const SNN_FORMAT_VERSION = 1;
/**
 * Version 2: some conv layers carry fixed-point fields (`gridStep`, `membraneClamp`, written by
 * `quantizeForChip`). A version-1 reader refuses such a file instead of silently running it as
 * float; this one reads 1 and 2.
 */
export const SNN_FORMAT_VERSION_FIXED = 2;
/**
 * Version 3: the network uses dynamics an older reader would silently drop: settings vInit or
 * readoutStart above 0, or a max-pool with rule 'max'. Written only when one is used, so plain
 * networks stay readable by older neuroemu versions.
 */
export const SNN_FORMAT_VERSION_DYNAMICS = 3;
/**
 * Version 4: burst spikes (settings.burst above 1). A version-3 reader would run the network with
 * one spike per neuron and tick, so it must refuse the file. Written only when burst > 1.
 */
export const SNN_FORMAT_VERSION_BURST = 4;
/**
 * Version 5: sigma-delta IBT neurons (a conv layer with sigmaDelta). A version-4 reader would run
 * them as reset neurons, so it must refuse the file. Written only when a layer has one.
 */
export const SNN_FORMAT_VERSION_SIGMA_DELTA = 5;
/**
 * What is wrong with a conv layer's sigmaDelta field, or undefined: it must be a boolean, and a
 * sigma-delta neuron needs rule 'ibt' (it quantizes leaky ReLU) and reset 'subtract' (it never
 * resets). One check for the file reader and the simulation plan, each naming its own path.
 */
export function sigmaDeltaProblem(l: { sigmaDelta?: unknown; rule?: unknown; reset?: unknown }): string | undefined {
  if (l.sigmaDelta === undefined) return undefined;
  if (typeof l.sigmaDelta !== 'boolean') return `sigmaDelta ${JSON.stringify(l.sigmaDelta)} must be true or false`;
  if (l.sigmaDelta && (l.rule !== 'ibt' || l.reset !== 'subtract')) return `a sigma-delta neuron needs rule ibt and reset subtract, not ${String(l.rule)} / ${String(l.reset)}`;
  return undefined;
}
/** the most spikes per neuron and tick SnnSettings.burst may allow (spike lists are sized burst × neurons) */
export const MAX_BURST = 8;
/** a valid SnnSettings.burst: an integer in 1..MAX_BURST */
export const isBurst = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= MAX_BURST;

export type NormMode = 'layer' | 'percentile' | 'channel';
/** how λ is read from the activation statistics: the max, or a percentile such as 99.9 */
export type NormStatistic = 'max' | number;
export type NeuronModel = 'if' | 'ibt';
export type ResetMode = 'subtract' | 'zero';
/**
 * analog: the image as a constant current every tick; poisson: seeded Poisson spikes at |p|/max|p|
 * with the first layer's weights scaled by max|p| (a rate code of the image); rate: seeded
 * Poisson spikes at the absolute probability |p| per tick (clamped to 1), weights unscaled (event
 * inputs of imported networks, e.g. NIR graphs driven at a given rate per channel).
 */
export type InputCoding = 'analog' | 'poisson' | 'rate';

/**
 * What a layer's neurons do:
 * - 'if': +1 spike at V >= vthPos, reset; negative membrane never spikes (ReLU-like; leaky's
 *   negative side is lost).
 * - 'ibt': +1 at V >= vthPos, -1 at V <= -vthNeg (vthNeg = vthPos/alpha), reset.
 * - 'signed': symmetric signed neuron (vthNeg = vthPos) for linear layers kept apart.
 * - 'integrate': no spikes; the membrane accumulates (the detection layer's readout).
 */
export type SpikeRule = 'if' | 'ibt' | 'signed' | 'integrate';

export interface SnnSettings {
  norm: NormMode;
  statistic: NormStatistic;
  neuron: NeuronModel;
  reset: ResetMode;
  input: InputCoding;
  /** fuse a linear conv (face-api's depthwise) into the conv that follows it */
  fuseLinear: boolean;
  /** base threshold (normalized units) */
  vth: number;
  /**
   * Initial membrane of every spiking neuron, as a fraction of its threshold in force at tick 0
   * (V₀ = vInit·vth+, on the neuron's fixed-point grid where it has one). 0 = start at rest (absent
   * in files written before it existed); 0.5 is the θ/2 of Rueckauer et al. 2017 and Bu et al.
   * (AAAI 2022): it centres each neuron's rounding error instead of always truncating.
   */
  vInit?: number;
  /**
   * Readout warm-up in ticks: the detection layer's membrane is cleared at the end of tick
   * `readoutStart`, so from then on the output is the membrane integrated since that tick divided
   * by the ticks since (before it, the plain average V(t)/t). 0 = the plain average from tick 1
   * (absent in older files). It drops the deep layers' start-up transient from the average.
   */
  readoutStart?: number;
  /** the spike max-pool rule (absent in older files: 'gate') */
  pool?: PoolRule;
  /**
   * Channel-wise λ floor, as a fraction of the layer's largest λ (0 or absent: none): channels that
   * were nearly silent on the calibration photos get a λ that unseen photos do not exceed as easily.
   */
  lambdaFloor?: number;
  /**
   * λ headroom (≥ 1; absent: 1): every λ is the calibration statistic times this, so photos the
   * calibration never saw clip less, at the cost of a coarser rate code.
   */
  lambdaHeadroom?: number;
  /**
   * Which side of an IBT layer's output sets λ (absent: 'positive'): 'both' takes, per channel, the
   * larger of the statistic of the positive outputs and of |negative outputs|, so that the negative
   * side (a −1 spike stands for −λ, at most one per tick) does not saturate.
   */
  lambdaSide?: LambdaSide;
  /**
   * Burst spikes (Li & Zeng, IJCAI 2022): the most spikes a spiking neuron may send in one tick
   * (absent or 1: one, the classic neuron). A neuron whose membrane holds n ≥ 2 thresholds sends
   * min(n, burst) spikes of its sign and subtracts as many thresholds, so it can carry up to
   * burst·λ per tick where one spike of λ would clip. Each spike is one event downstream (SOPs,
   * packets and energy count it); a chip whose neurons fire once per tick would need sub-ticks.
   */
  burst?: number;
  /**
   * Sigma-delta IBT neurons (absent or false: the reset neuron). Every IBT layer whose input is
   * spikes keeps two states per neuron: the membrane integrates its input and is never reset
   * (sigma), and the neuron counts what it has emitted; it fires +1 while leaky(V) − emitted ≥ vth
   * and −1 while ≤ −vth (delta), at most `burst` spikes a tick. So its emitted count follows
   * leaky(Σ input) whatever the input's timing, where the reset neuron's dead zone (−vth/α, vth)
   * lets a transient positive excursion through at +λ a spike and takes it back at α·λ. The
   * quantizer of O'Connor & Welling's sigma-delta networks (2017) and of Loihi 2's SigmaDelta
   * neuron, with ±1 spikes of λ instead of graded ones. An analog-input layer (a constant current)
   * keeps the reset neuron, whose counts there are the same floor.
   */
  sigmaDelta?: boolean;
}

export type LambdaSide = 'positive' | 'both';

interface SnnLayerBase {
  index: number;
  name: string;
  /** index of the graph-IR layer this one implements (the last one when fused) */
  source: number;
  /** SNN layer indices feeding it; -1 = the input image */
  inputs: number[];
  inShape: Shape;
  outShape: Shape;
  /** per output channel: the ANN activation one +1 spike (or one unit of rate) stands for */
  lambda: Float32Array;
}

export interface SnnConvLayer extends SnnLayerBase {
  kind: 'conv';
  size: number;
  stride: number;
  pad: number;
  groups: number;
  weights: Float32Array;
  biases: Float32Array;
  rule: SpikeRule;
  vthPos: number;
  /** magnitude of the negative threshold (Infinity for 'if' and 'integrate') */
  vthNeg: number;
  reset: ResetMode;
  /** sigma-delta neuron (SnnSettings.sigmaDelta; rule 'ibt' only): V integrates without reset, spikes follow leaky(V) − emitted */
  sigmaDelta?: boolean;
  /**
   * Fixed-point precision (set by `quantizeForChip`, src/convert/quantize.ts; absent = float):
   * per output channel (neuron), the step Δ of its integer grid. Its incoming weights, its bias
   * and its thresholds are integers × Δ (float32 values of that grid), and the constant input
   * current of an analog-input layer is rounded to the grid too (src/sim/plan.ts `analogDrive`),
   * so the membrane stays on the grid.
   */
  gridStep?: Float32Array;
  /**
   * Saturating membrane, per output channel (absent = unbounded): after each tick's input and bias
   * are integrated, V is clamped to [−membraneClamp[c], +membraneClamp[c]] before the threshold
   * test (both engines).
   */
  membraneClamp?: Float32Array;
  /**
   * Leaky integrate-and-fire, per output channel (absent = no leak, IF): at the start of every
   * tick, before its input and bias, V ← fround(leak[c]·V) (both engines), so V_t = leak·V_{t−1} +
   * W·s_t + b. Imported from NIR LIF nodes (src/convert/nir-import.ts); not written to .snn files.
   */
  leak?: Float32Array;
  /**
   * A current-based synapse (CubaLIF, CubaLI), per output channel (absent = none: the input goes
   * straight into V). Every tick, after the membrane's leak: I ← fround(leak[c]·I); the tick's input
   * spikes are delivered into I (the weights as given); I ← I + bias[c]; V ← V + fround(gain[c]·I);
   * then the layer's bias, clamp and threshold act on V as usual (both engines). Imported from NIR
   * (src/convert/nir-import.ts); not written to .snn files.
   */
  synapse?: { leak: Float32Array; gain: Float32Array; bias: Float32Array };
}

/**
 * How a spike max-pool turns its window's input spikes into output spikes (both keep a net count,
 * +1 − 1, of every input unit, updated with the tick's spikes first):
 * - 'gate' (count-gated, Rueckauer et al. 2017): forwards the spikes of the unit with the highest
 *   count so far. Near-tied units take turns winning, so the output can carry up to the sum of
 *   their spikes: it over-transmits.
 * - 'max' (max-count, neuroemu's rule): the output emits +1 when the window's highest count rises
 *   above what it has emitted and −1 when it falls below, so its net count is exactly the max of
 *   the window's counts at every tick.
 */
export type PoolRule = 'gate' | 'max';

/** spike max-pool (see PoolRule) */
export interface SnnMaxPoolLayer extends SnnLayerBase {
  kind: 'maxpool';
  /** absent: 'gate' (files written before the rule existed) */
  rule?: PoolRule;
  size: number;
  stride: number;
  padBegin: number;
}

export interface SnnRouteLayer extends SnnLayerBase {
  kind: 'route';
  /** SNN layer indices, concatenated along channels in this order */
  layers: number[];
}

export interface SnnUpsampleLayer extends SnnLayerBase {
  kind: 'upsample';
  stride: number;
}

export type SnnLayer = SnnConvLayer | SnnMaxPoolLayer | SnnRouteLayer | SnnUpsampleLayer;

export interface SnnNetwork {
  formatVersion: number;
  settings: SnnSettings;
  /** where the λ came from */
  calibration: {
    images: string[];
    statistic: NormStatistic;
    note?: string;
    /** sha256 (hex) of each calibration image file, '' where unknown (added by convert) */
    hashes?: string[];
  };
  /**
   * How to re-import the source ANN (the CLI's --model/--weights/--size/--names, file paths made
   * absolute). When present the .snn file stores this instead of the ANN's weights and re-imports
   * the ANN on load (checking a fingerprint); without it the ANN is embedded in the file.
   * (added by convert)
   */
  annSpec?: { model: string; weights?: string; size?: number; names?: string };
  /** the source ANN (heads, input size, preprocessing, class names are read from it) */
  ann: Network;
  layers: SnnLayer[];
  /**
   * Readout: for each head of the ANN (graph-IR index), the SNN layer whose membrane (an
   * 'integrate' conv) gives its input: raw(t) = V(t)/t · λ, C×H×W.
   */
  readouts: { head: number; layer: number }[];
}

/** The lowest format version that can hold this network (fixed-point fields: 2; new dynamics: 3; burst spikes: 4; sigma-delta neurons: 5). */
export function formatVersionFor(snn: Pick<SnnNetwork, 'settings' | 'layers'>): number {
  const s = snn.settings;
  if (snn.layers.some((l) => l.kind === 'conv' && l.sigmaDelta)) return SNN_FORMAT_VERSION_SIGMA_DELTA;
  if ((s.burst ?? 1) > 1) return SNN_FORMAT_VERSION_BURST;
  if ((s.vInit ?? 0) > 0 || (s.readoutStart ?? 0) > 0 || snn.layers.some((l) => l.kind === 'maxpool' && l.rule === 'max')) return SNN_FORMAT_VERSION_DYNAMICS;
  if (snn.layers.some((l) => l.kind === 'conv' && (l.gridStep !== undefined || l.membraneClamp !== undefined))) return SNN_FORMAT_VERSION_FIXED;
  return SNN_FORMAT_VERSION;
}
