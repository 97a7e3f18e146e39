/**
 * The thresholds file that `neuroemu tune` writes and detect / convergence / run read
 * (`--thresholds FILE`), and how its threshold scales are applied to a converted network.
 *
 * What a scale means (the design is in src/tune/threshold.ts; the README repeats it):
 * - each spiking conv layer l (rule if / ibt / signed; the 'integrate' readout has no threshold)
 *   gets a scale s_l: vthPos_l ← s_l·vthPos_l and vthNeg_l ← s_l·vthNeg_l, so the IBT ratio
 *   vthPos/vthNeg = α is kept;
 * - with `compensate` (the default), a spike of layer l then stands for s_l·λ_l instead of λ_l,
 *   so every weight that reads layer l's spikes (through max-pools, routes and upsamples) is
 *   multiplied by s_l: the network computes the same function in the rate limit and the scale
 *   only trades granularity (spikes, SOPs, latency) against saturation. Without it the layer's
 *   gain becomes 1/s_l (the converter's raw threshold knob, see src/convert/convert.ts);
 * - two-phase (`tSwitch` and every layer's `scale2`): `scale` is in force for ticks 1..tSwitch,
 *   `scale2` from tick tSwitch+1 on (the switch is `Simulator.setThresholds` between two run()
 *   calls). Weights are compensated with the final scale, scale2: after the switch the network is
 *   rate-exact, before it a layer transmits scale2/scale × its ANN value (an overdrive when
 *   scale < scale2, which fills the deep layers sooner).
 *
 * File format (JSON, version 1):
 *   { format: "neuroemu-thresholds", version: 1,
 *     model: {model, weights?, size?, names?},           the ANN (the CLI's flags, paths absolute)
 *     network: {name, input: [w, h]},                     what the scales were tuned on
 *     settings: {norm, statistic, neuron, reset, input, fuseLinear, vth},   the conversion
 *     compensate: true, twoPhase: false, tSwitch?: 12, timesteps: 128,
 *     layers: [{snnLayer, name, group, scale, scale2?}, ...],   one entry per spiking layer
 *     objective: {...weights and definitions}, search: {...budget, seed, bounds, images},
 *     result: {...the objective's terms at the chosen point}, report?: {...held-out figures} }
 * Only format, version, settings, compensate, twoPhase, tSwitch and layers steer what is applied;
 * the other sections document how the file was made. Every problem is a one-line UserError naming
 * the file and the field.
 */
import type { SnnConvLayer, SnnLayer, SnnNetwork, SnnSettings } from '../convert/snn-ir.ts';
import { validateSettings } from '../convert/convert.ts';
import { imageKey } from '../detect/map.ts';
import { readJson } from '../detect/truth.ts';
import type { SimCounts, Simulator } from '../sim/simulator.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { fail } from '../util/errors.ts';

export const THRESHOLDS_FORMAT = 'neuroemu-thresholds';
export const THRESHOLDS_VERSION = 1;

/** One spiking layer's threshold scale(s). */
export interface LayerScale {
  /** index of the layer in the SNN IR (a spiking conv) */
  snnLayer: number;
  name: string;
  /** scale of vthPos and vthNeg (phase 1 when two-phase) */
  scale: number;
  /** two-phase only: the scale from tick tSwitch+1 on */
  scale2?: number;
  /** the search group the layer belonged to (documentation) */
  group?: number;
}

/** What is applied to a network: the scales, the optional switch tick and the compensation rule. */
export interface ThresholdAssignment {
  layers: LayerScale[];
  compensate: boolean;
  /** two-phase: scale for ticks 1..tSwitch, scale2 afterwards */
  tSwitch?: number;
}

export interface ThresholdsFile extends ThresholdAssignment {
  format: typeof THRESHOLDS_FORMAT;
  version: typeof THRESHOLDS_VERSION;
  model: { model: string; weights?: string; size?: number; names?: string };
  network: { name: string; input: [number, number] };
  settings: SnnSettings;
  twoPhase: boolean;
  timesteps: number;
  objective: Record<string, unknown>;
  search: Record<string, unknown>;
  result: Record<string, unknown>;
  report?: Record<string, unknown>;
}

/** New thresholds of one layer. */
export interface LayerThresholds {
  layer: number;
  vthPos: number;
  vthNeg: number;
}

/** A two-phase switch: `phase1` for ticks 1..tSwitch, `phase2` from tick tSwitch+1 on. */
export interface ThresholdSchedule {
  tSwitch: number;
  phase1: LayerThresholds[];
  phase2: LayerThresholds[];
}

/** The spiking conv layers of a network (what has a threshold), in layer order. */
export function spikingLayers(snn: SnnNetwork): SnnConvLayer[] {
  return snn.layers.filter((l): l is SnnConvLayer => l.kind === 'conv' && l.rule !== 'integrate');
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/**
 * A threshold scale must lie in [2^-20, 2^20]: far outside the tuner's bounds ([1/4, 4] by
 * default) on both sides, yet a scale of 1e38 (a network that never fires) or 1e-300 (a threshold
 * that rounds to 0) is refused, naming the file and field, instead of running silently.
 */
export const MIN_THRESHOLD_SCALE = 2 ** -20;
export const MAX_THRESHOLD_SCALE = 2 ** 20;
const posFinite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= MIN_THRESHOLD_SCALE && v <= MAX_THRESHOLD_SCALE;

/** Checks that an assignment covers exactly the spiking layers of `snn`, by index and name. */
function checkAgainst(snn: SnnNetwork, a: ThresholdAssignment, where: string): void {
  const spk = spikingLayers(snn);
  if (a.layers.length !== spk.length) {
    fail(`${where}: layers`, `${a.layers.length} entries, but the network ${snn.ann.name} has ${spk.length} spiking layers (${spk.map((l) => l.name).join(', ')})`);
  }
  a.layers.forEach((e, k) => {
    const l = spk[k];
    if (e.snnLayer !== l.index) fail(`${where}: layers[${k}].snnLayer`, `${e.snnLayer}, but spiking layer ${k} of the network is SNN layer ${l.index} (${l.name})`);
    if (e.name !== l.name) fail(`${where}: layers[${k}].name`, `"${e.name}", but SNN layer ${l.index} is "${l.name}"`);
  });
  const two = a.tSwitch !== undefined;
  a.layers.forEach((e, k) => {
    if (!posFinite(e.scale)) fail(`${where}: layers[${k}].scale`, `${e.scale} must be a number in [2^-20, 2^20]`);
    if (two && !posFinite(e.scale2)) fail(`${where}: layers[${k}].scale2`, `${e.scale2} must be a number in [2^-20, 2^20] (two-phase)`);
  });
  if (two && !(Number.isInteger(a.tSwitch) && a.tSwitch! >= 1)) fail(`${where}: tSwitch`, `${a.tSwitch} must be a positive integer`);
}

/**
 * Per output channel of each layer: what one of its spikes stands for relative to the untuned
 * network (the compensation factor of the weights that read it). `undefined` = 1 everywhere.
 */
function spikeValueScales(snn: SnnNetwork, finalScale: Map<number, number>): (Float64Array | undefined)[] {
  const out: (Float64Array | undefined)[] = new Array(snn.layers.length);
  for (const l of snn.layers) {
    if (l.kind === 'conv') {
      const s = finalScale.get(l.index);
      out[l.index] = s !== undefined && s !== 1 ? new Float64Array(l.outShape.c).fill(s) : undefined;
    } else if (l.kind === 'maxpool' || l.kind === 'upsample') {
      out[l.index] = l.inputs[0] >= 0 ? out[l.inputs[0]] : undefined;
    } else {
      const parts = l.layers.map((j) => ({ v: out[j], c: snn.layers[j].outShape.c }));
      if (parts.every((p) => p.v === undefined)) out[l.index] = undefined;
      else {
        const v = new Float64Array(l.outShape.c).fill(1);
        let at = 0;
        for (const p of parts) {
          if (p.v) v.set(p.v, at);
          at += p.c;
        }
        out[l.index] = v;
      }
    }
  }
  return out;
}

/**
 * A copy of `snn` with the assignment applied: thresholds of phase 1 (or the only phase), weights
 * compensated with the final scales when `compensate`. The input network is not modified (arrays
 * that do not change are shared).
 */
export function scaleNetwork(snn: SnnNetwork, a: ThresholdAssignment, where = 'thresholds'): SnnNetwork {
  checkAgainst(snn, a, where);
  const first = new Map(a.layers.map((e) => [e.snnLayer, e.scale]));
  const last = new Map(a.layers.map((e) => [e.snnLayer, a.tSwitch !== undefined ? e.scale2! : e.scale]));
  const valueScale = a.compensate ? spikeValueScales(snn, last) : [];
  const layers: SnnLayer[] = snn.layers.map((l) => {
    if (l.kind !== 'conv') return l;
    const c: SnnConvLayer = { ...l };
    const s = first.get(l.index);
    if (s !== undefined) {
      c.vthPos = l.vthPos * s;
      c.vthNeg = l.vthNeg * s;
    }
    const src = l.inputs[0];
    const inScale = src >= 0 ? valueScale[src] : undefined;
    if (inScale) {
      const k2 = l.size * l.size;
      const cinG = l.inShape.c / l.groups;
      const coutG = l.outShape.c / l.groups;
      const w = new Float32Array(l.weights.length);
      for (let o = 0; o < l.outShape.c; o++) {
        const g = Math.floor(o / coutG);
        for (let i = 0; i < cinG; i++) {
          const f = inScale[g * cinG + i];
          const base = (o * cinG + i) * k2;
          for (let k = 0; k < k2; k++) w[base + k] = l.weights[base + k] * f;
        }
      }
      c.weights = w;
    }
    return c;
  });
  return { ...snn, layers };
}

/** The two-phase switch of an assignment (undefined when single-phase). */
export function thresholdSchedule(snn: SnnNetwork, a: ThresholdAssignment): ThresholdSchedule | undefined {
  if (a.tSwitch === undefined) return undefined;
  const set = (pick: (e: LayerScale) => number): LayerThresholds[] =>
    a.layers.map((e) => {
      const l = snn.layers[e.snnLayer] as SnnConvLayer;
      return { layer: e.snnLayer, vthPos: l.vthPos * pick(e), vthNeg: l.vthNeg * pick(e) };
    });
  return { tSwitch: a.tSwitch, phase1: set((e) => e.scale), phase2: set((e) => e.scale2!) };
}

/**
 * A simulator that follows a two-phase schedule by itself: reset() puts phase 1 in force, run()
 * and runWithCheckpoints() switch to phase 2 after tick tSwitch. Everything else is the wrapped
 * simulator's. Without a schedule the simulator is returned as it is.
 */
export function withThresholdSchedule(sim: Simulator, schedule: ThresholdSchedule | undefined): Simulator {
  return schedule ? new ScheduledSimulator(sim, schedule) : sim;
}

class ScheduledSimulator implements Simulator {
  private phase: 1 | 2 = 1;
  constructor(
    private readonly sim: Simulator,
    private readonly schedule: ThresholdSchedule,
  ) {}

  get engine() { return this.sim.engine; }
  get net() { return this.sim.net; }
  get plan() { return this.sim.plan; }
  get seed() { return this.sim.seed; }
  get tick() { return this.sim.tick; }
  get fillTicks() { return this.sim.fillTicks; }
  get peakMemoryBytes() { return this.sim.peakMemoryBytes; }
  get core() { return this.sim.core; }

  private apply(set: LayerThresholds[]): void {
    for (const t of set) this.sim.setThresholds(t.layer, t.vthPos, t.vthNeg);
  }

  reset(input: Float32Array): void {
    this.sim.reset(input);
    this.apply(this.schedule.phase1);
    this.phase = 1;
  }

  run(ticks: number): void {
    let left = ticks;
    while (left > 0) {
      if (this.phase === 1 && this.sim.tick >= this.schedule.tSwitch) {
        this.apply(this.schedule.phase2);
        this.phase = 2;
      }
      const step = this.phase === 1 ? Math.min(left, this.schedule.tSwitch - this.sim.tick) : left;
      this.sim.run(step);
      left -= step;
    }
  }

  readout(): Float32Array[] { return this.sim.readout(); }
  membrane(layer: number): Float32Array { return this.sim.membrane(layer); }
  counts(): SimCounts { return this.sim.counts(); }
  close(): void { this.sim.close(); }
  setThresholds(layer: number, vthPos: number, vthNeg: number): void { this.sim.setThresholds(layer, vthPos, vthNeg); }
  thresholds(layer: number): { vthPos: number; vthNeg: number } { return this.sim.thresholds(layer); }

  runWithCheckpoints(T: number, checkpoints: number[], onCheckpoint: (tick: number, readouts: Float32Array[]) => void): void {
    const stops = [...new Set(checkpoints.filter((c) => Number.isInteger(c) && c > this.tick && c <= T))].sort((a, b) => a - b);
    for (const c of stops) {
      this.run(c - this.tick);
      onCheckpoint(c, this.readout());
    }
    if (this.tick < T) this.run(T - this.tick);
  }
}

// ---------------------------------------------------------------------------------------------
// reading and writing

/** Validates a parsed thresholds file; `file` names it in errors. */
export function parseThresholdsFile(v: unknown, file: string): ThresholdsFile {
  const at = (field: string) => `${file}: ${field}`;
  if (!isObj(v)) fail(file, 'not a thresholds file (expected a JSON object)');
  if (v.format !== THRESHOLDS_FORMAT) fail(at('format'), `${JSON.stringify(v.format)}, expected "${THRESHOLDS_FORMAT}" (is this a thresholds file from neuroemu tune?)`);
  if (v.version !== THRESHOLDS_VERSION) fail(at('version'), `${JSON.stringify(v.version)}: this neuroemu reads version ${THRESHOLDS_VERSION}`);
  if (!isObj(v.model) || typeof v.model.model !== 'string') fail(at('model.model'), 'expected the model spec {model, weights?, size?, names?}');
  if (!isObj(v.network) || typeof v.network.name !== 'string') fail(at('network.name'), 'expected a string');
  const input = v.network.input;
  if (!Array.isArray(input) || input.length !== 2 || !input.every((x) => Number.isInteger(x) && x > 0)) fail(at('network.input'), 'expected [width, height]');
  if (!isObj(v.settings)) fail(at('settings'), 'expected the conversion settings object');
  validateSettings(v.settings as unknown as SnnSettings, `${file}: settings`);
  if (typeof v.compensate !== 'boolean') fail(at('compensate'), `${JSON.stringify(v.compensate)} must be true or false`);
  if (typeof v.twoPhase !== 'boolean') fail(at('twoPhase'), `${JSON.stringify(v.twoPhase)} must be true or false`);
  if (!(Number.isInteger(v.timesteps) && (v.timesteps as number) >= 1)) fail(at('timesteps'), `${JSON.stringify(v.timesteps)} must be a positive integer`);
  if (v.twoPhase) {
    if (!(Number.isInteger(v.tSwitch) && (v.tSwitch as number) >= 1)) fail(at('tSwitch'), `${JSON.stringify(v.tSwitch)} must be a positive integer (twoPhase is true)`);
  } else if (v.tSwitch !== undefined) fail(at('tSwitch'), 'given, but twoPhase is false');
  if (!Array.isArray(v.layers) || v.layers.length === 0) fail(at('layers'), 'expected a non-empty array of {snnLayer, name, scale}');
  v.layers.forEach((e: unknown, k: number) => {
    const f = (field: string) => at(`layers[${k}].${field}`);
    if (!isObj(e)) fail(at(`layers[${k}]`), 'expected {snnLayer, name, scale}');
    if (!(Number.isInteger(e.snnLayer) && (e.snnLayer as number) >= 0)) fail(f('snnLayer'), `${JSON.stringify(e.snnLayer)} must be a layer index (integer >= 0)`);
    if (typeof e.name !== 'string') fail(f('name'), `${JSON.stringify(e.name)} must be a string`);
    if (!posFinite(e.scale)) fail(f('scale'), `${JSON.stringify(e.scale)} must be a number in [2^-20, 2^20]`);
    if (v.twoPhase) {
      if (!posFinite(e.scale2)) fail(f('scale2'), `${JSON.stringify(e.scale2)} must be a number in [2^-20, 2^20] (twoPhase is true)`);
    } else if (e.scale2 !== undefined) fail(f('scale2'), 'given, but twoPhase is false');
    if (e.group !== undefined && !(Number.isInteger(e.group) && (e.group as number) >= 0)) fail(f('group'), `${JSON.stringify(e.group)} must be an integer >= 0`);
  });
  for (const key of ['objective', 'search', 'result'] as const) if (!isObj(v[key])) fail(at(key), 'expected an object');
  if (v.report !== undefined && !isObj(v.report)) fail(at('report'), 'expected an object');
  return v as unknown as ThresholdsFile;
}

export function readThresholdsFile(file: string): ThresholdsFile {
  return parseThresholdsFile(readJson(file), file);
}

/** The file's JSON text: fixed key order (as built), 2-space indent, trailing newline. */
export function formatThresholdsFile(t: ThresholdsFile): string {
  return `${JSON.stringify(t, null, 2)}\n`;
}

export function writeThresholdsFile(file: string, t: ThresholdsFile): void {
  parseThresholdsFile(JSON.parse(formatThresholdsFile(t)), file);
  writeFileAtomic(file, formatThresholdsFile(t));
}

const SETTINGS_MUST_MATCH = ['norm', 'statistic', 'neuron', 'reset', 'input', 'fuseLinear'] as const;

/** Checks that a thresholds file was tuned on this network (model, input size, conversion, layers). */
export function checkThresholdsFor(snn: SnnNetwork, t: ThresholdsFile, file: string): void {
  if (t.network.name !== snn.ann.name) fail(`${file}: network.name`, `tuned on "${t.network.name}", the network is "${snn.ann.name}"`);
  const [w, h] = t.network.input;
  if (w !== snn.ann.input.w || h !== snn.ann.input.h) fail(`${file}: network.input`, `tuned at ${w}x${h}, the network's input is ${snn.ann.input.w}x${snn.ann.input.h} (give the same --size)`);
  for (const k of SETTINGS_MUST_MATCH) {
    if (t.settings[k] !== snn.settings[k]) {
      fail(`${file}: settings.${k}`, `tuned with ${JSON.stringify(t.settings[k])}, the network was converted with ${JSON.stringify(snn.settings[k])}`);
    }
  }
  checkAgainst(snn, t, file);
}

/** A thresholds file applied to a network: the scaled copy and, when two-phase, its switch. */
export interface AppliedThresholds {
  snn: SnnNetwork;
  schedule?: ThresholdSchedule;
  file: ThresholdsFile;
  /** one line for reports: where the thresholds come from and what they do */
  description: string;
  /** wraps a simulator of `snn` so that it follows the schedule (identity when single-phase) */
  wrap(sim: Simulator): Simulator;
  /** things worth a line on stderr (e.g. λ calibrated on other images than at tuning time) */
  warnings: string[];
}

export function describeThresholds(t: ThresholdsFile, file: string): string {
  const scales = t.layers.map((e) => (t.twoPhase ? `${fmt(e.scale)}→${fmt(e.scale2!)}` : fmt(e.scale))).join(' ');
  const search = t.search as { method?: unknown; seed?: unknown; budget?: unknown };
  return (
    `thresholds ${file} (${String(search.method ?? 'tuned')}, budget ${String(search.budget ?? '?')}, seed ${String(search.seed ?? '?')}; ` +
    `${t.twoPhase ? `two-phase, switch after tick ${t.tSwitch}; ` : ''}${t.compensate ? 'weights compensated' : 'uncompensated'}): scales ${scales}`
  );
}

const fmt = (v: number) => Number(v.toPrecision(3)).toString();

/** Reads, validates and applies a thresholds file to a converted network (see the header). */
export function applyThresholdsFile(snn: SnnNetwork, file: string): AppliedThresholds {
  const t = readThresholdsFile(file);
  checkThresholdsFor(snn, t, file);
  const schedule = thresholdSchedule(snn, t);
  const warnings: string[] = [];
  const tunedCalib = (t.search as { calibration?: unknown }).calibration;
  const names = (l: readonly string[]) => JSON.stringify(l.map((f) => imageKey(f)).sort());
  if (Array.isArray(tunedCalib) && tunedCalib.every((f) => typeof f === 'string') && snn.calibration.images.length && names(tunedCalib) !== names(snn.calibration.images)) {
    warnings.push(
      `${file}: the thresholds were tuned on a network calibrated (λ) with ${tunedCalib.length} other images (${tunedCalib.map((f) => f.replace(/^.*[\\/]/, '')).join(' ')}); ` +
        `this one used ${snn.calibration.images.length}: give the same --calib to apply them to the network they were tuned on`,
    );
  }
  return {
    snn: scaleNetwork(snn, t, file),
    schedule,
    file: t,
    description: describeThresholds(t, file),
    wrap: (sim) => withThresholdSchedule(sim, schedule),
    warnings,
  };
}
