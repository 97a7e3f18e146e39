/**
 * ANN (graph IR) + activation statistics → SNN IR, the Spiking-YOLO way.
 *
 * Choices (FACTS.md §1.8 leaves them to us; each is printed by `neuroemu convert`):
 * - λ of a conv layer = a statistic of its post-activation output over the calibration images:
 *   'channel' norm → per output channel (Kim 2020), 'layer' → one value per layer (Diehl 2015),
 *   'percentile' → one value per layer (Rueckauer 2017; default statistic 99.9). The statistic
 *   ('max' or a percentile) is selectable for each. For relu/leaky layers λ comes from the positive
 *   side (the positive outputs); the negative side of a leaky layer is only recorded (a channel
 *   whose |min| exceeds λ saturates the IBT neuron's −1 rate: the summary counts them).
 * - Input: analog, λ_in = 1 per image channel (also for Poisson input coding).
 * - Dead channels (no positive output on the calibration set, so λ would be 0): λ = |min| of the
 *   channel if the layer is leaky (its only content is the negative side), else the layer-wise value
 *   of the same statistic, else 1. The summary counts them.
 * - The conv feeding a head is rule 'integrate' with λ = 1 (its membrane / t is the raw output).
 * - Leaky layers: 'ibt' (vthNeg = vth/alpha, alpha = the leaky slope) or 'if' per settings.neuron;
 *   relu layers: 'if'.
 * - A linear conv that feeds exactly one conv which is 1×1/stride 1/no padding/no groups (face-api's
 *   depthwise → pointwise): with fuseLinear it is folded into that conv (exact composition, see
 *   normalize.ts fuseLinearInto); otherwise, or when it cannot be folded exactly, it stays a layer
 *   of 'signed' neurons (vthNeg = vthPos) with λ from |activation|.
 * - vth ≠ 1 does not rescale the weights: a +1 spike still stands for λ, a layer then transmits
 *   (ANN value)/vth. That is the threshold knob the tuner turns.
 */
import type { ConvLayer, Layer, Network } from '../model/ir.ts';
import { isHead } from '../model/ir.ts';
import { fail } from '../util/errors.ts';
import type { ActivationStats, StatSide } from './calibrate.ts';
import { checkStatistic } from './calibrate.ts';
import { concatLambda, effectiveConv, fuseLinearInto, normalizeConv } from './normalize.ts';
import type { NeuronModel, NormStatistic, PoolRule, SnnConvLayer, SnnLayer, SnnNetwork, SnnSettings, SpikeRule } from './snn-ir.ts';
import { formatVersionFor, isBurst, MAX_BURST } from './snn-ir.ts';

/** the defaults of `neuroemu convert` (statistic: 99.9 for 'percentile', else max) */
export function defaultSettings(over: Partial<SnnSettings> = {}): SnnSettings {
  const norm = over.norm ?? 'channel';
  return {
    norm,
    statistic: over.statistic ?? (norm === 'percentile' ? 99.9 : 'max'),
    neuron: over.neuron ?? 'ibt',
    reset: over.reset ?? 'subtract',
    input: over.input ?? 'analog',
    fuseLinear: over.fuseLinear ?? false, // measured: see README "Linear layers"
    vth: over.vth ?? 1,
    vInit: over.vInit ?? DEFAULT_V_INIT,
    readoutStart: over.readoutStart ?? DEFAULT_READOUT_START,
    pool: over.pool ?? DEFAULT_POOL,
    lambdaFloor: over.lambdaFloor ?? DEFAULT_LAMBDA_FLOOR,
    ...(over.lambdaHeadroom !== undefined ? { lambdaHeadroom: over.lambdaHeadroom } : {}),
    ...(over.lambdaSide !== undefined ? { lambdaSide: over.lambdaSide } : {}),
    burst: over.burst ?? DEFAULT_BURST,
    // the default only where it applies: IBT neurons that reset by subtraction
    sigmaDelta: over.sigmaDelta ?? (DEFAULT_SIGMA_DELTA && (over.neuron ?? 'ibt') === 'ibt' && (over.reset ?? 'subtract') === 'subtract'),
  };
}

/**
 * Settings shared by several neuron models (convergence's combinations, a sweep's neuron axis)
 * for one of them: sigma-delta neurons quantize leaky ReLU, so any neuron but IBT gets the reset
 * neuron whatever the shared settings ask.
 */
export function settingsForNeuron(shared: Partial<SnnSettings>, neuron: NeuronModel): Partial<SnnSettings> {
  return { ...shared, neuron, ...(neuron !== 'ibt' ? { sigmaDelta: false } : {}) };
}

/** membrane initialisation, as a fraction of the threshold (measured: README "Fidelity at the operating point") */
export const DEFAULT_V_INIT = 0.5;
/** burst spikes: the most spikes per neuron and tick (measured: README "Fidelity at the operating point") */
export const DEFAULT_BURST = 2;
/** sigma-delta IBT neurons (measured: README "Fidelity at the operating point") */
export const DEFAULT_SIGMA_DELTA = true;
/** channel λ floor as a fraction of the layer's largest λ (measured: README "Fidelity at the operating point") */
export const DEFAULT_LAMBDA_FLOOR = 0;
/** spike max-pool rule (measured: README "Fidelity at the operating point") */
export const DEFAULT_POOL: PoolRule = 'max';
/** readout warm-up ticks (measured: README "Fidelity at the operating point") */
export const DEFAULT_READOUT_START = 8;

export function validateSettings(s: SnnSettings, where = 'settings'): void {
  const oneOf = (field: string, v: unknown, allowed: readonly unknown[]) => {
    if (!allowed.includes(v)) fail(`${where}.${field}`, `${JSON.stringify(v)} is not one of ${allowed.join(', ')}`);
  };
  oneOf('norm', s.norm, ['layer', 'percentile', 'channel']);
  checkStatistic(s.statistic, `${where}.statistic`);
  oneOf('neuron', s.neuron, ['if', 'ibt']);
  oneOf('reset', s.reset, ['subtract', 'zero']);
  oneOf('input', s.input, ['analog', 'poisson', 'rate']);
  oneOf('fuseLinear', s.fuseLinear, [true, false]);
  if (typeof s.vth !== 'number' || !Number.isFinite(s.vth) || s.vth <= 0) fail(`${where}.vth`, `${s.vth} must be a positive number`);
  if (s.pool !== undefined) oneOf('pool', s.pool, ['gate', 'max']);
  if (s.lambdaFloor !== undefined && !(typeof s.lambdaFloor === 'number' && s.lambdaFloor >= 0 && s.lambdaFloor <= 1)) fail(`${where}.lambdaFloor`, `${s.lambdaFloor} must be a number in [0, 1]`);
  if (s.lambdaHeadroom !== undefined && !(typeof s.lambdaHeadroom === 'number' && s.lambdaHeadroom >= 1 && s.lambdaHeadroom <= 100)) fail(`${where}.lambdaHeadroom`, `${s.lambdaHeadroom} must be a number in [1, 100]`);
  if (s.lambdaSide !== undefined) oneOf('lambdaSide', s.lambdaSide, ['positive', 'both']);
  if (s.burst !== undefined && !isBurst(s.burst)) fail(`${where}.burst`, `${s.burst} must be an integer in 1..${MAX_BURST} (spikes per neuron and tick)`);
  if (s.sigmaDelta !== undefined) oneOf('sigmaDelta', s.sigmaDelta, [true, false]);
  if (s.sigmaDelta && s.neuron !== 'ibt') fail(`${where}.sigmaDelta`, `sigma-delta neurons need neuron ibt (they quantize leaky ReLU), not ${s.neuron}`);
  if (s.sigmaDelta && s.reset !== 'subtract') fail(`${where}.sigmaDelta`, `sigma-delta neurons never reset their membrane: use reset subtract, not ${s.reset}`);
  if (s.vInit !== undefined && !(typeof s.vInit === 'number' && s.vInit >= 0 && s.vInit < 1)) fail(`${where}.vInit`, `${s.vInit} must be a number in [0, 1) (a fraction of the threshold)`);
  if (s.readoutStart !== undefined && !(Number.isInteger(s.readoutStart) && s.readoutStart >= 0 && s.readoutStart <= 1_000_000)) fail(`${where}.readoutStart`, `${s.readoutStart} must be an integer tick in 0..1000000`);
}

/**
 * The settings in words, as every report prints them beside its figures:
 * "norm channel (max), neuron ibt, reset subtract, input analog, V₀ 0.5·vth, readout since tick 16".
 */
export function describeSettings(s: SnnSettings): string {
  const st = s.statistic === 'max' ? 'max' : `p${s.statistic}`;
  const fl = (s.lambdaFloor ? ` λ ≥ ${s.lambdaFloor}·layer max,` : '') + (s.lambdaHeadroom && s.lambdaHeadroom !== 1 ? ` λ × ${s.lambdaHeadroom} headroom,` : '') + (s.lambdaSide === 'both' ? ' λ over both sides,' : '');
  return `norm ${s.norm} (${st}),${fl} neuron ${s.neuron}, ${describeDynamics(s)}`;
}

/** The settings beside norm, statistic and neuron (what `convergence` shares across its combinations): "reset subtract, input analog, pool max, V₀ 0.5·vth, readout …". */
export function describeDynamics(s: SnnSettings): string {
  const v0 = s.vInit ? `V₀ ${s.vInit}·vth` : 'V₀ 0';
  const ro = s.readoutStart ? `readout V(t)−V(${s.readoutStart}) over t−${s.readoutStart} ticks (V/t up to tick ${s.readoutStart})` : 'readout V(t)/t';
  const burst = (s.burst ?? 1) > 1 ? `, burst ≤ ${s.burst} spikes/neuron/tick` : '';
  const neuron = s.sigmaDelta ? 'sigma-delta IBT (count follows leaky(ΣI)), ' : '';
  return `${neuron}reset ${s.reset}, input ${s.input}, pool ${s.pool ?? 'gate'}, ${v0}${burst}, ${ro}`;
}

/** What the conversion did to each SNN layer, for the CLI summary. */
export interface LayerReport {
  snnIndex: number;
  name: string;
  kind: SnnLayer['kind'];
  rule?: SpikeRule;
  /** where λ came from, in words */
  lambdaFrom: string;
  /** channels whose statistic was 0 (no value on that side), given a fallback λ */
  deadChannels: number;
  /** ibt layers: channels whose most negative output exceeds λ in magnitude (the −1 rate saturates) */
  negSaturated: number;
  /** graph-IR layers folded into this one */
  fused?: number[];
}

export interface ConversionResult {
  snn: SnnNetwork;
  report: LayerReport[];
}

const statName = (s: NormStatistic) => (s === 'max' ? 'max' : `p${s}`);

/** Converts; see the module comment. `calibImages` defaults to the images of `stats`. */
export function convertNetwork(net: Network, stats: ActivationStats, settings: SnnSettings, calibImages?: string[]): SnnNetwork {
  return convertNetworkWithReport(net, stats, settings, calibImages).snn;
}

export function convertNetworkWithReport(net: Network, stats: ActivationStats, settings: SnnSettings, calibImages?: string[]): ConversionResult {
  validateSettings(settings);
  if (stats.imageCount === 0) fail('--calib', 'the activation statistics hold no image');
  const L = net.layers;
  for (const l of L) {
    if (l.kind !== 'conv') continue;
    const s = stats.layers.get(l.index);
    if (!s || s.channels !== l.outShape.c) fail('calibration', `statistics do not match layer ${l.index} (${l.name}) of ${net.name}: calibrate this network`);
  }

  // who reads each layer
  const consumers: Layer[][] = L.map(() => []);
  for (const l of L) for (const i of l.inputs) if (i >= 0) consumers[i].push(l);

  const headInput = new Set<number>();
  for (const l of L) {
    if (!isHead(l)) continue;
    const src = L[l.inputs[0]];
    if (!src || src.kind !== 'conv') fail(net.source, `head ${l.index} (${l.name}) must read a conv layer to be converted`);
    if (consumers[src.index].some((c) => !isHead(c))) fail(net.source, `layer ${src.index} (${src.name}) feeds a head and other layers; its readout neurons cannot spike`);
    headInput.add(src.index);
  }

  // linear convs folded into the conv that reads them
  const fusedInto = new Map<number, number>();
  const fusedFrom = new Map<number, number>();
  if (settings.fuseLinear) {
    for (const l of L) {
      if (l.kind !== 'conv' || l.activation !== 'linear' || headInput.has(l.index)) continue;
      const cs = consumers[l.index];
      if (cs.length !== 1) continue;
      const b = cs[0];
      if (b.kind !== 'conv' || b.size !== 1 || b.stride !== 1 || b.pad !== 0 || b.groups !== 1 || fusedFrom.has(b.index)) continue;
      fusedInto.set(l.index, b.index);
      fusedFrom.set(b.index, l.index);
    }
  }

  const mode = settings.norm === 'channel' ? 'channel' : 'layer';
  const imgs = stats.imageCount;
  const lambdaOf = new Map<number, Float32Array>([[-1, new Float32Array(net.input.c).fill(1)]]);
  const snnOf = new Map<number, number>([[-1, -1]]);
  const layers: SnnLayer[] = [];
  const report: LayerReport[] = [];
  const readouts: { head: number; layer: number }[] = [];
  const lam = (i: number): Float32Array => {
    const v = lambdaOf.get(i);
    if (!v) throw new Error(`λ of layer ${i} not known yet`);
    return v;
  };
  const snnIdx = (i: number): number => {
    const v = snnOf.get(i);
    if (v === undefined) throw new Error(`layer ${i} has no SNN layer`);
    return v;
  };

  /** λ_out of a conv layer (its statistics), with the dead-channel fallback */
  const lambdaFor = (l: ConvLayer, side: StatSide, coverNegative: boolean): { lambda: Float32Array; dead: number; negSat: number; from: string } => {
    const raw = stats.lambda(l.index, mode, settings.statistic, side);
    const s = stats.layer(l.index);
    if (coverNegative) {
      const neg = stats.lambda(l.index, mode, settings.statistic, 'negative');
      for (let c = 0; c < raw.length; c++) raw[c] = Math.max(raw[c], neg[c]);
    }
    let dead = 0;
    let layerWide: number | undefined;
    for (let c = 0; c < raw.length; c++) {
      if (raw[c] > 0 && Number.isFinite(raw[c])) continue;
      dead++;
      if (l.activation === 'leaky' && side === 'positive' && -s.min[c] > 0) {
        raw[c] = -s.min[c];
        continue;
      }
      if (mode === 'channel') {
        layerWide ??= stats.lambda(l.index, 'layer', settings.statistic, side)[0];
        if (layerWide > 0 && Number.isFinite(layerWide)) {
          raw[c] = layerWide;
          continue;
        }
      }
      raw[c] = 1;
    }
    // λ floor (channel mode): no channel below floor × the layer's largest λ, so a channel that was
    // nearly silent on the calibration photos does not clip what other photos give it
    const floor = settings.lambdaFloor ?? 0;
    if (floor > 0 && mode === 'channel') {
      let top = 0;
      for (const v of raw) top = Math.max(top, v);
      for (let c = 0; c < raw.length; c++) raw[c] = Math.max(raw[c], Math.fround(floor * top));
    }
    const headroom = settings.lambdaHeadroom ?? 1;
    if (headroom !== 1) for (let c = 0; c < raw.length; c++) raw[c] = Math.fround(raw[c] * headroom);
    let negSat = 0;
    if (l.activation === 'leaky') for (let c = 0; c < raw.length; c++) if (-s.min[c] > raw[c]) negSat++;
    const from = `${mode === 'channel' ? 'channel' : 'layer'} ${statName(settings.statistic)} of ${side === 'abs' ? '|x|' : coverNegative ? 'positive outputs and of |negative outputs|, the larger' : 'positive outputs'}, ${imgs} image${imgs === 1 ? '' : 's'}`;
    return { lambda: raw, dead, negSat, from };
  };

  for (const l of L) {
    switch (l.kind) {
      case 'conv': {
        if (fusedInto.has(l.index)) break; // emitted with the conv that reads it
        const a = fusedFrom.has(l.index) ? (L[fusedFrom.get(l.index)!] as ConvLayer) : undefined;
        const first = a ?? l;
        const lambdaIn = lam(first.inputs[0]);
        let rule: SpikeRule;
        let vthNeg = Infinity;
        let side: StatSide = 'positive';
        if (headInput.has(l.index)) rule = 'integrate';
        else if (l.activation === 'linear') {
          rule = 'signed';
          side = 'abs';
          vthNeg = settings.vth;
        } else if (l.activation === 'leaky' && settings.neuron === 'ibt') {
          if (!(l.leakySlope > 0 && l.leakySlope < 1)) fail(net.source, `layer ${l.index} (${l.name}): leaky slope ${l.leakySlope} must be in (0, 1) for an IBT neuron`);
          rule = 'ibt';
          vthNeg = settings.vth / l.leakySlope;
        } else rule = 'if';
        const lo = rule === 'integrate'
          ? { lambda: new Float32Array(l.outShape.c).fill(1), dead: 0, negSat: 0, from: '1 (readout: membrane/t is the raw output)' }
          : lambdaFor(l, side, rule === 'ibt' && settings.lambdaSide === 'both');

        const eb = effectiveConv(l);
        let geo = { cout: l.outShape.c, cin: l.inShape.c, size: l.size, groups: l.groups };
        let w: ArrayLike<number> = eb.weights, b: ArrayLike<number> = eb.biases;
        if (a) {
          const ea = effectiveConv(a);
          const f = fuseLinearInto(
            { cout: a.outShape.c, cin: a.inShape.c, size: a.size, groups: a.groups, ...ea },
            { ...geo, ...eb },
          );
          geo = { cout: f.cout, cin: f.cin, size: f.size, groups: 1 };
          w = f.weights;
          b = f.biases;
        }
        const nw = normalizeConv(geo, w, b, lambdaIn, lo.lambda);
        const layer: SnnConvLayer = {
          kind: 'conv',
          index: layers.length,
          name: a ? `${a.name}+${l.name}` : l.name,
          source: l.index,
          inputs: [snnIdx(first.inputs[0])],
          inShape: first.inShape,
          outShape: l.outShape,
          lambda: lo.lambda,
          size: geo.size,
          stride: first.stride,
          pad: first.pad,
          groups: geo.groups,
          weights: nw.weights,
          biases: nw.biases,
          rule,
          vthPos: settings.vth,
          vthNeg,
          reset: settings.reset,
          // an analog first layer integrates a constant current: the reset neuron's counts are already floor-exact there
          ...(rule === 'ibt' && settings.sigmaDelta && !(first.inputs[0] < 0 && settings.input === 'analog') ? { sigmaDelta: true } : {}),
        };
        report.push({
          snnIndex: layer.index, name: layer.name, kind: 'conv', rule, lambdaFrom: a ? `${lo.from}; ${a.name} folded in` : lo.from,
          deadChannels: lo.dead, negSaturated: rule === 'ibt' ? lo.negSat : 0, ...(a ? { fused: [a.index, l.index] } : {}),
        });
        layers.push(layer);
        lambdaOf.set(l.index, lo.lambda);
        snnOf.set(l.index, layer.index);
        break;
      }
      case 'maxpool': {
        const lambda = Float32Array.from(lam(l.inputs[0]));
        layers.push({
          kind: 'maxpool', index: layers.length, name: l.name, source: l.index, inputs: [snnIdx(l.inputs[0])],
          inShape: l.inShape, outShape: l.outShape, lambda, size: l.size, stride: l.stride, padBegin: l.padBegin, rule: settings.pool ?? 'gate',
        });
        report.push({ snnIndex: layers.length - 1, name: l.name, kind: 'maxpool', lambdaFrom: 'its input\'s, per channel', deadChannels: 0, negSaturated: 0 });
        lambdaOf.set(l.index, lambda);
        snnOf.set(l.index, layers.length - 1);
        break;
      }
      case 'upsample': {
        const lambda = Float32Array.from(lam(l.inputs[0]));
        layers.push({
          kind: 'upsample', index: layers.length, name: l.name, source: l.index, inputs: [snnIdx(l.inputs[0])],
          inShape: l.inShape, outShape: l.outShape, lambda, stride: l.stride,
        });
        report.push({ snnIndex: layers.length - 1, name: l.name, kind: 'upsample', lambdaFrom: 'its input\'s, per channel', deadChannels: 0, negSaturated: 0 });
        lambdaOf.set(l.index, lambda);
        snnOf.set(l.index, layers.length - 1);
        break;
      }
      case 'route': {
        const lambda = concatLambda(l.layers.map(lam));
        const ins = l.layers.map(snnIdx);
        layers.push({
          kind: 'route', index: layers.length, name: l.name, source: l.index, inputs: ins,
          inShape: l.inShape, outShape: l.outShape, lambda, layers: ins,
        });
        report.push({ snnIndex: layers.length - 1, name: l.name, kind: 'route', lambdaFrom: `its inputs' concatenated (layers ${l.layers.join(', ')}), no shared scale`, deadChannels: 0, negSaturated: 0 });
        lambdaOf.set(l.index, lambda);
        snnOf.set(l.index, layers.length - 1);
        break;
      }
      case 'region':
      case 'yolo':
      case 'facehead':
        readouts.push({ head: l.index, layer: snnIdx(l.inputs[0]) });
        break;
    }
  }
  if (readouts.length === 0) fail(net.source, 'the network has no detection head to read out');

  const images = calibImages ?? stats.images;
  const hashes = images.map((f) => {
    const k = stats.images.indexOf(f);
    return k >= 0 ? stats.hashes[k] : '';
  });
  const snn: SnnNetwork = {
    formatVersion: formatVersionFor({ settings, layers }),
    settings: { ...settings },
    calibration: {
      images: [...images],
      statistic: settings.statistic,
      hashes,
      note:
        `λ = ${mode}-wise ${statName(settings.statistic)} of each conv's post-activation output (positive side; |x| for linear layers kept apart) ` +
        `over ${imgs} image${imgs === 1 ? '' : 's'}; percentiles: nearest rank over the non-zero values, log histograms (≤0.5 % error); ` +
        'input λ = 1 (analog); readout conv λ = 1',
    },
    ann: net,
    layers,
    readouts,
  };
  return { snn, report };
}
