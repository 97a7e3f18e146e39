/** Option groups shared by several commands, so every command spells them the same way. */
import type { Argv } from 'yargs';
import { DEFAULT_BURST, DEFAULT_LAMBDA_FLOOR, DEFAULT_POOL, DEFAULT_READOUT_START, DEFAULT_SIGMA_DELTA, DEFAULT_V_INIT, defaultSettings } from '../convert/convert.ts';
import type { NeuronModel, NormMode, NormStatistic, SnnNetwork, SnnSettings } from '../convert/snn-ir.ts';
import { isBurst, MAX_BURST } from '../convert/snn-ir.ts';
import { applyThresholdsFile, type AppliedThresholds } from '../tune/thresholds-file.ts';
import { fail, UserError } from '../util/errors.ts';
import { DEFAULT_PLACEMENT, PLACEMENT_ORDERS } from '../hw/mapper.ts';

export function modelOptions<T>(y: Argv<T>) {
  return y
    .option('model', {
      type: 'string',
      default: 'face',
      describe: 'face (face-api TinyFaceDetector), a tfjs manifest .json, a darknet .cfg, or a bundled cfg name (yolov2-tiny-voc, yolov2-tiny, yolov3-tiny)',
    })
    .option('weights', { type: 'string', describe: 'darknet .weights file, or synthetic[:SEED] for seeded stand-in weights' })
    .option('size', { type: 'number', describe: 'network input size (square, multiple of 32); default: the model\'s own' })
    .option('names', { type: 'string', describe: 'class names file, one per line (default: VOC or COCO names by class count)' });
}

/** --lambda-side's help, shared with `convert` and `convergence` (which build their own option lists) */
export const LAMBDA_SIDE_DESCRIBE = 'IBT layers: λ from the positive outputs, or the larger of the positive and |negative| statistics so the −1 rate does not saturate';

/** --burst's help, shared with `convert` and `convergence` (which build their own option lists) */
export const BURST_DESCRIBE = `burst spikes (Li & Zeng 2022): the most spikes a neuron sends per tick, an integer in 1..${MAX_BURST}; a neuron holding n thresholds sends min(n, burst) and each counts as one event on the chip (default ${DEFAULT_BURST})`;

/** --sigma-delta's help, shared with `convert` and `convergence` (which build their own option lists) */
export const SIGMA_DELTA_DESCRIBE = `sigma-delta IBT neurons: the membrane integrates without reset and the neuron fires while leaky(V) − what it has emitted crosses ±vth, so its count follows leaky(Σ input) (O'Connor & Welling 2017; Loihi 2's SigmaDelta with ±1 spikes); --no-sigma-delta: the reset neuron (default ${DEFAULT_SIGMA_DELTA ? 'on' : 'off'} for --neuron ibt)`;

/** Conversion and simulation flags shared by detect --engine snn, convergence, run, tune. */
export function snnOptions<T>(y: Argv<T>) {
  return y
    .option('norm', { type: 'string', choices: ['channel', 'layer', 'percentile'], default: 'channel', describe: 'weight normalization when converting on the fly (ignored for a .snn model)' })
    .option('statistic', { type: 'string', describe: 'λ statistic: max or a percentile such as 99.9 (default: max; 99.9 for --norm percentile)' })
    .option('neuron', { type: 'string', choices: ['ibt', 'if'], default: 'ibt', describe: 'leaky layers: ibt (signed, imbalanced threshold) or if (positive spikes only)' })
    .option('calib', { type: 'string', array: true, describe: 'calibration images for on-the-fly conversion (default for the face model: the six face-api sample photos and @evalset:tune, 29 photos; else the input images)' })
    .option('pool', { type: 'string', choices: ['gate', 'max'], describe: `spike max-pool: max (the output's count follows the window's highest count) or gate (forwards the current winner's spikes, Rueckauer 2017) (default ${DEFAULT_POOL}; ignored for a .snn model)` })
    .option('lambda-headroom', { type: 'number', describe: 'every λ × this, in [1, 100]: unseen photos clip less, the rate code is coarser (default 1; ignored for a .snn model)' })
    .option('lambda-floor', { type: 'number', describe: `channel-wise λ floor as a fraction of the layer's largest λ, in [0, 1] (default ${DEFAULT_LAMBDA_FLOOR}; ignored for a .snn model)` })
    .option('lambda-side', { type: 'string', choices: ['positive', 'both'], describe: `${LAMBDA_SIDE_DESCRIBE} (default positive; ignored for a .snn model)` })
    .option('burst', { type: 'number', describe: `${BURST_DESCRIBE}; ignored for a .snn model` })
    .option('sigma-delta', { type: 'boolean', describe: `${SIGMA_DELTA_DESCRIBE}; ignored for a .snn model` })
    .option('v-init', { type: 'number', describe: `initial membrane of spiking neurons as a fraction of the threshold, in [0, 1) (default ${DEFAULT_V_INIT}; ignored for a .snn model)` })
    .option('readout-start', { type: 'number', describe: `readout warm-up: the detection layer integrates afresh after this tick (0 = V(t)/t from tick 1; default ${DEFAULT_READOUT_START}; ignored for a .snn model)` })
    .option('seed', { type: 'number', default: 1, describe: 'seed of every random choice (Poisson input); printed in reports' });
}

/**
 * Ticks per frame of `run` and `sweep` when not given: 128, measured as the first checkpoint where
 * the face detector (defaults: max-count pool, sigma-delta IBT, V₀ vth/2, burst 2, readout warm-up 8) reaches F1 >= 0.95
 * against the ANN at both 0.3 and 0.5 on its six sample photos (README "Fidelity at the operating point").
 */
export const DEFAULT_RUN_TICKS = 128;

export function parseTickList(s: string | undefined, flag: string, max: number): number[] | undefined {
  if (s === undefined) return undefined;
  const out = String(s).split(',').filter((x) => x.trim() !== '').map((x) => {
    const v = Number(x);
    if (!Number.isInteger(v) || v < 1 || v > max) throw new UserError(`${flag}: "${x}" must be an integer tick in 1..${max}`);
    return v;
  });
  return [...new Set(out)].sort((a, b) => a - b);
}

export function checkTimesteps(t: number | undefined, flag = '--timesteps'): number {
  if (t === undefined) throw new UserError(`${flag}: give the ticks to simulate per image, e.g. ${flag} 128`);
  if (!Number.isInteger(t) || t < 1 || t > 1_000_000) throw new UserError(`${flag}: ${t} must be an integer in 1..1000000`);
  return t;
}

/** --candidate-threshold: a score in [0, 1] (above 1 no candidate is left, and AP would silently read 0). */
export function checkCandidateThreshold(v: number): number {
  if (!(v >= 0 && v <= 1)) fail('--candidate-threshold', `${v} must be between 0 and 1`);
  return v;
}

export function parseStatistic(s: string | undefined, norm: NormMode): NormStatistic {
  if (s === undefined) return defaultSettings({ norm }).statistic;
  if (s === 'max') return 'max';
  const p = Number(s);
  if (s.trim() === '' || !Number.isFinite(p) || p <= 0 || p > 100) fail('--statistic', `"${s}" must be max or a percentile in (0, 100], e.g. 99.9`);
  return p;
}

/** The conversion settings of snnOptions' flags (--norm, --statistic, --neuron, --pool, --lambda-*, --burst, --sigma-delta, --v-init, --readout-start). */
export function snnSettingsFrom(args: { norm: string; statistic?: string; neuron: string; pool?: string; 'v-init'?: number; 'readout-start'?: number; 'lambda-floor'?: number; 'lambda-headroom'?: number; 'lambda-side'?: string; burst?: number; 'sigma-delta'?: boolean }): Partial<SnnSettings> & { norm: NormMode; statistic: NormStatistic; neuron: NeuronModel } {
  const norm = args.norm as NormMode;
  const out: Partial<SnnSettings> & { norm: NormMode; statistic: NormStatistic; neuron: NeuronModel } = { norm, statistic: parseStatistic(args.statistic, norm), neuron: args.neuron as NeuronModel };
  if (args.pool !== undefined) {
    if (args.pool !== 'gate' && args.pool !== 'max') fail('--pool', `${args.pool} is not one of gate, max`);
    out.pool = args.pool;
  }
  const fl = args['lambda-floor'];
  if (fl !== undefined) {
    if (!(typeof fl === 'number' && fl >= 0 && fl <= 1)) fail('--lambda-floor', `${fl} must be a number in [0, 1]`);
    out.lambdaFloor = fl;
  }
  const hr = args['lambda-headroom'];
  if (hr !== undefined) {
    if (!(typeof hr === 'number' && hr >= 1 && hr <= 100)) fail('--lambda-headroom', `${hr} must be a number in [1, 100]`);
    out.lambdaHeadroom = hr;
  }
  const side = args['lambda-side'];
  if (side !== undefined) {
    if (side !== 'positive' && side !== 'both') fail('--lambda-side', `${side} is not one of positive, both`);
    out.lambdaSide = side;
  }
  const burst = args.burst;
  if (burst !== undefined) {
    if (!isBurst(burst)) fail('--burst', `${burst} must be an integer in 1..${MAX_BURST} (spikes per neuron and tick)`);
    out.burst = burst;
  }
  const sd = args['sigma-delta'];
  if (sd !== undefined) {
    if (typeof sd !== 'boolean') fail('--sigma-delta', `${String(sd)} must be given alone (on) or as --no-sigma-delta (off)`);
    if (sd && out.neuron !== 'ibt') fail('--sigma-delta', `sigma-delta neurons quantize leaky ReLU: they need --neuron ibt, not ${out.neuron}`);
    out.sigmaDelta = sd;
  }
  const v0 = args['v-init'];
  if (v0 !== undefined) {
    if (!(typeof v0 === 'number' && v0 >= 0 && v0 < 1)) fail('--v-init', `${v0} must be a number in [0, 1) (a fraction of the threshold)`);
    out.vInit = v0;
  }
  const r = args['readout-start'];
  if (r !== undefined) {
    if (!(Number.isInteger(r) && r >= 0 && r <= 1_000_000)) fail('--readout-start', `${r} must be an integer tick in 0..1000000`);
    out.readoutStart = r;
  }
  return out;
}

/** `--thresholds FILE` applied to a network, its warnings on stderr; undefined without the flag. */
export function applyThresholdsFlag(snn: SnnNetwork, file: string | undefined): AppliedThresholds | undefined {
  if (!file) return undefined;
  const applied = applyThresholdsFile(snn, file);
  for (const w of applied.warnings) process.stderr.write(`warning: ${w}\n`);
  return applied;
}

/** --placement: the order of cores along the placement path (src/hw/mapper.ts MapOptions.placement). */
export function placementOption<T>(y: Argv<T>) {
  return y.option('placement', {
    type: 'string', choices: PLACEMENT_ORDERS as unknown as string[], default: DEFAULT_PLACEMENT,
    describe: 'core order along the placement path: layers (each layer after the previous) or regions (image regions, every layer of a region together: less chip-to-chip traffic)',
  });
}

/** checks --workers: an integer in 0..64 */
export function checkWorkers(n: number): number {
  if (!(Number.isInteger(n) && n >= 0 && n <= 64)) fail('--workers', `${n} must be an integer in 0..64`);
  return n;
}

/** The input of an imported NIR graph (src/convert/nir-input.ts), for run and sweep. */
export function nirInputOptions<T>(y: Argv<T>) {
  return y
    .option('input-rate', { type: 'string', describe: 'a NIR graph (--model FILE.nir): the Poisson input\'s firing probability per tick in [0, 1], one for every input channel or R0,R1,... per channel' })
    .option('input-events', { type: 'string', describe: 'a NIR graph (--model FILE.nir): its input events from a NumPy .npy file, T×C×H×W (one sample) or S×T×C×H×W (S samples, one frame each; T×N / S×T×N for a 1-D input), values 0 and 1 (−1: a negative spike), tick t reading slice t (none after T)' })
    .option('nir-dt', { type: 'number', describe: 'a NIR graph with LIF or LI nodes (--model FILE.nir): the simulation step in seconds that turns their time constants into a leak per tick (forward Euler, as NIR\'s simulators)' });
}
