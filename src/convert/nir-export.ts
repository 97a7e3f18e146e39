/**
 * The SNN IR as a NIR graph (`neuroemu convert --out net.nir`), and the list of what another
 * simulator will run instead of what neuroemu runs.
 *
 * What is exact: Conv2d (weights OIHW = PyTorch's C_out × C_in/groups × kH × kW, bias as a constant
 * current every tick, symmetric zero padding), the IF neuron's integration V += W·s + b with a
 * threshold θ and unit resistance, the readout conv's integration (NIR `I`), the graph's wiring.
 *
 * What NIR cannot say (open NIR issues #137, #138) and goes into `metadata` (keys `neuroemu_*`)
 * and the printed notes: IBT's and the signed neuron's negative threshold (−1 spikes), reset by
 * subtraction (NIR's IF resets to v_reset), neuroemu's `V ≥ θ` (NIR: `v > θ`), the initial membrane
 * V₀, the max-pool (NIR has none: written as SumPool2d), the analog input (the first conv gets the
 * image as a current every tick), the readout warm-up and scale (raw = V/t · λ).
 *
 * Depthwise / grouped convs are expanded into dense block-diagonal Conv2d by default: NIR's Python
 * reader checks C_in against the weight's second dimension (which is C_in/groups) and refuses them,
 * and most importers pass the wrong in_channels for groups > 1. `keepGroups` writes them as they
 * are (groups > 1), which NIR's reader loads only with type_check=False.
 */
import type { SnnConvLayer, SnnLayer, SnnMaxPoolLayer, SnnNetwork } from './snn-ir.ts';
import { describeSettings } from './convert.ts';
import { f32, i64, i64s, NIR_WRITE_VERSION, type NirFile, type NirGraph, type NirLeaf, type NirMetadata, type NirNode } from '../model/nir.ts';
import { fail } from '../util/errors.ts';

export interface NirExportOptions {
  /** write grouped convs with groups > 1 instead of dense block-diagonal weights */
  keepGroups?: boolean;
}

/** one exported SNN layer: its NIR nodes and what another simulator runs instead (empty: exact) */
export interface NirLayerNote {
  index: number;
  name: string;
  nodes: string[];
  differences: string[];
}

export interface NirExport {
  file: NirFile;
  notes: NirLayerNote[];
  /** about the graph as a whole (input coding, readout) */
  graphNotes: string[];
}

const f64s = (x: number) => ({ dtype: 'float64' as const, shape: [], data: Float64Array.of(x) });

/** dense weights [Cout][Cin][k][k] from grouped ones [Cout][Cin/g][k][k] (zeros off the group's block) */
export function expandGroups(l: SnnConvLayer): Float32Array {
  const k2 = l.size * l.size, cin = l.inShape.c, cinG = cin / l.groups, cout = l.outShape.c, coutG = cout / l.groups;
  const out = new Float32Array(cout * cin * k2);
  for (let o = 0; o < cout; o++) {
    const g = Math.floor(o / coutG);
    for (let i = 0; i < cinG; i++) out.set(l.weights.subarray((o * cinG + i) * k2, (o * cinG + i + 1) * k2), (o * cin + g * cinG + i) * k2);
  }
  return out;
}

/** A max-pool's PyTorch padding: symmetric ints when they give darknet's output size, else 'same' (stride 1) */
function poolPadding(l: SnnMaxPoolLayer, where: string): { padding: NirLeaf['fields'][string]; note?: string } {
  const sym = (n: number, p: number) => Math.floor((n + 2 * p - l.size) / l.stride) + 1;
  const p = l.padBegin;
  if (sym(l.inShape.h, p) === l.outShape.h && sym(l.inShape.w, p) === l.outShape.w) return { padding: i64([2], [p, p]) };
  if (l.stride === 1 && l.outShape.h === l.inShape.h && l.outShape.w === l.inShape.w) {
    return { padding: 'same', note: `padding 'same' (neuroemu pads ${l.size - 1 - l.padBegin} after and ${l.padBegin} before, as PyTorch's 'same' does for an even kernel)` };
  }
  // darknet pads after only (an odd input to a stride-2 pool): one symmetric pad gives its output size
  // with the windows one row and column earlier; NIR cannot say "pad after" (no ceil mode)
  const q = p + 1;
  if (sym(l.inShape.h, q) === l.outShape.h && sym(l.inShape.w, q) === l.outShape.w) {
    return { padding: i64([2], [q, q]), note: `padding ${q} on every side gives neuroemu's ${l.outShape.h}x${l.outShape.w}, but with windows one row and column earlier (neuroemu pads after only)` };
  }
  fail(where, `its padding (${l.padBegin} before, darknet's output ${l.outShape.h}x${l.outShape.w} from ${l.inShape.h}x${l.inShape.w}) has no symmetric NIR equivalent`);
}

export function snnToNir(snn: SnnNetwork, opts: NirExportOptions = {}): NirExport {
  const s = snn.settings;
  const where = (l: SnnLayer) => `NIR export: layer ${l.index} (${l.kind} ${l.name})`;
  const nodes = new Map<string, NirNode>();
  const edges: [string, string][] = [];
  const notes: NirLayerNote[] = [];
  const used = new Set<string>(['input', 'output']);
  const nameFor = (base: string) => {
    // HDF5 names cannot hold '/'; keep them readable and unique
    let n = base.replace(/[^A-Za-z0-9_.-]/g, '_') || 'layer';
    if (used.has(n)) n = `${n}_${used.size}`;
    used.add(n);
    return n;
  };
  const inp = snn.ann.input;
  nodes.set('input', { type: 'Input', fields: { shape: i64([3], [inp.c, inp.h, inp.w]) }, metadata: { neuroemu_input: s.input === 'analog' ? 'analog: the preprocessed image as a current into the first conv every tick' : 'poisson: seeded Poisson spikes at rate |x|/max|x|, weights scaled by max|x|' } });
  /** the NIR node whose output stands for each SNN layer's spikes */
  const outNode: string[] = [];
  const readoutLayers = new Set(snn.readouts.map((r) => r.layer));
  const vInit = s.vInit ?? 0;
  const burst = s.burst ?? 1;
  for (const l of snn.layers) {
    const src = (i: number) => (i < 0 ? 'input' : outNode[i]);
    const diff: string[] = [];
    if (l.kind === 'conv') {
      const c = l;
      const conv = nameFor(c.name);
      const dense = !opts.keepGroups && c.groups > 1;
      const weight = dense ? expandGroups(c) : c.weights;
      const cinW = dense ? c.inShape.c : c.inShape.c / c.groups;
      nodes.set(conv, {
        type: 'Conv2d',
        fields: {
          input_shape: i64([2], [c.inShape.h, c.inShape.w]),
          weight: f32([c.outShape.c, cinW, c.size, c.size], weight),
          stride: i64([2], [c.stride, c.stride]),
          padding: i64([2], [c.pad, c.pad]),
          dilation: i64([2], [1, 1]),
          groups: i64s(dense ? 1 : c.groups),
          bias: f32([c.outShape.c], c.biases),
        },
        metadata: dense ? { neuroemu_groups: i64s(c.groups), neuroemu_note: 'grouped conv written as dense block-diagonal weights' } : {},
      });
      if (dense) diff.push(`groups ${c.groups} written as a dense block-diagonal Conv2d (same result, ${c.groups}x the weights)`);
      if (!dense && c.groups > 1) diff.push(`groups ${c.groups} kept: NIR's Python reader refuses it unless type_check=False`);
      edges.push([src(c.inputs[0]), conv]);
      const shape = [c.outShape.c, c.outShape.h, c.outShape.w];
      const n = shape[0] * shape[1] * shape[2];
      const neuron = nameFor(`${c.name}.neuron`);
      const meta: NirMetadata = { neuroemu_rule: c.rule };
      if (c.rule === 'integrate') {
        const ro = s.readoutStart ?? 0;
        nodes.set(neuron, { type: 'I', fields: { r: f32(shape, new Float32Array(n).fill(1)) }, metadata: { ...meta, neuroemu_lambda: f32([c.outShape.c], c.lambda), neuroemu_readout: ro > 0 ? `raw(t) = (V(t) - V(${ro})) / (t - ${ro}) * lambda[c] for t > ${ro}, V(t)/t * lambda[c] before` : 'raw(t) = V(t)/t * lambda[c]', neuroemu_readout_start: i64s(ro) } });
        diff.push(ro > 0 ? `the readout integrates (exact); neuroemu restarts it after tick ${ro} and reads (V(t)−V(${ro}))/(t−${ro})·λ` : 'the readout integrates (exact); neuroemu reads V/t·λ');
      } else {
        const vth = Math.fround(c.vthPos);
        nodes.set(neuron, {
          type: 'IF',
          fields: { r: f32(shape, new Float32Array(n).fill(1)), v_threshold: f32(shape, new Float32Array(n).fill(vth)), v_reset: f32(shape, new Float32Array(n)) },
          metadata: {
            ...meta,
            neuroemu_fire: 'V >= v_threshold (NIR: v > v_threshold)',
            neuroemu_reset: c.sigmaDelta
              ? 'none (sigma-delta): V integrates without reset; E (emitted, +v_threshold per +1 spike, -v_threshold per -1) follows leaky(V) = V (V >= 0) or V*v_threshold/vth_neg'
              : c.reset === 'subtract' ? 'subtract: V -= v_threshold after a +1 spike (V += vth_neg after a -1)' : 'zero: V = 0',
            ...(c.sigmaDelta ? { neuroemu_sigma_delta: 'fires +1 while leaky(V) - E >= v_threshold, -1 while <= -v_threshold' } : {}),
            ...(c.rule === 'ibt' || c.rule === 'signed' ? { neuroemu_vth_neg: f64s(c.vthNeg), neuroemu_negative: `-1 spike when V <= -${c.vthNeg}` } : {}),
            ...(vInit > 0 ? { neuroemu_v_init: f64s(vInit * vth) } : {}),
            ...(burst > 1 ? { neuroemu_burst: i64s(burst) } : {}),
            ...(c.gridStep ? { neuroemu_grid_step: f32([c.outShape.c], c.gridStep) } : {}),
            ...(c.membraneClamp ? { neuroemu_membrane_clamp: f32([c.outShape.c], c.membraneClamp) } : {}),
          },
        });
        diff.push(`fires at v > ${vth} (neuroemu: V ≥ ${vth})`);
        if (c.sigmaDelta) diff.push('resets to 0 (neuroemu: a sigma-delta neuron, no reset; its emitted count follows leaky(V), neuroemu_sigma_delta)');
        else if (c.reset === 'subtract') diff.push('resets to 0 (neuroemu: subtracts the threshold)');
        if (c.rule === 'ibt' || c.rule === 'signed') diff.push(`no −1 spikes (neuroemu's ${c.rule === 'ibt' ? 'IBT' : 'signed'} neuron: −1 at V ≤ −${+c.vthNeg.toPrecision(4)})`);
        if (vInit > 0) diff.push(`starts at v = 0 (neuroemu: V₀ = ${vInit}·vth)`);
        if (burst > 1) diff.push(`one spike per step (neuroemu: burst spikes, up to ${burst} per tick)`);
        if (c.gridStep) diff.push('float weights (neuroemu runs this layer on a fixed-point grid, neuroemu_grid_step)');
        if (c.membraneClamp) diff.push('unbounded membrane (neuroemu saturates it, neuroemu_membrane_clamp)');
      }
      if (c.inputs[0] < 0 && s.input === 'analog') diff.push('its input is the analog image every tick in neuroemu; the NIR Input is whatever the simulator feeds');
      edges.push([conv, neuron]);
      outNode.push(neuron);
      notes.push({ index: l.index, name: l.name, nodes: [conv, neuron], differences: diff });
      if (readoutLayers.has(l.index)) {
        // one Output per readout
        const out = readoutLayers.size === 1 ? 'output' : nameFor(`output_${l.index}`);
        nodes.set(out, { type: 'Output', fields: { shape: i64([3], shape) }, metadata: {} });
        edges.push([neuron, out]);
      }
    } else if (l.kind === 'maxpool') {
      const pool = nameFor(l.name);
      const pad = poolPadding(l, where(l));
      nodes.set(pool, {
        type: 'SumPool2d',
        fields: { kernel_size: i64([2], [l.size, l.size]), stride: i64([2], [l.stride, l.stride]), padding: pad.padding },
        metadata: { neuroemu_kind: 'maxpool', neuroemu_pool_rule: l.rule ?? 'gate' },
      });
      diff.push(`sums the window's spikes (neuroemu: ${(l.rule ?? 'gate') === 'max' ? 'max-count pool, net count = the window\'s highest count' : 'count-gated max-pool, the spikes of the unit with the highest count'}); NIR has no max-pool`);
      if (pad.note) diff.push(pad.note);
      edges.push([src(l.inputs[0]), pool]);
      outNode.push(pool);
      notes.push({ index: l.index, name: l.name, nodes: [pool], differences: diff });
    } else {
      fail(where(l), `NIR has no ${l.kind === 'route' ? 'concatenation' : 'upsampling'} node: networks with ${l.kind} layers (yolov3-tiny) cannot be exported`);
    }
  }
  const graphNotes = [
    s.input === 'analog' ? 'input: neuroemu drives the first conv with the preprocessed image as a constant current every tick (λ_in = 1); a NIR simulator feeds the Input whatever it is given' : 'input: neuroemu feeds seeded Poisson spikes at rate |x|/max|x| with the first conv\'s weights × max|x|',
    `output: ${snn.readouts.map((r) => `head ${r.head} = layer ${r.layer}'s membrane`).join(', ')}; the detection decoding (YOLO / face head) is not part of the graph`,
  ];
  const graph: NirGraph = {
    type: 'NIRGraph',
    nodes,
    edges,
    metadata: {
      neuroemu_source: `${snn.ann.name} (${snn.ann.source})`,
      neuroemu_settings: describeSettings(s),
      neuroemu_settings_json: JSON.stringify(s),
      neuroemu_input_shape: i64([3], [inp.c, inp.h, inp.w]),
      neuroemu_note: 'written by neuroemu convert: keys neuroemu_* carry what NIR cannot say (see each node)',
    },
  };
  return { file: { version: NIR_WRITE_VERSION, graph }, notes, graphNotes };
}

/** The notes as lines: one per layer (its NIR nodes, then what differs), then the graph's. */
export function formatNirNotes(ex: NirExport): string {
  const lines: string[] = [];
  const w = Math.max(16, ...ex.notes.map((n) => n.name.length));
  for (const n of ex.notes) lines.push(`${String(n.index).padStart(3)}  ${n.name.padEnd(w)} ${n.nodes.map((k) => ex.file.graph.nodes.get(k)!.type).join(' + ').padEnd(14)} ${n.differences.length ? n.differences.join('; ') : 'exact'}`);
  lines.push(...ex.graphNotes.map((g) => `     ${g}`));
  return lines.join('\n');
}
