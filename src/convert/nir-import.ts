/**
 * A NIR graph as an SNN IR network (`--model FILE.nir`): no calibration, the graph's own weights
 * and thresholds. Nested graphs are inlined; the graph must be a chain from its Input to its Output.
 *
 * Between two neuron nodes, the linear nodes (Conv2d, SumPool2d, AvgPool2d, Flatten, Linear, Affine)
 * are composed into one SNN conv layer that feeds the neuron:
 * - Conv2d (groups too): the conv itself (square kernel, stride, symmetric padding, dilation 1).
 * - SumPool2d (kernel = stride, no padding) then a conv of kernel k, stride s, pad p: one conv of
 *   kernel k·K, stride s·K, pad p·K whose weight at tap u is the conv's at ⌊u/K⌋ — the same sum of
 *   the same weights over the same input spikes, exact when the pooled input divides by K (checked).
 *   AvgPool2d is the same with weights / K² (exact for K a power of two).
 * - Flatten then Linear/Affine on a C×H×W input (H = W): a conv whose kernel covers the whole input
 *   (C-order flatten index c·H·W + y·W + x is the OIHW kernel's own order); on an N×1×1 input, a 1×1
 *   conv. Affine's bias is the conv's bias (a constant current every tick, as NIR's y = Wx + b).
 * - A pool directly before a neuron: a depthwise conv with weights 1 (or 1/K²).
 * Neurons: IF (NIR: v += r·I; spike when v > v_threshold; v = v_reset) becomes neuroemu's 'if' rule
 * with reset to zero and threshold nextUp(v_threshold): for float32 membranes V ≥ nextUp(θ) is
 * exactly V > θ. r must be 1, v_reset 0 and v_threshold one value per node (the SNN IR holds one
 * threshold per layer). I (integrator) is the 'integrate' rule, allowed as the last node.
 * LIF and LI (time constants): forward Euler at the user's step dt (--nir-dt), as NIR's simulators
 * step them: V_t = (1 − dt/τ)·V_{t−1} + (r·dt/τ)·(W·s_t + b) + (dt/τ)·v_leak, the leak per channel
 * in the core (SnnConvLayer.leak), r·dt/τ folded into the weights and the rest into the bias.
 * CubaLIF and CubaLI (a synaptic current): forward Euler at --nir-dt, the current first (as Loihi's
 * CUBA neuron): I_t = (1 − dt/τ_syn)·I_{t−1} + (dt/τ_syn)·w_in·(W·s_t + b), V_t = (1 − dt/τ_mem)·V_{t−1}
 * + (dt/τ_mem)·(r·I_t + v_leak): the core's synapse (SnnConvLayer.synapse) and leak.
 * Scale right after a linear node: folded into its weights and bias per output channel.
 * Refused, naming the node and what the core lacks: Delay (synaptic delays), Threshold (a
 * stateless spike function), Scale elsewhere, Conv1d.
 *
 * Input: the SNN core's Poisson source (src/sim/plan.ts): unit p fires with probability
 * |p|/max|p| and the first conv's weights are scaled by max|p|. The imported graph expects unit
 * events, so the rates given here are firing probabilities per tick per input channel, and the
 * highest must be 1 (the core normalizes by it): see `nirInputRates`. Or recorded events
 * (`run --input-events FILE.npy`, PlanOptions.inputEvents): a T×C×H×W tensor per frame.
 */
import { basename } from 'node:path';
import type { Network, Shape } from '../model/ir.ts';
import { convOut } from '../model/ir.ts';
import { intField, numbers, readNirSync, validateGraph, type NirFile, type NirGraph, type NirLeaf, type NirNode, type NirTensor } from '../model/nir.ts';
import { fail } from '../util/errors.ts';
import { SNN_FORMAT_VERSION, type SnnConvLayer, type SnnNetwork } from './snn-ir.ts';

/** what each SNN layer came from and how exactly */
export interface NirImportNote {
  layer: number;
  nodes: string[];
  how: string;
}
export interface NirImport {
  snn: SnnNetwork;
  notes: NirImportNote[];
  /** the NIR input's shape (C×H×W; a 1-D input is N×1×1) */
  input: Shape;
}

/** the smallest float32 above x (x a float32 value ≥ 0) */
export function nextUpF32(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  if (x === 0) return 1.401298464324817e-45;
  u[0] += x > 0 ? 1 : -1;
  return f[0];
}

interface Flat {
  name: string;
  node: NirLeaf;
}

/** Inlines nested graphs (node names joined with '.') and orders the graph as a chain Input → … → Output. */
function chain(g: NirGraph, file: string): Flat[] {
  const nodes = new Map<string, NirLeaf>();
  const edges: [string, string][] = [];
  const inline = (gr: NirGraph, prefix: string): { inputs: string[]; outputs: string[] } => {
    const entry = new Map<string, { inputs: string[]; outputs: string[] }>();
    for (const [k, n] of gr.nodes) {
      const name = prefix + k;
      if (n.type === 'NIRGraph') entry.set(k, inline(n, `${name}.`));
      else {
        nodes.set(name, n);
        entry.set(k, { inputs: [name], outputs: [name] });
      }
    }
    for (const [a, b] of gr.edges) for (const x of entry.get(a)!.outputs) for (const y of entry.get(b)!.inputs) edges.push([x, y]);
    const ins = [...gr.nodes].filter(([, n]) => n.type === 'Input').map(([k]) => prefix + k);
    const outs = [...gr.nodes].filter(([, n]) => n.type === 'Output').map(([k]) => prefix + k);
    return { inputs: ins, outputs: outs };
  };
  const top = inline(g, '');
  // a nested graph's Input/Output are pass-throughs; the top graph's are the network's ends
  const inputs = top.inputs, outputs = top.outputs;
  if (inputs.length !== 1) fail(file, `the graph has ${inputs.length} Input nodes; neuroemu runs graphs with one input`);
  if (outputs.length !== 1) fail(file, `the graph has ${outputs.length} Output nodes; neuroemu runs graphs with one output`);
  const next = new Map<string, string[]>(), prevCount = new Map<string, number>();
  for (const [a, b] of edges) {
    next.set(a, [...(next.get(a) ?? []), b]);
    prevCount.set(b, (prevCount.get(b) ?? 0) + 1);
  }
  for (const [k, n] of prevCount) if (n > 1) fail(`${file}: node ${k}`, `has ${n} inputs (NIR sums them); neuroemu's SNN IR runs chains of layers`);
  const out: Flat[] = [];
  const seen = new Set<string>();
  let at: string | undefined = inputs[0];
  while (at !== undefined) {
    if (seen.has(at)) fail(`${file}: node ${at}`, 'is on a cycle (recurrent graphs are not supported)');
    seen.add(at);
    out.push({ name: at, node: nodes.get(at)! });
    const nx: string[] = next.get(at) ?? [];
    if (nx.length > 1) fail(`${file}: node ${at}`, `feeds ${nx.length} nodes (${nx.join(', ')}); neuroemu's SNN IR runs chains of layers`);
    at = nx[0];
  }
  if (out[out.length - 1].name !== outputs[0]) fail(`${file}: node ${out[out.length - 1].name}`, `the chain from ${inputs[0]} ends here, not at the Output ${outputs[0]}`);
  for (const k of nodes.keys()) if (!seen.has(k)) fail(`${file}: node ${k}`, `is not on the path from ${inputs[0]} to ${outputs[0]}`);
  return out;
}

const tensor = (n: NirLeaf, k: string) => n.fields[k] as NirTensor | undefined;
const shapeOf = (s: Shape) => (s.h === 1 && s.w === 1 ? [s.c] : [s.c, s.h, s.w]);
const fmt = (a: number[]) => `(${a.join(', ')})`;

/** a 2-vector field (or a scalar) that must hold one value twice: square kernels, strides, pads */
function square(n: NirLeaf, k: string, where: string, dflt?: number): number {
  const v = n.fields[k];
  if (v === undefined && dflt !== undefined) return dflt;
  if (v === undefined) fail(where, `${k} is missing`);
  if (typeof v === 'string') fail(`${where}/${k}`, `"${v}" is handled by the caller`);
  const xs = [...numbers(v)];
  if (xs.length === 1) return xs[0];
  if (xs.length !== 2 || xs[0] !== xs[1]) fail(`${where}/${k}`, `${fmt(xs)}: neuroemu's SNN IR has square kernels, strides and padding`);
  return xs[0];
}

type Op =
  | { kind: 'conv'; size: number; stride: number; pad: number; groups: number; weights: Float32Array; bias: Float32Array; inShape: Shape; outShape: Shape; nodes: string[]; scaled?: boolean }
  | { kind: 'pool'; k: number; avg: boolean; inShape: Shape; outShape: Shape; node: string };

export interface NirImportOptions {
  /**
   * The time step in seconds for graphs with time constants (LIF, LI): NIR holds τ, not the
   * simulator's step, so the step is the user's (NIR's simulators take it as a parameter).
   */
  dtS?: number;
}

/**
 * Per-channel values of a neuron parameter (shape C or C×H×W, constant over the pixels of a
 * channel: the SNN IR holds per-channel parameters).
 */
function perChannel(node: NirLeaf, field: string, shape: Shape, where: string): Float64Array {
  const v = numbers(tensor(node, field)!);
  const plane = v.length === shape.c ? 1 : shape.h * shape.w;
  if (v.length !== shape.c * plane && v.length !== 1) fail(`${where}/${field}`, `${v.length} values for ${shape.c} channels`);
  const out = new Float64Array(shape.c);
  for (let c = 0; c < shape.c; c++) {
    out[c] = v.length === 1 ? v[0] : v[c * plane];
    for (let p = 1; p < plane; p++) if (v[c * plane + p] !== out[c]) fail(`${where}/${field}`, `differs between the neurons of channel ${c}: the SNN IR holds one value per channel`);
  }
  return out;
}

/** Parses a NIR graph (already read) into an SNN network. `file` names it in messages. */
export function nirToSnn(nf: NirFile, file: string, opts: NirImportOptions = {}): NirImport {
  // a graph read from a file is already checked; one built or changed in code is checked here
  validateGraph(nf.graph, `${file}: /node`);
  const seq = chain(nf.graph, file);
  const first = seq[0].node;
  const ishape = [...numbers(tensor(first, 'shape')!)];
  let cur: Shape;
  if (ishape.length === 3) cur = { c: ishape[0], h: ishape[1], w: ishape[2] };
  else if (ishape.length === 1) cur = { c: ishape[0], h: 1, w: 1 };
  else fail(`${file}: node ${seq[0].name}`, `input shape ${fmt(ishape)}: neuroemu takes C×H×W or N inputs`);
  if (!(cur.c >= 1 && cur.h >= 1 && cur.w >= 1)) fail(`${file}: node ${seq[0].name}`, `input shape ${fmt(ishape)} has an empty dimension`);
  const input = { ...cur };
  const layers: SnnConvLayer[] = [];
  const notes: NirImportNote[] = [];
  let pending: Op[] = [];
  /** shape before a Flatten (the dense layer after it reads this spatial layout) */
  let flatFrom: Shape | null = null;
  /** Flatten nodes since the last neuron (they only reorder: listed with the layer they feed) */
  let flatNodes: string[] = [];
  let src = -1;
  let srcShape: Shape = cur;
  let ended = false;
  /** the nodes a neuron layer is made of: the linear and Flatten nodes since the last neuron, then the neuron */
  const consumed = (neuron: string) => [...seq.map((q) => q.name).filter((q) => pending.some((o) => (o.kind === 'conv' ? o.nodes.includes(q) : o.node === q)) || flatNodes.includes(q)), neuron];
  for (const { name, node } of seq.slice(1)) {
    const where = `${file}: node ${name} (${node.type})`;
    if (ended && node.type !== 'Output') fail(where, 'follows an integrator (I or LI) node, whose output is a membrane, not spikes');
    switch (node.type) {
      case 'Conv2d': {
        const w = tensor(node, 'weight')!;
        const [cout, cinG, kh, kw] = w.shape;
        if (kh !== kw) fail(`${where}/weight`, `kernel ${kh}x${kw}: neuroemu's SNN IR has square kernels`);
        const groups = intField(node, 'groups', 1, where);
        if (!(groups >= 1 && cur.c % groups === 0 && cout % groups === 0 && cinG === cur.c / groups)) fail(`${where}/weight`, `shape ${fmt(w.shape)} with groups ${groups} does not read ${cur.c} input channels`);
        const ins = [...numbers(tensor(node, 'input_shape')!)];
        if (ins.length !== 2 || ins[0] !== cur.h || ins[1] !== cur.w) fail(`${where}/input_shape`, `${fmt(ins)}, but its input is ${cur.h}x${cur.w}`);
        if (square(node, 'dilation', where) !== 1) fail(`${where}/dilation`, 'dilation other than 1 is not supported');
        const stride = square(node, 'stride', where);
        const padF = node.fields.padding;
        let pad: number;
        if (padF === 'valid') pad = 0;
        else if (padF === 'same') {
          if (stride !== 1 || kh % 2 === 0) fail(`${where}/padding`, "'same' with an even kernel or a stride pads asymmetrically: not supported");
          pad = (kh - 1) / 2;
        } else pad = square(node, 'padding', where);
        const bias = tensor(node, 'bias')!;
        if (bias.data.length !== cout && bias.data.length !== 1) fail(`${where}/bias`, `${bias.data.length} values for ${cout} output channels`);
        const outShape = { c: cout, h: convOut(cur.h, kh, stride, pad), w: convOut(cur.w, kh, stride, pad) };
        if (!(outShape.h >= 1 && outShape.w >= 1)) fail(where, `the output of ${cur.h}x${cur.w} would be empty`);
        pending.push({ kind: 'conv', size: kh, stride, pad, groups, weights: Float32Array.from(numbers(w)), bias: biasOf(bias, cout), inShape: cur, outShape, nodes: [name] });
        cur = outShape;
        flatFrom = null;
        break;
      }
      case 'SumPool2d':
      case 'AvgPool2d': {
        const k = square(node, 'kernel_size', where), s = node.fields.padding === 'valid' ? 0 : square(node, 'padding', where);
        const stride = square(node, 'stride', where);
        if (stride !== k || s !== 0) fail(where, `kernel ${k}, stride ${stride}, padding ${s}: neuroemu composes pools whose stride is their kernel, without padding`);
        const outShape = { c: cur.c, h: Math.floor(cur.h / k), w: Math.floor(cur.w / k) };
        pending.push({ kind: 'pool', k, avg: node.type === 'AvgPool2d', inShape: cur, outShape, node: name });
        cur = outShape;
        break;
      }
      case 'Flatten': {
        const dims = shapeOf(cur);
        const start = intField(node, 'start_dim', 1, where), end = intField(node, 'end_dim', -1, where);
        const s0 = start < 0 ? start + dims.length : start, e0 = end < 0 ? end + dims.length : end;
        if (!(s0 === 0 && e0 === dims.length - 1) && dims.length > 1) fail(where, `start_dim ${start} / end_dim ${end} on ${fmt(dims)} does not flatten to one dimension`);
        const it = tensor(node, 'input_type');
        if (it && fmt([...numbers(it)]) !== fmt(dims)) fail(`${where}/input_type`, `${fmt([...numbers(it)])}, but its input is ${fmt(dims)}`);
        flatFrom = cur;
        flatNodes.push(name);
        cur = { c: cur.c * cur.h * cur.w, h: 1, w: 1 };
        break;
      }
      case 'Linear':
      case 'Affine': {
        const w = tensor(node, 'weight')!;
        if (w.shape.length !== 2) fail(`${where}/weight`, `shape ${fmt(w.shape)}: neuroemu takes a 2-D weight (N_out, N_in)`);
        const [nout, nin] = w.shape;
        const from = flatFrom ?? cur;
        if (cur.h !== 1 || cur.w !== 1 || nin !== cur.c) fail(`${where}/weight`, `shape ${fmt(w.shape)}, but its input is ${fmt(shapeOf(cur))}`);
        if (from.h !== from.w) fail(where, `reads a flattened ${from.c}x${from.h}x${from.w} input: neuroemu's square kernels need H = W`);
        const bias = node.type === 'Affine' ? tensor(node, 'bias')! : undefined;
        if (bias && bias.data.length !== nout) fail(`${where}/bias`, `${bias.data.length} values for ${nout} outputs`);
        // OIHW over the flattened C×H×W: the weight matrix's rows are already in kernel order
        pending.push({ kind: 'conv', size: from.h, stride: 1, pad: 0, groups: 1, weights: Float32Array.from(numbers(w)), bias: bias ? biasOf(bias, nout) : new Float32Array(nout), inShape: from, outShape: { c: nout, h: 1, w: 1 }, nodes: [name] });
        cur = { c: nout, h: 1, w: 1 };
        flatFrom = null;
        break;
      }
      case 'LIF':
      case 'LI': {
        // forward Euler with the user's step, as NIR's simulators: v ← v + dt/τ·(v_leak − v + r·I),
        // i.e. V_t = (1 − dt/τ)·V_{t−1} + (r·dt/τ)·(W·s_t + b) + (dt/τ)·v_leak: the leak is the
        // core's, the factors fold into the weights and the bias
        const dt = opts.dtS;
        if (dt === undefined) fail(where, 'has time constants (tau): give the simulation step with --nir-dt SECONDS (NIR graphs do not hold it)');
        const tau = perChannel(node, 'tau', cur, where), r = perChannel(node, 'r', cur, where), vLeak = perChannel(node, 'v_leak', cur, where);
        const leak = new Float32Array(cur.c), gain = new Float64Array(cur.c), offset = new Float64Array(cur.c);
        for (let c = 0; c < cur.c; c++) {
          checkStep(tau[c], dt, `${where}/tau`);
          leak[c] = 1 - dt / tau[c];
          gain[c] = (r[c] * dt) / tau[c];
          offset[c] = (vLeak[c] * dt) / tau[c];
        }
        let vth = 1;
        if (node.type === 'LIF') vth = leakyThreshold(node, cur, where);
        else ended = true;
        const conv = compose(pending, srcShape, cur, `${file}: before node ${name}`);
        const per = conv.weights.length / cur.c;
        const weights = Float32Array.from(conv.weights, (w, i) => w * gain[Math.floor(i / per)]);
        const biases = Float32Array.from(conv.bias, (b, c) => gain[c] * b + offset[c]);
        const index = layers.length;
        layers.push({
          kind: 'conv', index, name, source: index, inputs: [src], inShape: srcShape, outShape: cur, lambda: new Float32Array(cur.c).fill(1),
          size: conv.size, stride: conv.stride, pad: conv.pad, groups: conv.groups, weights, biases, leak,
          rule: node.type === 'LIF' ? 'if' : 'integrate', vthPos: vth, vthNeg: Infinity, reset: 'zero',
        });
        const l0 = leak[0];
        notes.push({
          layer: index, nodes: consumed(name),
          how: `${conv.how}; ${node.type} forward Euler at dt ${dt} s: V ← ${leak.every((x) => x === l0) ? Number(l0.toPrecision(6)) : 'leak[c]'}·V + (r·dt/τ)·I + (dt/τ)·v_leak${node.type === 'LIF' ? `, spike at v > ${Math.fround(vthOrZero(node))} as V ≥ nextUp, reset to 0` : ', no spikes'} (weights and bias scaled in float32)`,
        });
        pending = [];
        flatNodes = [];
        src = index;
        srcShape = cur;
        break;
      }
      case 'IF':
      case 'I': {
        const ps = tensor(node, 'r')!.shape;
        if (fmt(ps) !== fmt(shapeOf(cur)) && fmt(ps) !== fmt([cur.c, cur.h, cur.w])) fail(where, `parameters of shape ${fmt(ps)}, but its input is ${fmt(shapeOf(cur))}`);
        if (!numbers(tensor(node, 'r')!).every((x) => x === 1)) fail(`${where}/r`, 'r other than 1 (input current × r) is not supported: the SNN core adds weights unscaled');
        let vth = 0;
        if (node.type === 'IF') {
          const th = numbers(tensor(node, 'v_threshold')!);
          const t0 = Math.fround(th[0]);
          if (!th.every((x) => Math.fround(x) === t0)) fail(`${where}/v_threshold`, 'thresholds differ between neurons: the SNN IR holds one threshold per layer');
          if (!(t0 >= 0) || !Number.isFinite(t0)) fail(`${where}/v_threshold`, `${th[0]} must be a finite number ≥ 0 (neuroemu fires at a positive threshold)`);
          const vr = tensor(node, 'v_reset');
          if (vr && !numbers(vr).every((x) => x === 0)) fail(`${where}/v_reset`, 'a reset potential other than 0 is not supported: the SNN core resets to 0 or subtracts');
          vth = nextUpF32(t0);
        } else ended = true;
        const conv = compose(pending, srcShape, cur, `${file}: before node ${name}`);
        const index = layers.length;
        layers.push({
          kind: 'conv', index, name, source: index, inputs: [src], inShape: srcShape, outShape: cur, lambda: new Float32Array(cur.c).fill(1),
          size: conv.size, stride: conv.stride, pad: conv.pad, groups: conv.groups, weights: conv.weights, biases: conv.bias,
          rule: node.type === 'IF' ? 'if' : 'integrate', vthPos: node.type === 'IF' ? vth : 1, vthNeg: Infinity, reset: 'zero',
        });
        notes.push({ layer: index, nodes: consumed(name), how: `${conv.how}; ${node.type === 'IF' ? `IF v > ${Math.fround(vthOrZero(node))} as V ≥ nextUp(${Math.fround(vthOrZero(node))}), reset to 0 (exact)` : 'I: integrates, no spikes (exact)'}` });
        pending = [];
        flatNodes = [];
        src = index;
        srcShape = cur;
        break;
      }
      case 'Output': {
        const os = [...numbers(tensor(node, 'shape')!)];
        if (pending.length) fail(where, 'linear nodes before the Output without a neuron: neuroemu reads out a neuron layer');
        if (fmt(os) !== fmt(shapeOf(cur)) && fmt(os) !== fmt([cur.c, cur.h, cur.w])) fail(`${where}/shape`, `${fmt(os)}, but its input is ${fmt(shapeOf(cur))}`);
        break;
      }
      case 'Input':
        break; // a nested graph's Input: a pass-through
      case 'CubaLIF':
      case 'CubaLI': {
        // forward Euler with the user's step, the current first (as Loihi's CUBA neuron and Lava step
        // it): I_t = (1 − dt/τ_syn)·I_{t−1} + (dt/τ_syn)·w_in·(W·s_t + b), then
        // V_t = (1 − dt/τ_mem)·V_{t−1} + (dt/τ_mem)·(r·I_t + v_leak): the core's synapse and leak
        const dt = opts.dtS;
        if (dt === undefined) fail(where, 'has time constants (tau_syn, tau_mem): give the simulation step with --nir-dt SECONDS (NIR graphs do not hold it)');
        const tauS = perChannel(node, 'tau_syn', cur, where), tauM = perChannel(node, 'tau_mem', cur, where);
        const r = perChannel(node, 'r', cur, where), vLeak = perChannel(node, 'v_leak', cur, where);
        const wIn = tensor(node, 'w_in') ? perChannel(node, 'w_in', cur, where) : new Float64Array(cur.c).fill(1);
        const leak = new Float32Array(cur.c), synLeak = new Float32Array(cur.c), synGain = new Float32Array(cur.c);
        const inGain = new Float64Array(cur.c), offset = new Float64Array(cur.c);
        for (let c = 0; c < cur.c; c++) {
          checkStep(tauS[c], dt, `${where}/tau_syn`);
          checkStep(tauM[c], dt, `${where}/tau_mem`);
          synLeak[c] = 1 - dt / tauS[c];
          inGain[c] = (dt / tauS[c]) * wIn[c];
          leak[c] = 1 - dt / tauM[c];
          synGain[c] = (r[c] * dt) / tauM[c];
          offset[c] = (vLeak[c] * dt) / tauM[c];
        }
        let vth = 1;
        if (node.type === 'CubaLIF') vth = leakyThreshold(node, cur, where);
        else ended = true;
        const conv = compose(pending, srcShape, cur, `${file}: before node ${name}`);
        const per = conv.weights.length / cur.c;
        const weights = Float32Array.from(conv.weights, (w, i) => w * inGain[Math.floor(i / per)]);
        const synBias = Float32Array.from(conv.bias, (b, c) => inGain[c] * b);
        const index = layers.length;
        layers.push({
          kind: 'conv', index, name, source: index, inputs: [src], inShape: srcShape, outShape: cur, lambda: new Float32Array(cur.c).fill(1),
          size: conv.size, stride: conv.stride, pad: conv.pad, groups: conv.groups, weights, biases: Float32Array.from(offset), leak,
          synapse: { leak: synLeak, gain: synGain, bias: synBias },
          rule: node.type === 'CubaLIF' ? 'if' : 'integrate', vthPos: vth, vthNeg: Infinity, reset: 'zero',
        });
        const one = (a: Float32Array) => (a.every((x) => x === a[0]) ? String(Number(a[0].toPrecision(6))) : 'per channel');
        notes.push({
          layer: index, nodes: consumed(name),
          how: `${conv.how}; ${node.type} forward Euler at dt ${dt} s, the current first: I ← ${one(synLeak)}·I + (dt/τ_syn)·w_in·(W·s + b), V ← ${one(leak)}·V + (r·dt/τ_mem)·I + (dt/τ_mem)·v_leak${node.type === 'CubaLIF' ? `, spike at v > ${Math.fround(vthOrZero(node))} as V ≥ nextUp, reset to 0` : ', no spikes'} (weights and constants in float32)`,
        });
        pending = [];
        flatNodes = [];
        src = index;
        srcShape = cur;
        break;
      }
      case 'Delay':
        fail(where, 'needs synaptic delays, which the SNN core does not have');
      case 'Threshold':
        fail(where, 'a stateless threshold has no neuron state to run; the SNN core runs IF and I neurons');
      case 'Scale': {
        // y = s ⊙ x right after a linear node: folded into that node's weights and bias per output channel
        const last = pending[pending.length - 1];
        if (!last || last.kind !== 'conv') fail(where, 'a Scale not directly after a Conv2d, Linear or Affine is not supported (fold it into the weights before export)');
        const sc = perChannel(node, 'scale', cur, where);
        const per = last.weights.length / cur.c;
        last.weights = Float32Array.from(last.weights, (w, i) => w * sc[Math.floor(i / per)]);
        last.bias = Float32Array.from(last.bias, (b, c) => b * sc[c]);
        last.nodes.push(name);
        last.scaled = true;
        break;
      }
      case 'Conv1d':
        fail(where, 'Conv1d is not supported: the SNN IR is 2-D');
      default:
        fail(where, `${(node as NirNode).type} is not supported`);
    }
  }
  if (layers.length === 0) fail(file, 'the graph has no neuron node (IF or I) to run');
  const net: Network = {
    name: basename(file).replace(/\.nir$/i, ''), source: `${file} (NIR ${nf.version ?? '?'})`, format: 'darknet', input, preprocess: { kind: 'darknet-letterbox' },
    layers: [], nmsIou: 0.45, scoreThreshold: 0.5, bnFolded: true,
  };
  const snn: SnnNetwork = {
    formatVersion: SNN_FORMAT_VERSION,
    settings: { norm: 'layer', statistic: 'max', neuron: 'if', reset: 'zero', input: 'rate', fuseLinear: false, vth: layers[0].vthPos },
    calibration: { images: [], statistic: 'max', note: `imported from the NIR graph ${file}: its own weights and thresholds, no calibration` },
    ann: net,
    layers,
    // head −1: no detection head; the last neuron layer is what `run` reports (spikes or membrane)
    readouts: [{ head: -1, layer: layers.length - 1 }],
  };
  return { snn, notes, input };
}

const vthOrZero = (n: NirLeaf) => numbers(tensor(n, 'v_threshold')!)[0];
function biasOf(b: NirTensor, n: number): Float32Array {
  const v = Float32Array.from(numbers(b));
  return v.length === n ? v : new Float32Array(n).fill(v[0]);
}

/** One SNN conv from the linear ops between two neurons (see the header). */
/** LIF / CubaLIF: one threshold per layer, ≥ 0, reset to 0; the core's V ≥ nextUp(θ) is NIR's v > θ. */
function leakyThreshold(node: NirLeaf, cur: Shape, where: string): number {
  const th = perChannel(node, 'v_threshold', cur, where);
  const t0 = Math.fround(th[0]);
  if (!th.every((x) => Math.fround(x) === t0)) fail(`${where}/v_threshold`, 'thresholds differ between channels: the SNN IR holds one threshold per layer');
  if (!(t0 >= 0) || !Number.isFinite(t0)) fail(`${where}/v_threshold`, `${th[0]} must be a finite number ≥ 0 (neuroemu fires at a positive threshold)`);
  const vr = tensor(node, 'v_reset');
  if (vr && !numbers(vr).every((x) => x === 0)) fail(`${where}/v_reset`, 'a reset potential other than 0 is not supported: the SNN core resets to 0 or subtracts');
  return nextUpF32(t0);
}

/** a time constant τ the forward-Euler step dt can take (dt ≤ τ, finite) */
function checkStep(tau: number, dt: number, field: string): void {
  if (!(tau >= dt) || !Number.isFinite(tau)) fail(field, `${tau} s must be finite and at least the step ${dt} s (forward Euler with dt > τ overshoots)`);
}

function compose(ops: Op[], inShape: Shape, outShape: Shape, where: string): { size: number; stride: number; pad: number; groups: number; weights: Float32Array; bias: Float32Array; how: string } {
  const convs = ops.filter((o) => o.kind === 'conv');
  const pools = ops.filter((o) => o.kind === 'pool');
  if (convs.length > 1) fail(where, `${convs.length} linear layers (${convs.map((c) => c.nodes.join()).join(', ')}) without a neuron between them: not supported`);
  if (pools.length > 1) fail(where, `${pools.length} pools without a neuron between them: not supported`);
  const pool = pools[0], conv = convs[0];
  if (pool && conv && ops.indexOf(pool) > ops.indexOf(conv)) fail(where, `a pool after a linear layer (${pool.node} after ${conv.nodes.join()}) without a neuron between them: not supported`);
  if (!conv && !pool) fail(where, 'a neuron without a linear layer before it (an identity connection) is not supported');
  if (!conv) {
    // the pool alone: a depthwise conv with weights 1 (or 1/K²)
    const k = pool!.k, C = inShape.c;
    return { size: k, stride: k, pad: 0, groups: C, weights: new Float32Array(C * k * k).fill(pool!.avg ? 1 / (k * k) : 1), bias: new Float32Array(C), how: `${pool!.node}: ${k}x${k} ${pool!.avg ? 'average' : 'sum'} pool as a depthwise conv (${pool!.avg ? (Number.isInteger(Math.log2(k * k)) ? 'exact' : 'weights 1/K² rounded to float32') : 'exact'})` };
  }
  const exactness = conv.scaled ? 'a Scale folded in: the products rounded to float32' : 'exact';
  if (!pool) return { size: conv.size, stride: conv.stride, pad: conv.pad, groups: conv.groups, weights: conv.weights, bias: conv.bias, how: `${conv.nodes.join()}: ${conv.size}x${conv.size} conv${conv.groups > 1 ? `, groups ${conv.groups}` : ''} (${exactness})` };
  const K = pool.k;
  if (pool.inShape.h % K !== 0 || pool.inShape.w % K !== 0) fail(where, `${pool.node} pools ${pool.inShape.h}x${pool.inShape.w} by ${K}, dropping the last rows: it cannot be composed with ${conv.nodes.join()} exactly`);
  const k = conv.size, k2 = k * K, cinG = inShape.c / conv.groups, cout = outShape.c;
  const w = new Float32Array(cout * cinG * k2 * k2);
  const scale = pool.avg ? 1 / (K * K) : 1;
  for (let o = 0; o < cout; o++) for (let i = 0; i < cinG; i++) for (let y = 0; y < k2; y++) for (let x = 0; x < k2; x++) {
    const v = conv.weights[((o * cinG + i) * k + Math.floor(y / K)) * k + Math.floor(x / K)];
    w[((o * cinG + i) * k2 + y) * k2 + x] = scale === 1 ? v : v * scale;
  }
  const exact = !pool.avg || Number.isInteger(Math.log2(K * K));
  return {
    size: k2, stride: conv.stride * K, pad: conv.pad * K, groups: conv.groups, weights: w, bias: conv.bias,
    how: `${pool.node} + ${conv.nodes.join()}: ${K}x${K} ${pool.avg ? 'average' : 'sum'} pool then a ${k}x${k} conv${conv.size === pool.outShape.h && conv.pad === 0 ? ' (a dense layer over the flattened map)' : ''} as one ${k2}x${k2} conv, stride ${conv.stride * K} (${exact ? exactness : 'weights/K² rounded to float32'})`,
  };
}

/** Reads and imports a .nir file. */
export function loadNirSnn(file: string, opts: NirImportOptions = {}): NirImport {
  return nirToSnn(readNirSync(file), file, opts);
}

/**
 * The SNN core's Poisson input for per-channel firing probabilities (tick⁻¹): a C×H×W map of
 * them. An imported graph's input coding is 'rate' (src/convert/snn-ir.ts InputCoding): each unit
 * fires with exactly its probability per tick and every event has unit weight.
 */
export function nirInputRates(input: Shape, rates: number[], flag = '--input-rate'): Float32Array {
  if (rates.length !== 1 && rates.length !== input.c) fail(flag, `${rates.length} rates for ${input.c} input channels (give one, or one per channel)`);
  for (const r of rates) if (!(r >= 0 && r <= 1)) fail(flag, `${r} is not a probability per tick in [0, 1]`);
  const plane = input.h * input.w;
  const out = new Float32Array(input.c * plane);
  for (let c = 0; c < input.c; c++) out.fill(rates.length === 1 ? rates[0] : rates[c], c * plane, (c + 1) * plane);
  return out;
}
