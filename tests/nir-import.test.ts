/**
 * NIR import (src/convert/nir-import.ts, `--model FILE.nir`): the Sinabs N-MNIST CNN becomes the
 * SNN IR layer table its README states; the core's spikes (WASM and the TS reference engine) equal,
 * tick by tick and neuron by neuron, a plain interpreter of the NIR graph written here from NIR's
 * definitions (Conv2d, SumPool2d, Flatten, Affine, IF: v += I, spike when v > θ, v = v_reset) on the
 * same seeded Poisson input; unsupported graphs are refused naming the node and what is missing;
 * export → import runs the same spikes; `run --model FILE.nir` prices the graph on the chips.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nirInputRates, nirToSnn, nextUpF32 } from '../src/convert/nir-import.ts';
import { snnToNir } from '../src/convert/nir-export.ts';
import { f32, i64, nirReady, numbers, readNirSync, writeNirSync, type NirFile, type NirGraph, type NirLeaf, type NirTensor } from '../src/model/nir.ts';
import { convLayer, makeSnn } from '../src/sim/handmade.ts';
import { createSimulatorSync } from '../src/sim/simulator.ts';
import type { SnnConvLayer } from '../src/convert/snn-ir.ts';
import { UserError } from '../src/util/errors.ts';
import { mulberry32 } from '../src/util/rng.ts';
import { SINABS_NIR, NORSE_NIR } from './helpers/nir.ts';
import { FUZZ_SCALE, Fuzzer, int, pick } from './helpers/fuzzer.ts';
import { runBinAsync } from './helpers/cli.ts';

await nirReady();
const tmp = mkdtempSync(join(tmpdir(), 'neuroemu-nir-import-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test("the Sinabs CNN imports as its README's layers (sum pools and the flatten composed into the convs)", () => {
  const { snn, input } = nirToSnn(readNirSync(SINABS_NIR), SINABS_NIR);
  assert.equal(input, { c: 2, h: 34, w: 34 });
  const rows = snn.layers.map((l) => {
    const c = l as SnnConvLayer;
    return [c.kind, `${c.inShape.c}x${c.inShape.h}x${c.inShape.w}`, `${c.outShape.c}x${c.outShape.h}x${c.outShape.w}`, c.size, c.stride, c.pad, c.groups, c.rule, c.reset];
  });
  // nn.Conv2d(2, 16, 5, stride 2, padding 1); Conv2d(16, 16, 3, padding 1); SumPool2d(2) + Conv2d(16, 8, 3, padding 1);
  // SumPool2d(2) + Flatten + Linear(4·4·8, 256); Linear(256, 10); every ReLU an IF neuron
  assert.equal(rows, [
    ['conv', '2x34x34', '16x16x16', 5, 2, 1, 1, 'if', 'zero'],
    ['conv', '16x16x16', '16x16x16', 3, 1, 1, 1, 'if', 'zero'],
    ['conv', '16x16x16', '8x8x8', 6, 2, 2, 1, 'if', 'zero'],
    ['conv', '8x8x8', '256x1x1', 8, 2, 0, 1, 'if', 'zero'],
    ['conv', '256x1x1', '10x1x1', 1, 1, 0, 1, 'if', 'zero'],
  ]);
  for (const l of snn.layers as SnnConvLayer[]) assert.is(l.vthPos, nextUpF32(1), 'v > 1 as V >= nextUp(1)');
  assert.is(nextUpF32(1), 1 + 2 ** -23);
  // the composed 6x6 conv holds conv 5's 3x3 weights, each repeated over a 2x2 block
  const w5 = (readNirSync(SINABS_NIR).graph.nodes.get('5') as NirLeaf).fields.weight as NirTensor;
  const src = numbers(w5), l2 = snn.layers[2] as SnnConvLayer;
  for (let o = 0; o < 8; o++) for (let i = 0; i < 16; i++) for (let y = 0; y < 6; y++) for (let x = 0; x < 6; x++) {
    assert.is(l2.weights[((o * 16 + i) * 6 + y) * 6 + x], Math.fround(src[((o * 16 + i) * 3 + (y >> 1)) * 3 + (x >> 1)]));
  }
});

// ---------------------------------------------------------------------------------------------
// an independent interpreter of a NIR chain graph (float64, NIR's own definitions)

/** xorshift32 Poisson draws as src/sim/plan.ts documents them: one per input unit per tick, (y, x, c) order */
function poissonSpikes(shape: number[], rates: Float32Array, ticks: number, seed: number): Float64Array[] {
  let s = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  s = (s ^ (s >>> 13)) >>> 0;
  s = Math.imul(s, 0xc2b2ae35) >>> 0;
  s = (s ^ (s >>> 16)) >>> 0;
  if (s === 0) s = 0x6d2b79f5;
  const [C, H, W] = shape;
  const out: Float64Array[] = [];
  for (let t = 0; t < ticks; t++) {
    const x = new Float64Array(C * H * W);
    for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) for (let c = 0; c < C; c++) {
      s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
      const u = (s >>> 8) / 16777216;
      if (u < rates[(c * H + y) * W + xx]) x[(c * H + y) * W + xx] = 1;
    }
    out.push(x);
  }
  return out;
}

interface Val { shape: number[]; v: Float64Array }
function interpretNir(g: NirGraph, inputs: Float64Array[]): Map<string, Float64Array>[] {
  const next = new Map(g.edges.map(([a, b]) => [a, b]));
  const order: string[] = [];
  for (let at: string | undefined = 'input'; at !== undefined; at = next.get(at)) order.push(at);
  const mem = new Map<string, Float64Array>();
  const perTick: Map<string, Float64Array>[] = [];
  const inShape = [...numbers((g.nodes.get('input') as NirLeaf).fields.shape as NirTensor)];
  for (const x of inputs) {
    let cur: Val = { shape: inShape, v: x };
    const spikes = new Map<string, Float64Array>();
    for (const name of order.slice(1)) {
      const n = g.nodes.get(name) as NirLeaf;
      const F = (k: string) => n.fields[k] as NirTensor;
      if (n.type === 'Conv2d') {
        const [O, Ig, K] = F('weight').shape, w = numbers(F('weight')), b = numbers(F('bias'));
        const [s] = numbers(F('stride')), [p] = numbers(F('padding')), G = Number(F('groups').data[0]);
        const [C, H, W] = cur.shape, Ho = Math.floor((H + 2 * p - K) / s) + 1, Wo = Math.floor((W + 2 * p - K) / s) + 1;
        const out = new Float64Array(O * Ho * Wo);
        for (let o = 0; o < O; o++) for (let y = 0; y < Ho; y++) for (let xx = 0; xx < Wo; xx++) {
          let acc = b[o];
          const g0 = Math.floor(o / (O / G)) * Ig;
          for (let i = 0; i < Ig; i++) for (let ky = 0; ky < K; ky++) for (let kx = 0; kx < K; kx++) {
            const iy = y * s - p + ky, ix = xx * s - p + kx;
            if (iy >= 0 && iy < H && ix >= 0 && ix < W) acc += w[((o * Ig + i) * K + ky) * K + kx] * cur.v[((g0 + i) * H + iy) * W + ix];
          }
          out[(o * Ho + y) * Wo + xx] = acc;
        }
        void C;
        cur = { shape: [O, Ho, Wo], v: out };
      } else if (n.type === 'SumPool2d') {
        const [k] = numbers(F('kernel_size')), [C, H, W] = cur.shape, Ho = Math.floor(H / k), Wo = Math.floor(W / k);
        const out = new Float64Array(C * Ho * Wo);
        for (let c = 0; c < C; c++) for (let y = 0; y < Ho; y++) for (let xx = 0; xx < Wo; xx++) {
          let acc = 0;
          for (let a = 0; a < k; a++) for (let bb = 0; bb < k; bb++) acc += cur.v[(c * H + y * k + a) * W + xx * k + bb];
          out[(c * Ho + y) * Wo + xx] = acc;
        }
        cur = { shape: [C, Ho, Wo], v: out };
      } else if (n.type === 'Flatten') {
        cur = { shape: [cur.v.length], v: cur.v };
      } else if (n.type === 'Affine' || n.type === 'Linear') {
        const [O, I] = F('weight').shape, w = numbers(F('weight')), b = n.type === 'Affine' ? numbers(F('bias')) : new Float64Array(O);
        const out = new Float64Array(O);
        for (let o = 0; o < O; o++) {
          let acc = b[o];
          for (let i = 0; i < I; i++) acc += w[o * I + i] * cur.v[i];
          out[o] = acc;
        }
        cur = { shape: [O], v: out };
      } else if (n.type === 'IF') {
        const th = numbers(F('v_threshold')), vr = n.fields.v_reset ? numbers(F('v_reset')) : new Float64Array(th.length);
        let v = mem.get(name);
        if (!v) mem.set(name, (v = new Float64Array(th.length)));
        const z = new Float64Array(th.length);
        for (let i = 0; i < th.length; i++) {
          v[i] += cur.v[i]; // r = 1
          if (v[i] > th[i]) {
            z[i] = 1;
            v[i] = vr[i];
          }
        }
        spikes.set(name, z);
        cur = { shape: cur.shape, v: z };
      } else if (n.type !== 'Output') throw new Error(`interpreter: ${n.type}`);
    }
    perTick.push(spikes);
  }
  return perTick;
}

test('the core runs the Sinabs graph spike for spike as a plain NIR interpreter does (WASM and reference engines)', () => {
  const nf = readNirSync(SINABS_NIR);
  const { snn, input } = nirToSnn(nf, SINABS_NIR);
  // sparse input at absolute rates (input coding 'rate'): each unit fires with its probability
  const rates = nirInputRates(input, [0.6, 0.25]);
  const T = 12, seed = 5;
  const want = interpretNir(nf.graph, poissonSpikes([2, 34, 34], rates, T, seed));
  const ifNodes = ['1', '3', '6', '10', '12'];
  for (const engine of ['wasm', 'reference'] as const) {
    const sim = createSimulatorSync(snn, { engine, seed });
    sim.reset(rates);
    const cum = ifNodes.map((k) => new Float64Array(want[0].get(k)!.length));
    for (let t = 0; t < T; t++) {
      sim.run(1);
      const c = sim.counts();
      ifNodes.forEach((k, li) => {
        const z = want[t].get(k)!;
        for (let i = 0; i < z.length; i++) cum[li][i] += z[i];
        // per channel (the core counts spikes per output channel): sum the interpreter's per neuron
        const l = snn.layers[li];
        const plane = l.outShape.h * l.outShape.w;
        for (let ch = 0; ch < l.outShape.c; ch++) {
          let s = 0;
          for (let p = 0; p < plane; p++) s += cum[li][ch * plane + p];
          assert.is(c.layers[li].posSpikes[ch], s, `${engine} tick ${t + 1} layer ${li} (node ${k}) channel ${ch}`);
        }
        assert.is(c.layers[li].total.negSpikes, 0);
      });
    }
    const total = cum.map((z) => z.reduce((a, b) => a + b, 0));
    assert.ok(total.every((n) => n > 0), `every layer spikes: ${total}`);
  }
});

// ---------------------------------------------------------------------------------------------
// refusals

function mutated(f: (g: NirGraph) => void): NirFile {
  const nf = readNirSync(SINABS_NIR);
  f(nf.graph);
  return nf;
}
const refused = (nf: NirFile, re: RegExp) => {
  try {
    nirToSnn(nf, 'x.nir');
  } catch (e) {
    assert.instance(e, UserError, (e as Error).stack);
    assert.match((e as Error).message, re);
    assert.not.match((e as Error).message, /[\r\n]/);
    return;
  }
  assert.unreachable(`accepted, expected ${re}`);
};
const leaf = (g: NirGraph, k: string) => g.nodes.get(k) as NirLeaf;

test('LIF (Norse\'s graph): the core at --nir-dt spikes tick by tick as NIR\'s forward-Euler LIF in float64', () => {
  // Affine 1→1 (w 1, b 0), LIF τ 2.5 ms, r 1, v_leak 0, θ 0.1; dt 0.1 ms: v ← v + dt/τ·(v_leak − v + r·I)
  const nf = readNirSync(NORSE_NIR);
  const dt = 1e-4;
  const { snn, input } = nirToSnn(nf, NORSE_NIR, { dtS: dt });
  assert.ok(snn.layers[0].kind === 'conv' && Math.abs((snn.layers[0] as SnnConvLayer).leak![0] - 0.96) < 1e-7);
  const lif = nf.graph.nodes.get('1') as NirLeaf, aff = nf.graph.nodes.get('0') as NirLeaf;
  const tau = numbers(lif.fields.tau as NirTensor)[0], th = numbers(lif.fields.v_threshold as NirTensor)[0];
  const w = numbers(aff.fields.weight as NirTensor)[0], b = numbers(aff.fields.bias as NirTensor)[0];
  const T = 400, seed = 3;
  const rates = nirInputRates(input, [0.4]);
  const events = poissonSpikes([1, 1, 1], rates, T, seed);
  for (const engine of ['wasm', 'reference'] as const) {
    const sim = createSimulatorSync(snn, { engine, seed });
    sim.reset(rates);
    let v = 0, spikes = 0;
    for (let t = 0; t < T; t++) {
      sim.run(1);
      const I = w * events[t][0] + b;
      v = v + (dt / tau) * (0 - v + 1 * I);
      const fired = v > th;
      if (fired) (v = 0), spikes++;
      assert.is(sim.counts().layers[0].total.posSpikes, spikes, `${engine} tick ${t + 1}`);
      assert.ok(Math.abs(sim.membrane(0)[0] - v) < 1e-5, `${engine} tick ${t + 1}: V ${sim.membrane(0)[0]} vs ${v}`);
    }
    assert.ok(spikes >= 10, `${engine}: ${spikes} spikes`);
  }
});

test('CubaLIF and CubaLI (Norse\'s graph with the neuron swapped): the core at --nir-dt spikes tick by tick as NIR\'s equations by forward Euler in float64, the current first', () => {
  const tauS = 5e-4, tauM = 2e-3, r = 2, vLeak = 0.05, th = 0.1, wIn = 0.8, dt = 1e-4, T = 400, seed = 3;
  const nf = readNirSync(NORSE_NIR);
  const aff = leaf(nf.graph, '0'), lif = leaf(nf.graph, '1');
  const shape = (lif.fields.tau as NirTensor).shape;
  const one = (x: number) => f32(shape, new Float32Array(1).fill(x));
  nf.graph.nodes.set('1', { type: 'CubaLIF', fields: { tau_syn: one(tauS), tau_mem: one(tauM), r: one(r), v_leak: one(vLeak), v_threshold: one(th), w_in: one(wIn) }, metadata: {} });
  refused(nf, /node 1 \(CubaLIF\): has time constants \(tau_syn, tau_mem\): give the simulation step with --nir-dt/);
  const { snn, input } = nirToSnn(nf, 'cuba.nir', { dtS: dt });
  const w = numbers(aff.fields.weight as NirTensor)[0], b = numbers(aff.fields.bias as NirTensor)[0];
  const rates = nirInputRates(input, [0.4]);
  const events = poissonSpikes([1, 1, 1], rates, T, seed);
  for (const engine of ['wasm', 'reference'] as const) {
    const sim = createSimulatorSync(snn, { engine, seed });
    sim.reset(rates);
    let I = 0, v = 0, spikes = 0;
    for (let t = 0; t < T; t++) {
      sim.run(1);
      I = I + (dt / tauS) * (-I + wIn * (w * events[t][0] + b));
      v = v + (dt / tauM) * (vLeak - v + r * I);
      if (v > th) (v = 0), spikes++;
      assert.is(sim.counts().layers[0].total.posSpikes, spikes, `${engine} tick ${t + 1}`);
      assert.ok(Math.abs(sim.membrane(0)[0] - v) < 1e-5, `${engine} tick ${t + 1}: V ${sim.membrane(0)[0]} vs ${v}`);
    }
    assert.ok(spikes >= 10, `${engine}: ${spikes} spikes`);
  }
  // CubaLI: the same without spikes, as a readout (V integrates on)
  nf.graph.nodes.set('1', { type: 'CubaLI', fields: { tau_syn: one(tauS), tau_mem: one(tauM), r: one(r), v_leak: one(vLeak), w_in: one(wIn) }, metadata: {} });
  const li = nirToSnn(nf, 'cubali.nir', { dtS: dt });
  const sim = createSimulatorSync(li.snn, { engine: 'wasm', seed });
  sim.reset(rates);
  let I = 0, v = 0;
  for (let t = 0; t < 50; t++) {
    sim.run(1);
    I = I + (dt / tauS) * (-I + wIn * (w * events[t][0] + b));
    v = v + (dt / tauM) * (vLeak - v + r * I);
  }
  assert.ok(Math.abs(sim.membrane(0)[0] - v) < 1e-5, `CubaLI: V ${sim.membrane(0)[0]} vs ${v}`);
});

test('Scale right after a linear node folds into its weights and bias; elsewhere it is refused', () => {
  const nf = readNirSync(NORSE_NIR);
  const aff = leaf(nf.graph, '0');
  const shape = (aff.fields.bias as NirTensor).shape;
  nf.graph.nodes.set('s', { type: 'Scale', fields: { scale: f32(shape, new Float32Array(1).fill(2)) }, metadata: {} });
  nf.graph.edges = nf.graph.edges.map(([a, b]) => (a === '0' && b === '1' ? ['0', 's'] : [a, b]));
  nf.graph.edges.push(['s', '1']);
  const scaled = nirToSnn(nf, 'scaled.nir', { dtS: 1e-4 });
  // the same graph with the Affine's weight and bias doubled instead
  const twice = readNirSync(NORSE_NIR);
  const a2 = leaf(twice.graph, '0');
  a2.fields.weight = f32((a2.fields.weight as NirTensor).shape, Float32Array.from(numbers(a2.fields.weight as NirTensor), (x) => 2 * x));
  a2.fields.bias = f32(shape, Float32Array.from(numbers(a2.fields.bias as NirTensor), (x) => 2 * x));
  const ref = nirToSnn(twice, 'twice.nir', { dtS: 1e-4 });
  const [l, r] = [scaled.snn.layers[0], ref.snn.layers[0]] as SnnConvLayer[];
  assert.equal([...l.weights], [...r.weights]);
  assert.equal([...l.biases], [...r.biases]);
  assert.match(scaled.notes[0].how, /0,s: 1x1 conv \(a Scale folded in: the products rounded to float32\)/);
  // a Scale on a neuron's spikes (no linear node before it) is refused
  const bad = readNirSync(NORSE_NIR);
  bad.graph.nodes.set('s', { type: 'Scale', fields: { scale: f32(shape, new Float32Array(1).fill(2)) }, metadata: {} });
  const inName = [...bad.graph.nodes.entries()].find(([, n]) => n.type === 'Input')![0];
  bad.graph.edges = bad.graph.edges.map(([a, b]) => (a === inName && b === '0' ? [inName, 's'] : [a, b]));
  bad.graph.edges.push(['s', '0']);
  try {
    nirToSnn(bad, 'bad.nir', { dtS: 1e-4 });
    assert.unreachable('accepted');
  } catch (e) {
    assert.instance(e, UserError);
    assert.match((e as Error).message, /node s \(Scale\): a Scale not directly after a Conv2d, Linear or Affine is not supported/);
  }
});

test('graphs the core cannot run are refused with the node and what is missing', () => {
  refused(readNirSync(NORSE_NIR), /node 1 \(LIF\): has time constants \(tau\): give the simulation step with --nir-dt SECONDS/);
  refused(mutated((g) => (leaf(g, '3').fields.v_reset = f32([16, 16, 16], new Float32Array(4096).fill(0.5)))), /node 3 \(IF\)\/v_reset: a reset potential other than 0 is not supported/);
  refused(mutated((g) => (leaf(g, '3').fields.r = f32([16, 16, 16], new Float32Array(4096).fill(2)))), /node 3 \(IF\)\/r: r other than 1/);
  refused(mutated((g) => {
    const th = new Float32Array(4096).fill(1);
    th[7] = 2;
    leaf(g, '3').fields.v_threshold = f32([16, 16, 16], th);
  }), /node 3 \(IF\)\/v_threshold: thresholds differ between neurons/);
  refused(mutated((g) => {
    g.nodes.set('d', { type: 'Delay', fields: { delay: f32([16, 16, 16], new Float32Array(4096).fill(1)) }, metadata: {} });
    g.edges = g.edges.map(([a, b]) => (a === '1' && b === '2' ? ['1', 'd'] : [a, b]));
    g.edges.push(['d', '2']);
  }), /node d \(Delay\): needs synaptic delays/);
  refused(mutated((g) => g.edges.push(['1', '5'])), /node 1: feeds 2 nodes|node 5: has 2 inputs/);
  refused(mutated((g) => (leaf(g, '2').fields.input_shape = i64([2], [15, 16]))), /node 2 \(Conv2d\)\/input_shape: \(15, 16\), but its input is 16x16/);
  refused(mutated((g) => (leaf(g, '2').fields.input_shape = f32([2], [16, 16]))), /nodes\/2\/input_shape: is float32, expected integers/);
  assert.throws(() => nirInputRates({ c: 2, h: 34, w: 34 }, [0.1, 1.5]), /1\.5 is not a probability per tick in \[0, 1\]/);
});

test('fuzz: mutated Sinabs graphs import or give a one-line UserError (never another exception)', () => {
  const rand = mulberry32(424242);
  const fz = new Fuzzer(424242);
  const base = readNirSync(SINABS_NIR);
  const values = [() => f32([1], [rand() * 4 - 2]), () => f32([2], [1, 2]), () => i64([2], [int(rand, 5), int(rand, 5)]), () => i64([], [int(rand, 4) - 1]), () => 'same', () => 'valid', () => f32([3, 3], new Float32Array(9).fill(1))];
  for (let i = 0; i < 200 * FUZZ_SCALE; i++) {
    const nf = structuredClone(base);
    const names = [...nf.graph.nodes.keys()];
    const muts: string[] = [];
    for (let m = 0; m < 1 + int(rand, 3); m++) {
      const k = pick(rand, names);
      const n = nf.graph.nodes.get(k) as NirLeaf;
      const f = pick(rand, Object.keys(n.fields));
      const kind = int(rand, 4);
      if (kind === 0) n.fields[f] = pick(rand, values)();
      else if (kind === 1) {
        const t = n.fields[f];
        if (typeof t !== 'string' && t.data.length > 1) n.fields[f] = { ...t, shape: [t.data.length - 1], data: t.data.slice(1) } as NirTensor;
      } else if (kind === 2) nf.graph.edges.splice(int(rand, nf.graph.edges.length), 1);
      else (n as { type: string }).type = pick(rand, ['IF', 'LIF', 'Conv2d', 'Affine', 'SumPool2d', 'Flatten', 'I', 'Scale', 'Output']);
      muts.push(`${k}.${f}:${kind}`);
    }
    fz.attempt(`#${i} ${muts.join(' ')}`, () => {
      const r = nirToSnn(nf, 'fuzz.nir');
      createSimulatorSync(r.snn, { engine: 'reference' }); // what import accepts, the core must accept
    });
  }
  fz.assertClean('NIR import');
});

test('a nested graph imports as its inlined nodes', () => {
  const flat = nirToSnn(readNirSync(SINABS_NIR), SINABS_NIR).snn;
  const nf = readNirSync(SINABS_NIR);
  // the first conv + IF as a subgraph
  const g = nf.graph;
  const sub: NirGraph = {
    type: 'NIRGraph',
    nodes: new Map([['input', { type: 'Input', fields: { shape: (leaf(g, 'input').fields.shape as NirTensor) }, metadata: {} }], ['conv', g.nodes.get('0')!], ['if', g.nodes.get('1')!], ['output', { type: 'Output', fields: { shape: { dtype: 'int64', shape: [3], data: BigInt64Array.of(16n, 16n, 16n) } }, metadata: {} }]]),
    edges: [['input', 'conv'], ['conv', 'if'], ['if', 'output']],
    metadata: {},
  };
  g.nodes.delete('0');
  g.nodes.delete('1');
  g.nodes.set('block', sub);
  g.edges = g.edges.filter(([a, b]) => !(a === '0' && b === '1')).map(([a, b]) => [a === '1' ? 'block' : a, b === '0' ? 'block' : b] as [string, string]);
  const file = join(tmp, 'nested.nir');
  writeNirSync(file, nf);
  const nested = nirToSnn(readNirSync(file), file).snn;
  assert.is(nested.layers.length, flat.layers.length);
  assert.is(nested.layers[0].name, 'block.if');
  for (let i = 0; i < flat.layers.length; i++) assert.equal([...(nested.layers[i] as SnnConvLayer).weights], [...(flat.layers[i] as SnnConvLayer).weights]);
});

test('export → import: an IF network (reset to zero) runs the same spikes tick by tick', () => {
  const rand = mulberry32(11);
  const w = (n: number) => Float32Array.from({ length: n }, () => (rand() - 0.35) * 0.9);
  const c0 = convLayer(0, -1, { c: 2, h: 10, w: 10 }, { filters: 6, size: 3, stride: 1, pad: 1, rule: 'if', vthPos: 1, reset: 'zero', weights: w(6 * 2 * 9), biases: w(6).map((x) => x * 0.1) });
  const c1 = convLayer(1, 0, c0.outShape, { filters: 4, size: 3, stride: 2, pad: 1, groups: 2, rule: 'if', vthPos: 0.8, reset: 'zero', weights: w(4 * 3 * 9) });
  const c2 = convLayer(2, 1, c1.outShape, { filters: 3, size: 5, rule: 'if', vthPos: 1.5, reset: 'zero', weights: w(3 * 4 * 25) });
  const orig = makeSnn({ c: 2, h: 10, w: 10 }, [c0, c1, c2], [2], { input: 'poisson', neuron: 'if', reset: 'zero' }, 'if-toy');
  const file = join(tmp, 'if-toy.nir');
  writeNirSync(file, snnToNir(orig).file);
  const back = nirToSnn(readNirSync(file), file);
  const rates = nirInputRates(back.input, [1, 0.4]);
  const a = createSimulatorSync(orig, { seed: 9 }), b = createSimulatorSync(back.snn, { seed: 9 });
  a.reset(rates);
  b.reset(rates);
  let spikes = 0;
  for (let t = 1; t <= 24; t++) {
    a.run(1);
    b.run(1);
    const ca = a.counts(), cb = b.counts();
    for (let l = 0; l < 3; l++) assert.equal([...cb.layers[l].posSpikes], [...ca.layers[l].posSpikes], `tick ${t} layer ${l}`);
    spikes = ca.layers.reduce((n, l) => n + l.total.posSpikes, 0);
  }
  assert.ok(spikes > 100, `${spikes} spikes`);
});

test('neuroemu run --model cnn_sinabs.nir prices it on Loihi; detect refuses it by name', async () => {
  const r = await runBinAsync('run', '--model', SINABS_NIR, '--input-rate', '1,0.25', '--chip', 'loihi', '--timesteps', '8', '--json', join(tmp, 'run.json'));
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /NIR graph .*cnn_sinabs\.nir \(NIR 0\.2\.0\), input 2x34x34, 1 inference × 8 ticks, seed 1/);
  assert.match(r.out, /3  7 \+ 8 \+ 9 \+ 10  conv 8x8\/2 8x8x8 → 256x1x1/);
  assert.match(r.out, /cnn_sinabs on loihi/);
  assert.match(r.out, /energy per frame/);
  assert.match(r.out, /output \(12\) as NIR's simulators step the graph \(no layer delay\): spikes per neuron over 8 ticks: /);
  assert.match(r.out, /  output spikes      [0-9 ]+.*\(layer delay 1\)/);
  const d = await runBinAsync('detect', 'x.jpg', '--model', SINABS_NIR);
  assert.is(d.code, 2);
  assert.match(d.err, /is a NIR graph, not a detector/);
  const n = await runBinAsync('run', '--model', NORSE_NIR, '--input-rate', '1', '--chip', 'loihi');
  assert.is(n.code, 2);
  assert.match(n.err, /node 1 \(LIF\): has time constants \(tau\): give the simulation step with --nir-dt/);
  assert.is(n.err.trim().split('\n').length, 1, n.err);
  const bad = await runBinAsync('run', '--model', NORSE_NIR, '--input-rate', '1', '--chip', 'loihi', '--nir-dt', '0.01');
  assert.is(bad.code, 2);
  assert.match(bad.err, /node 1 \(LIF\)\/tau: 0\.0024999999441206455 s must be finite and at least the step 0\.01 s/);
  const ok = await runBinAsync('run', '--model', NORSE_NIR, '--input-rate', '0.5', '--chip', 'loihi', '--nir-dt', '1e-4', '--timesteps', '50');
  assert.is(ok.code, 0, ok.err);
  assert.match(ok.out, /LIF forward Euler at dt 0\.0001 s: V ← 0\.96·V/);
});

test('run --input-events FILE.npy: one frame per sample; events of all ones price exactly as --input-rate 1 (every unit fires every tick); bad files exit 2', async () => {
  const { npyBytes } = await import('../src/model/npy.ts');
  const { writeFileSync, readFileSync } = await import('node:fs');
  const T = 8, fill = 4; // Loihi's layer delay: 5 neuron layers, 4 fill ticks, so 12 ticks of input
  const ones = join(tmp, 'ones.npy');
  writeFileSync(ones, npyBytes([2, T + fill, 2, 34, 34], new Uint8Array(2 * (T + fill) * 2 * 34 * 34).fill(1)));
  const ev = await runBinAsync('run', '--model', SINABS_NIR, '--input-events', ones, '--chip', 'loihi', '--timesteps', String(T), '--json', join(tmp, 'ev.json'));
  assert.is(ev.code, 0, ev.err);
  assert.match(ev.out, /2 inferences × 8 ticks/);
  assert.match(ev.out, /input: events from .*ones\.npy: 2 samples × 12 ticks, 55,488 events \(27744\.0 per sample\); tick t reads the file's tick t − 1, no input after tick 12/);
  assert.match(ev.out, /output spikes      per sample \(layer delay 1\):\n    sample 0: [0-9 ]+/);
  const rate = await runBinAsync('run', '--model', SINABS_NIR, '--input-rate', '1', '--chip', 'loihi', '--timesteps', String(T), '--json', join(tmp, 'rate.json'));
  assert.is(rate.code, 0, rate.err);
  const [e] = JSON.parse(readFileSync(join(tmp, 'ev.json'), 'utf8')), [p] = JSON.parse(readFileSync(join(tmp, 'rate.json'), 'utf8'));
  assert.equal(e.input, { kind: 'events', file: ones, samples: 2, ticks: 12, events: 55488 });
  assert.is(e.frames, 2);
  assert.is(e.energy.per_frame_J, p.energy.per_frame_J);
  assert.equal(e.per_frame[0].breakdown_J, p.per_frame[0].breakdown_J);
  assert.equal(e.output_spikes, [p.output_spikes, p.output_spikes]);
  // a 4-D file is one sample; its values and shape are checked
  const bad = async (shape: number[], values: number[], re: RegExp) => {
    const f = join(tmp, 'bad.npy');
    writeFileSync(f, npyBytes(shape, values, '<f4'));
    const r = await runBinAsync('run', '--model', SINABS_NIR, '--input-events', f, '--chip', 'loihi', '--timesteps', '4');
    assert.is(r.code, 2, r.out);
    assert.is(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, re);
  };
  await bad([3, 2, 34, 33], new Array(3 * 2 * 34 * 33).fill(0), /shape \(3, 2, 34, 33\): the graph's input is 2x34x34, so the events must be T×2×34×34 or S×T×2×34×34/);
  const vals = new Array(2 * 2 * 34 * 34).fill(0);
  vals[2 * 34 * 34 + 5] = 0.5;
  await bad([2, 2, 34, 34], vals, /value 0\.5 at sample 0, tick 1: one spike per unit and tick/);
  const both = await runBinAsync('run', '--model', SINABS_NIR, '--input-events', ones, '--input-rate', '1', '--chip', 'loihi');
  assert.is(both.code, 2);
  assert.match(both.err, /--input-events: give the input once/);
});

test('run --model FILE.nir --trace, then replay: the recorded graph priced on another chip without re-running it; on its own chip, the live figures bit for bit', async () => {
  const { readFileSync } = await import('node:fs');
  const trace = join(tmp, 'nir.trace'), live = join(tmp, 'live.json'), rep = join(tmp, 'rep.json');
  const r = await runBinAsync('run', '--model', SINABS_NIR, '--input-rate', '0.05', '--chip', 'loihi', '--timesteps', '12', '--trace', trace, '--json', live);
  assert.is(r.code, 0, r.err);
  const p = await runBinAsync('replay', trace, '--chip', 'loihi', 'loihi@sana-fe', '--json', rep);
  assert.is(p.code, 0, p.err);
  const [a] = JSON.parse(readFileSync(live, 'utf8')), [b, c] = JSON.parse(readFileSync(rep, 'utf8'));
  assert.is(b.energy.per_frame_J, a.energy.per_frame_J);
  assert.equal(b.energy.breakdown_J, a.energy.breakdown_J);
  assert.is(b.latency.frame_s, a.latency.frame_s);
  assert.ok(c.energy.per_frame_J !== a.energy.per_frame_J, 'another energy model prices it otherwise');
});


test('sweep --model FILE.nir: an imported graph on recorded events swept like a detector (no AP); a replayed point equals a fresh emulation on its chip; the bytes do not depend on --workers; conversion fields refused', async () => {
  const { npyBytes } = await import('../src/model/npy.ts');
  const { writeFileSync, readFileSync } = await import('node:fs');
  const { readResults } = await import('../src/sweep/results.ts');
  const { chipWithOverrides } = await import('../src/hw/chip-schema.ts');
  const { emulateFrames } = await import('../src/sim/emulate.ts');
  const { eventInputs } = await import('../src/convert/nir-input.ts');
  const S = 3, T = 10, n = S * T * 2 * 34 * 34;
  const rng = mulberry32(7);
  const events = join(tmp, 'sweep-events.npy');
  writeFileSync(events, npyBytes([S, T, 2, 34, 34], Uint8Array.from({ length: n }, () => (rng() < 0.08 ? 1 : 0))));
  const args = (out: string, workers: number) => ['sweep', '--model', SINABS_NIR, '--input-events', events, '--chip', 'loihi', '--timesteps', '12',
    '--vary', 'core.neurons=256,1024', '--vary', 'energy.synop_pJ=10,30', '--workers', String(workers), '--out', out];
  const a = join(tmp, 'nir-sweep-a.csv'), b = join(tmp, 'nir-sweep-b.csv');
  const ra = await runBinAsync(...args(a, 2));
  assert.is(ra.code, 0, ra.err);
  assert.match(ra.out, /4 of 4 points; this run: 2 simulated, 2 more priced by replaying their traces/);
  assert.not.match(ra.err, /AP /);
  const rb = await runBinAsync(...args(b, 0));
  assert.is(rb.code, 0, rb.err);
  assert.is(readFileSync(b, 'utf8'), readFileSync(a, 'utf8'), 'workers 0 and 2: the same bytes');
  const rows = readResults(a).rows;
  for (const r of rows) {
    assert.is(r.status, 'ok');
    assert.is(r.ap50_vs_ann, '', 'not a detector: no AP');
    assert.is(r.norm, '', 'no conversion: no norm');
  }
  const cfg = JSON.parse(rows[3].config);
  assert.equal(cfg.input, { kind: 'events', file: events, samples: S, ticks: T, events: cfg.input.events });
  assert.match(readFileSync(a.replace('.csv', '.ap.svg'), 'utf8'), /no AP \(not a detector/);
  // the independent truth: point 3 (replayed from point 2's trace) emulated afresh on its own chip
  const { snn, input } = nirToSnn(readNirSync(SINABS_NIR), SINABS_NIR);
  const ev = eventInputs(events, input);
  const chip = chipWithOverrides('loihi', { 'core.neurons': 1024, 'energy.synop_pJ': 30 }, 'test').params;
  const em = await emulateFrames(snn, chip, ev.frames, { timesteps: 12, seed: 1, autoBoard: true, inputEvents: ev.ticks });
  assert.is(rows[3].varied, 'core.neurons=1024 energy.synop_pJ=30');
  assert.is(Number(rows[3].energy_per_frame_J), em.totals.energy.per_frame_J);
  assert.is(Number(rows[3].latency_frame_s), em.totals.latency.frame_s);
  assert.is(Number(rows[3].sops), em.totals.counts.sops);
  assert.is(Number(rows[3].cores), em.totals.mapping.cores);
  // what a NIR graph cannot vary or take, each a one-line refusal, nothing written
  const refused = async (extra: string[], re: RegExp) => {
    const out = join(tmp, 'refused.csv');
    const r = await runBinAsync('sweep', '--model', SINABS_NIR, '--input-rate', '0.1', '--chip', 'loihi', '--vary', 'energy.synop_pJ=10,20', '--out', out, ...extra);
    assert.is(r.code, 2, r.out);
    assert.is(r.err.trim().split('\n').filter((l) => l.startsWith('neuroemu:')).length, 1, r.err);
    assert.match(r.err, re);
    assert.not.ok((await import('node:fs')).existsSync(out));
  };
  await refused(['--vary', 'norm=layer,channel'], /--vary norm: .*cnn_sinabs\.nir is a NIR graph, run with its own weights and thresholds/);
  await refused(['--images', SINABS_NIR], /--images: .* is a NIR graph; its input is --input-rate or --input-events/);
  await refused(['--input-events', events], /--input-events: give the input once/);
  const det = await runBinAsync('sweep', '--input-rate', '0.1', '--vary', 'energy.synop_pJ=10,20', '--out', join(tmp, 'det.csv'));
  assert.is(det.code, 2);
  assert.match(det.err, /--input-rate: only for a NIR graph \(--model FILE\.nir\)/);
});

test('map --model cnn_sinabs.nir: Loihi cores per layer as computed by hand from its 1,024 neurons, 4,096 axons and 1 Mbit of 9-bit synapses per core; the same cores as run', async () => {
  const { readFileSync } = await import('node:fs');
  const json = join(tmp, 'map.json');
  const r = await runBinAsync('map', '--model', SINABS_NIR, '--chip', 'loihi', '--json', json);
  assert.is(r.code, 0, r.err);
  const m = JSON.parse(readFileSync(json, 'utf8'));
  // 16x16x16 = 4,096 neurons → 4 cores (neurons), twice; 8x8x8 = 512 neurons reading the whole
  // 16x16x16 map = 4,096 axons → 1 core; 256 neurons × 512 inputs × 9 bits = 1.125 Mbit → 2 cores
  // (synapse memory); 10 × 256 × 9 bits → 1 core
  assert.equal(m.layers.map((l: { cores: number }) => l.cores), [4, 4, 1, 2, 1]);
  assert.equal(m.layers.map((l: { limit: string }) => l.limit), ['neurons', 'neurons', 'axons', 'synapse memory', 'axons']);
  assert.is(m.cores, 12);
  const run = JSON.parse(readFileSync(join(tmp, 'run.json'), 'utf8'))[0];
  assert.is(run.mapping.cores, m.cores);
});

test.run();
