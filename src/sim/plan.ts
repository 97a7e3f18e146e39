/**
 * What both SNN engines (the WASM core, src/sim/wasm.ts, and the plain-TS reference,
 * src/sim/reference.ts) derive from an SnnNetwork before the first tick: validated shapes, the
 * spike-code bit budget, which convs sort their input by channel, and the per-image inputs
 * (analog drive, Poisson rates) — computed here once, the same way for both, so that the two
 * engines can agree bit for bit.
 *
 * Semantics fixed here (documented choices):
 * - Analog input: a conv that reads the image gets the constant current
 *   drive = fround(Σ W̃·x (float64) + b̃) every tick, computed once per image (`analogDrive`).
 * - Poisson input: input unit p fires with probability r = fround(|p| / max|p|) per tick, the
 *   spike carrying the sign of p; the convs that read the image scatter weights fround(W̃·max|p|),
 *   so the expected current equals the analog one. The draw is u = (xorshift32 >>> 8)·2⁻²⁴,
 *   fire iff u < r, one draw per input unit per tick in channels-last (y, x, c) order.
 * - Channel sort: a conv whose weights exceed `SORT_WEIGHT_BYTES` scatters its input spikes sorted
 *   by input channel (stable), so that one channel's kernel stays in cache (measured: bench/).
 */
import type { Shape } from '../model/ir.ts';
import { convOut, shapeSize } from '../model/ir.ts';
import type { SnnConvLayer, SnnLayer, SnnNetwork } from '../convert/snn-ir.ts';
import { isBurst, MAX_BURST, sigmaDeltaProblem } from '../convert/snn-ir.ts';
import { fail } from '../util/errors.ts';
import { convChannelF64 } from '../ann/reference.ts';

/** weights larger than this (bytes, float32) → the conv sorts its input spikes by channel */
export const SORT_WEIGHT_BYTES = 1 << 20;

export type SortPolicy = 'auto' | 'always' | 'never';

export interface PlanOptions {
  /** channel sort of conv input spikes: by weight size (default), always, or never */
  sortInput?: SortPolicy;
  /**
   * Ticks a spike takes from one neuron layer to the next (default 0): 0 = the idealised tick in
   * which a spike passes every layer at once; 1 = chip semantics (Loihi, TrueNorth, SpiNNaker): a
   * spike emitted by a conv or max-pool at tick t is integrated by the next neuron layer at t + 1.
   * The input's spikes (or analog drive) reach the first layer in the tick they are made; route and
   * upsample are wiring and add no delay.
   */
  layerDelay?: LayerDelay;
  /**
   * Event input (a spike tensor per frame instead of an image): the ticks each frame's tensor
   * holds, T, so reset() takes T×C×H×W values in {−1, 0, 1} (tick-major; 1 a spike, −1 a negative
   * spike) and tick t reads slice t − 1 (none after T). The first layer then reads spikes with
   * unscaled weights, whatever the network's input coding. 0 or absent: the network's coding.
   */
  inputEvents?: number;
}

export type LayerDelay = 0 | 1;

/** Bits of a spike code field for values 0..n−1. */
export function bitsFor(n: number): number {
  return n <= 1 ? 0 : 32 - Math.clz32(n - 1);
}

/** Shape of a spike source plus its code layout (see assembly/snn-memory.ts). */
export interface SpikeShape extends Shape {
  /** channel bits */
  cb: number;
  /** x bits */
  xb: number;
}

export interface ConvPlan {
  cinG: number;
  coutG: number;
  /** reads the image with analog coding: constant drive instead of a scatter */
  analog: boolean;
  /** reads the image with Poisson coding: its weights are scaled by max|p| */
  poisson: boolean;
  sortInput: boolean;
  /** tap offset of each x phase (kx mod stride) in a packed kernel row; see snn-memory C_W */
  phaseOffsets: number[];
  /** the most spikes a neuron sends per tick (SnnSettings.burst; 1 for the classic neuron) */
  burst: number;
}

export interface LayerPlan {
  layer: SnnLayer;
  out: SpikeShape;
  /** spike sources it reads (-1 = input), in order */
  sources: number[];
  /** route only: channel offset of each source */
  channelOffsets: number[];
  /** worst case spikes per tick (every output neuron fires, each as often as a burst allows) */
  listCap: number;
  conv?: ConvPlan;
}

export interface SimPlan {
  net: SnnNetwork;
  input: SpikeShape;
  /** the input is Poisson spikes (coding 'poisson' or 'rate') */
  poisson: boolean;
  /** coding 'rate': fire probability |p| per tick itself, weights unscaled (see InputCoding) */
  absoluteRates: boolean;
  /** PlanOptions.inputEvents (0: none); with events, poisson and absoluteRates are true (spikes in, weights unscaled) */
  events: number;
  layers: LayerPlan[];
  /** PlanOptions.layerDelay */
  layerDelay: LayerDelay;
  /**
   * Neuron layers (conv, max-pool) on the longest path from the input to each layer, the layer
   * itself included (wiring layers: their sources' depth). The first conv has depth 1.
   */
  depth: number[];
  /**
   * With layerDelay 1: the ticks before the deepest readout receives its first input, max over the
   * readouts of depth − 1 (the pipeline fill); 0 without delay.
   */
  fillTicks: number;
}

function spikeShape(s: Shape, where: string): SpikeShape {
  const cb = bitsFor(s.c), xb = bitsFor(s.w), yb = bitsFor(s.h);
  if (1 + cb + xb + yb > 31) fail(where, `${s.c}x${s.h}x${s.w} needs ${1 + cb + xb + yb} bits per spike code, more than 31; use a smaller --size`);
  return { c: s.c, h: s.h, w: s.w, cb, xb };
}

const sameShape = (a: Shape, b: Shape) => a.c === b.c && a.h === b.h && a.w === b.w;

/** Validates the network (a user can hand us a broken file) and derives the engines' plan. */
export function planSimulation(net: SnnNetwork, opts: PlanOptions = {}): SimPlan {
  const where = `SNN ${net.ann?.name ?? '?'}`;
  const policy = opts.sortInput ?? 'auto';
  const layerDelay = opts.layerDelay ?? 0;
  if (layerDelay !== 0 && layerDelay !== 1) fail(where, `layer delay ${layerDelay} must be 0 or 1 tick`);
  if (!net.ann?.input) fail(where, 'the network has no source ANN input shape (ann.input)');
  const input = spikeShape(net.ann.input, `${where} input`);
  const coding = net.settings?.input ?? 'analog';
  if (coding !== 'analog' && coding !== 'poisson' && coding !== 'rate') fail(`${where} settings.input`, `"${coding}" is not analog, poisson or rate`);
  const events = opts.inputEvents ?? 0;
  if (!(Number.isInteger(events) && events >= 0)) fail(where, `input events: ${events} ticks must be a non-negative integer`);
  const poisson = coding !== 'analog' || events > 0;
  const burst = net.settings?.burst ?? 1;
  if (!isBurst(burst)) fail(`${where} settings.burst`, `${burst} must be an integer in 1..${MAX_BURST}`);
  const shapes: SpikeShape[] = [];
  // the most spikes one neuron of each layer emits per tick: a burst in a spiking conv, passed on
  // unchanged by a pool (one output spike per input event at most), an upsample and a route
  const perNeuron: number[] = [];
  const perNeuronOf = (i: number): number => (i < 0 ? 1 : perNeuron[i]);
  const shapeOf = (i: number): SpikeShape => (i < 0 ? input : shapes[i]);
  const layers: LayerPlan[] = [];
  for (const [pos, l] of net.layers.entries()) {
    const at = `${where} layer ${pos} (${l?.kind} ${l?.name ?? ''})`;
    if (l.index !== pos) fail(at, `index ${l.index} should be ${pos}: layers must be listed in order`);
    const out = spikeShape(l.outShape, at);
    const sources = l.kind === 'route' ? l.layers : l.inputs.slice(0, 1);
    if (sources.length === 0) fail(at, 'has no input');
    for (const s of sources) if (!Number.isInteger(s) || s < -1 || s >= pos) fail(at, `input ${s} is not an earlier layer or -1`);
    if (l.lambda.length !== l.outShape.c) fail(at, `lambda has ${l.lambda.length} values for ${l.outShape.c} channels`);
    const inS = shapeOf(sources[0]);
    const mult = l.kind === 'conv' ? (l.rule === 'integrate' ? 1 : burst) : Math.max(...sources.map(perNeuronOf));
    perNeuron.push(mult);
    const plan: LayerPlan = { layer: l, out, sources, channelOffsets: [], listCap: mult * shapeSize(l.outShape) };
    switch (l.kind) {
      case 'conv': {
        const c = l as SnnConvLayer;
        if (!sameShape(inS, c.inShape)) fail(at, `input is ${inS.c}x${inS.h}x${inS.w}, inShape ${c.inShape.c}x${c.inShape.h}x${c.inShape.w}`);
        if (!(c.size >= 1 && c.stride >= 1 && c.pad >= 0)) fail(at, 'size, stride and pad must be positive');
        if (!(c.groups >= 1 && c.inShape.c % c.groups === 0 && c.outShape.c % c.groups === 0)) fail(at, `groups ${c.groups} must divide input and output channels`);
        if (c.outShape.h !== convOut(c.inShape.h, c.size, c.stride, c.pad) || c.outShape.w !== convOut(c.inShape.w, c.size, c.stride, c.pad)) fail(at, 'outShape does not follow from size/stride/pad');
        const cinG = c.inShape.c / c.groups, coutG = c.outShape.c / c.groups;
        if (c.weights.length !== c.outShape.c * cinG * c.size * c.size) fail(at, `has ${c.weights.length} weights, needs ${c.outShape.c * cinG * c.size * c.size}`);
        if (c.biases.length !== c.outShape.c) fail(at, `has ${c.biases.length} biases for ${c.outShape.c} channels`);
        if (!['if', 'ibt', 'signed', 'integrate'].includes(c.rule)) fail(at, `unknown spike rule "${c.rule}"`);
        if (c.reset !== 'subtract' && c.reset !== 'zero') fail(at, `unknown reset "${c.reset}"`);
        const sd = sigmaDeltaProblem(c);
        if (sd) fail(at, sd);
        if (c.rule !== 'integrate') {
          if (!(Math.fround(c.vthPos) > 0 && Number.isFinite(c.vthPos))) fail(at, `vthPos ${c.vthPos} must be a positive number`);
          if ((c.rule === 'ibt' || c.rule === 'signed') && !(Math.fround(c.vthNeg) > 0 && Number.isFinite(c.vthNeg))) fail(at, `vthNeg ${c.vthNeg} must be a positive number`);
        }
        if (c.synapse !== undefined) {
          for (const k of ['leak', 'gain', 'bias'] as const) {
            const a = c.synapse[k];
            if (!(a instanceof Float32Array) || a.length !== c.outShape.c) fail(at, `synapse.${k} must be a float32 array of ${c.outShape.c} values (one per output channel)`);
            for (let j = 0; j < a.length; j++) if (!Number.isFinite(a[j]) || (k === 'leak' && !(a[j] >= 0 && a[j] <= 1))) fail(at, `synapse.${k}[${j}] ${a[j]} must be ${k === 'leak' ? 'in [0, 1]' : 'finite'}`);
          }
          if (sources[0] < 0 && !poisson) fail(at, 'a synaptic current needs spike input (the analog drive goes straight into V)');
        }
        if (c.leak !== undefined) {
          if (!(c.leak instanceof Float32Array) || c.leak.length !== c.outShape.c) fail(at, `leak must be a float32 array of ${c.outShape.c} values (one per output channel)`);
          for (let j = 0; j < c.leak.length; j++) if (!(c.leak[j] >= 0 && c.leak[j] <= 1)) fail(at, `leak[${j}] ${c.leak[j]} must be in [0, 1]`);
        }
        for (const k of ['gridStep', 'membraneClamp'] as const) {
          const a = c[k];
          if (a === undefined) continue;
          if (!(a instanceof Float32Array) || a.length !== c.outShape.c) fail(at, `${k} must be a float32 array of ${c.outShape.c} values (one per output channel)`);
          for (let j = 0; j < a.length; j++) if (!(a[j] > 0) || (k === 'gridStep' && !Number.isFinite(a[j]))) fail(at, `${k}[${j}] ${a[j]} must be a positive number`);
        }
        const readsInput = sources[0] < 0;
        const weightBytes = c.weights.length * 4;
        const sortInput = !readsInput || poisson ? (policy === 'always' || (policy === 'auto' && weightBytes > SORT_WEIGHT_BYTES)) : false;
        const phaseOffsets: number[] = [];
        let acc = 0;
        for (let p = 0; p < c.stride; p++) {
          phaseOffsets.push(acc);
          acc += Math.max(0, Math.ceil((c.size - p) / c.stride));
        }
        plan.conv = { cinG, coutG, analog: readsInput && !poisson, poisson: readsInput && poisson, sortInput, phaseOffsets, burst: mult };
        break;
      }
      case 'maxpool': {
        if (!sameShape(inS, l.inShape) || l.outShape.c !== inS.c) fail(at, 'input/output shapes do not match');
        if (!(l.size >= 1 && l.stride >= 1 && l.padBegin >= 0)) fail(at, 'size, stride and padBegin must be positive');
        if (sources[0] < 0 && !poisson) fail(at, 'a max-pool cannot read the analog input (only spikes)');
        break;
      }
      case 'upsample': {
        if (!sameShape(inS, l.inShape) || l.outShape.c !== inS.c || l.outShape.h !== inS.h * l.stride || l.outShape.w !== inS.w * l.stride) fail(at, 'output is not the input scaled by stride');
        if (sources[0] < 0 && !poisson) fail(at, 'an upsample cannot read the analog input (only spikes)');
        break;
      }
      case 'route': {
        let c = 0;
        for (const s of sources) {
          if (s < 0 && !poisson) fail(at, 'a route cannot read the analog input (only spikes)');
          const ss = shapeOf(s);
          if (ss.h !== l.outShape.h || ss.w !== l.outShape.w) fail(at, `source ${s} is ${ss.w}x${ss.h}, route is ${l.outShape.w}x${l.outShape.h}`);
          plan.channelOffsets.push(c);
          c += ss.c;
        }
        if (c !== l.outShape.c) fail(at, `sources have ${c} channels, route has ${l.outShape.c}`);
        break;
      }
      default:
        fail(at, `unknown layer kind "${(l as { kind: string }).kind}"`);
    }
    shapes.push(out);
    layers.push(plan);
  }
  for (const r of net.readouts) {
    const l = net.layers[r.layer];
    if (!l || l.kind !== 'conv') fail(`${where} readouts`, `layer ${r.layer} is not a conv layer`);
  }
  const depth: number[] = [];
  for (const lp of layers) {
    const from = Math.max(...lp.sources.map((s) => (s < 0 ? 0 : depth[s])));
    depth.push(lp.layer.kind === 'conv' || lp.layer.kind === 'maxpool' ? from + 1 : from);
  }
  const fillTicks = layerDelay ? Math.max(0, ...net.readouts.map((r) => depth[r.layer] - 1)) : 0;
  return { net, input, poisson, absoluteRates: coding === 'rate' || events > 0, events, layers, layerDelay, depth, fillTicks };
}

// ---------------------------------------------------------------------------------------------
// per-image inputs, shared by both engines

/**
 * The constant input current of an analog-input conv, C×H×W: fround(Σ W̃·x + b̃), the sum in
 * float64 (order: input channel, ky, kx). A fixed-point layer (`gridStep` Δ per output channel,
 * set by src/convert/quantize.ts) gets fround(round((Σ W̃·x + b̃)/Δ)·Δ) (Math.round: halves up): the real-valued image enters the
 * chip as an integer current per neuron (as a bias-style input does on Loihi), on the grid of the
 * layer's weights and membrane.
 */
export function analogDrive(l: SnnConvLayer, input: Float32Array): Float32Array {
  const { c: cout, h: outH, w: outW } = l.outShape;
  const out = new Float32Array(cout * outH * outW);
  const acc = new Float64Array(outH * outW);
  for (let o = 0; o < cout; o++) {
    convChannelF64(l, input, o, acc);
    const plane = o * outH * outW, b = l.biases[o];
    const step = l.gridStep?.[o];
    if (step !== undefined) for (let p = 0; p < outH * outW; p++) out[plane + p] = Math.round((acc[p] + b) / step) * step;
    else for (let p = 0; p < outH * outW; p++) out[plane + p] = acc[p] + b;
  }
  return out;
}

/**
 * Event input (PlanOptions.inputEvents): a frame's T×C×H×W tensor as spike codes, tick by tick in
 * channels-last order (y, x, c), as the Poisson source emits them; offsets[t]..offsets[t+1] are
 * tick t + 1's. Values other than −1, 0 and 1 are refused.
 */
export function eventCodes(plan: SimPlan, events: Float32Array): { codes: Int32Array; offsets: Int32Array } {
  const { c: C, h: H, w: W, cb, xb } = plan.input;
  const T = plan.events, n = C * H * W;
  if (events.length !== T * n) throw new Error(`input events: ${events.length} values, ${T} ticks of ${C}x${H}x${W} need ${T * n}`);
  let count = 0;
  for (let i = 0; i < events.length; i++) {
    const v = events[i];
    if (v !== 0 && v !== 1 && v !== -1) throw new Error(`input events: value ${v} at index ${i} (one spike per unit and tick: 0, 1 or −1)`);
    if (v !== 0) count++;
  }
  const codes = new Int32Array(count), offsets = new Int32Array(T + 1);
  let k = 0;
  for (let t = 0; t < T; t++) {
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) {
      const v = events[t * n + (c * H + y) * W + x];
      if (v !== 0) codes[k++] = (((((y << xb) | x) << cb) | c) << 1) | (v < 0 ? 1 : 0);
    }
    offsets[t + 1] = k;
  }
  return { codes, offsets };
}

/** Poisson coding of a C×H×W input: signed rates fround(p / max|p|) (C×H×W) and max|p|. */
export function poissonRates(input: Float32Array, absolute = false): { rates: Float32Array; scale: number } {
  if (absolute) {
    // coding 'rate': the values are the probabilities (sign: the spike's sign), at most 1
    const rates = new Float32Array(input.length);
    for (let i = 0; i < input.length; i++) rates[i] = Math.max(-1, Math.min(1, input[i]));
    return { rates, scale: 1 };
  }
  let m = 0;
  for (let i = 0; i < input.length; i++) m = Math.max(m, Math.abs(input[i]));
  const rates = new Float32Array(input.length);
  if (m > 0) for (let i = 0; i < input.length; i++) rates[i] = input[i] / m;
  return { rates, scale: m };
}

/** xorshift32 start state for a seed (never 0). */
export function rngState(seed: number): number {
  let s = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  s = (s ^ (s >>> 13)) >>> 0;
  s = Math.imul(s, 0xc2b2ae35) >>> 0;
  s = (s ^ (s >>> 16)) >>> 0;
  return s === 0 ? 0x6d2b79f5 : s;
}

/** One xorshift32 step, as assembly/snn.ts does it; returns the new state (u32). */
export function xorshift32(s: number): number {
  s ^= s << 13;
  s >>>= 0;
  s ^= s >>> 17;
  s ^= s << 5;
  return s >>> 0;
}

/**
 * Readout of a conv layer: raw(t) = fround(fround(V/t)·λ(c)), C×H×W, from a channels-last membrane
 * array (pixel stride `pix` floats, from `offset`).
 */
export function readoutFrom(V: Float32Array, offset: number, pix: number, l: SnnLayer, tick: number, into?: Float32Array): Float32Array {
  const { c: C, h: H, w: W } = l.outShape;
  const out = into ?? new Float32Array(C * H * W);
  const t = Math.max(1, tick);
  const plane = H * W;
  for (let p = 0; p < plane; p++) {
    const at = offset + p * pix;
    for (let c = 0; c < C; c++) out[c * plane + p] = Math.fround(V[at + c] / t) * l.lambda[c];
  }
  return out;
}

/** Channels-last membrane → C×H×W copy. */
export function membraneFrom(V: Float32Array, offset: number, pix: number, s: Shape): Float32Array {
  const out = new Float32Array(shapeSize(s));
  const plane = s.h * s.w;
  for (let p = 0; p < plane; p++) for (let c = 0; c < s.c; c++) out[c * plane + p] = V[offset + p * pix + c];
  return out;
}
