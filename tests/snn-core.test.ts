/**
 * The SNN core on hand-built networks:
 * - one conv layer converges to the ANN (src/ann/reference.ts) with an error shrinking like 1/T;
 * - SOPs and active neurons on hand-countable spike patterns (borders, stride 2, groups);
 * - count-gated max-pool on a hand-built spike pattern with a tie, and the stride-1 pool;
 * - the WASM core and the plain-TS reference agree bit for bit on random small networks (conv with
 *   groups / stride 2 / pad, max-pool, route, upsample, IF / IBT / signed, both resets, analog and
 *   Poisson input, channel sort on and off);
 * - the converted face detector: WASM = reference bit for bit, and its raw output approaches the
 *   ANN's as T grows;
 * - determinism: same seed → same bytes; another seed with Poisson input → different.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { createAnnEngine } from '../src/ann/engine.ts';
import { convReference } from '../src/ann/reference.ts';
import { calibrateInputs } from '../src/convert/calibrate.ts';
import { convertNetwork, defaultSettings } from '../src/convert/convert.ts';
import { loadImage } from '../src/image/decode.ts';
import { preprocess } from '../src/image/preprocess.ts';
import { PROJECT_ROOT, loadModel } from '../src/model/load.ts';
import type { ConvLayer } from '../src/model/ir.ts';
import type { ResetMode, SnnLayer, SnnNetwork, SnnSettings, SpikeRule } from '../src/convert/snn-ir.ts';
import type { Shape } from '../src/model/ir.ts';
import { convLayer, makeSnn, poolLayer, routeLayer, upsampleLayer } from '../src/sim/handmade.ts';
import { createSimulator, type SimCounts, type Simulator, type SnnEngineKind } from '../src/sim/simulator.ts';
import { gaussian, mulberry32 } from '../src/util/rng.ts';

const ENGINES: SnnEngineKind[] = ['wasm', 'reference'];
const SAMPLE = join(PROJECT_ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo', 'sample1.jpg');

function randomArray(n: number, rand: () => number, scale: number, offset = 0): Float32Array {
  const g = gaussian(rand);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = offset + scale * g();
  return a;
}

// ---------------------------------------------------------------------------------------------
// one conv layer against the ANN

test('one IBT conv layer: rate × λ converges to the leaky ANN activation, error ~ 1/T', async () => {
  const rand = mulberry32(11);
  const input: Shape = { c: 3, h: 12, w: 12 };
  const image = new Float32Array(3 * 12 * 12);
  for (let i = 0; i < image.length; i++) image[i] = rand();
  const F = 8, k = 3;
  const W = randomArray(F * 3 * k * k, rand, 0.4);
  const b = randomArray(F, rand, 0.2);
  // the ANN layer and its activation (leaky 0.1)
  const ann: ConvLayer = {
    kind: 'conv', index: 0, name: 'c', inputs: [-1], inShape: input, outShape: { c: F, h: 12, w: 12 }, filters: F, size: k, stride: 1, pad: 1,
    groups: 1, activation: 'leaky', leakySlope: 0.1, weights: W, biases: b,
  };
  const act = convReference(ann, image);
  // channel-wise λ = max |activation| per channel (no saturation), W̃ = W/λ, b̃ = b/λ
  const plane = 144;
  const lam = new Float32Array(F);
  for (let o = 0; o < F; o++) for (let p = 0; p < plane; p++) lam[o] = Math.max(lam[o], Math.abs(act[o * plane + p]));
  const Wn = W.map((w, i) => w / lam[Math.floor(i / (3 * k * k))]);
  const bn = b.map((v, o) => v / lam[o]);
  const l0 = convLayer(0, -1, input, { filters: F, size: k, pad: 1, rule: 'ibt', vthPos: 1, vthNeg: 10, weights: Wn, biases: bn, lambda: lam });
  // an integrating identity 1×1 conv reads the spikes out: V/t·λ = net spike rate × λ
  const id = new Float32Array(F * F);
  for (let o = 0; o < F; o++) id[o * F + o] = 1;
  const l1 = convLayer(1, 0, l0.outShape, { filters: F, rule: 'integrate', weights: id, lambda: lam });
  const net = makeSnn(input, [l0, l1], [1]);
  for (const engine of ENGINES) {
    const sim = await createSimulator(net, { engine });
    sim.reset(image);
    const err: Record<number, number> = {};
    sim.runWithCheckpoints(512, [64, 128, 256, 512], (t, [raw]) => {
      let e = 0;
      for (let i = 0; i < raw.length; i++) e += Math.abs(raw[i] - act[i]);
      err[t] = e / raw.length;
    });
    assert.ok(err[512] < err[64] / 4, `${engine}: mean |error| ${err[64]} at 64 ticks, ${err[512]} at 512`);
    // least-squares slope of log(error) against log(T)
    const xs = [64, 128, 256, 512].map(Math.log), ys = [64, 128, 256, 512].map((t) => Math.log(err[t]));
    const mx = xs.reduce((a, v) => a + v) / 4, my = ys.reduce((a, v) => a + v) / 4;
    const slope = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    assert.ok(slope < -0.8 && slope > -1.25, `${engine}: slope ${slope.toFixed(3)} (errors ${JSON.stringify(err)})`);
    // the bound of reset by subtraction: |rate·λ − a| ≤ λ·max(vth+, vth−·α)/T… plus the −1 side's residual
    const raw = sim.readout()[0];
    for (let o = 0; o < F; o++) for (let p = 0; p < plane; p++) {
      const i = o * plane + p;
      assert.ok(Math.abs(raw[i] - act[i]) <= (lam[o] * 10) / 512 + 1e-5, `${engine}: neuron ${i}: ${raw[i]} vs ${act[i]}`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// SOPs and active neurons, counted by hand

/** A Poisson input whose rate-1 pixels fire every tick (u < 1 always) and zeros never. */
function onePixelImage(s: Shape, where: [number, number, number][]): Float32Array {
  const img = new Float32Array(s.c * s.h * s.w);
  for (const [c, y, x] of where) img[(c * s.h + y) * s.w + x] = 1;
  return img;
}

test('SOPs: one SOP per weight added; taps outside the output are not counted', async () => {
  for (const engine of ENGINES) {
    const input: Shape = { c: 2, h: 6, w: 7 };
    const F = 5, T = 3;
    const dense = convLayer(0, -1, input, { filters: F, size: 3, pad: 1, rule: 'integrate', weights: new Float32Array(F * 2 * 9).fill(1) });
    const strided = convLayer(1, -1, input, { filters: 4, size: 3, stride: 2, pad: 1, rule: 'integrate', weights: new Float32Array(4 * 2 * 9).fill(1) });
    const grouped = convLayer(2, -1, input, { filters: 6, size: 3, pad: 0, groups: 2, rule: 'integrate', weights: new Float32Array(6 * 1 * 9).fill(1) });
    const net = makeSnn(input, [dense, strided, grouped], [0], { input: 'poisson' });
    const sim = await createSimulator(net, { engine });
    // corner (0,0) ch 0, edge (0,3) ch 1, interior (3,3) ch 0
    sim.reset(onePixelImage(input, [[0, 0, 0], [1, 0, 3], [0, 3, 3]]));
    sim.run(T);
    const c = sim.counts();
    assert.equal(Array.from(c.input.posSpikes), [2 * T, T]);
    // dense 3×3 pad 1: corner reaches 4 outputs, edge 6, interior 9; each × F channels
    assert.is(c.layers[0].total.sops, (4 + 6 + 9) * F * T, `${engine} dense`);
    assert.equal(Array.from(c.layers[0].sops), new Array(F).fill((4 + 6 + 9) * T));
    // active neurons: distinct output pixels reached per tick × F (corner ∪ edge ∪ interior windows overlap?)
    // corner (0,0) → outputs rows 0..1, cols 0..1; edge (0,3) → rows 0..1, cols 2..4; interior (3,3) → rows 2..4, cols 2..4
    assert.is(c.layers[0].total.activeNeurons, (4 + 6 + 9) * F * T);
    // stride 2, pad 1, out 3×4: input (y,x) reaches oy with oy·2 + ky − 1 = y, 0 ≤ ky < 3
    const reach = (v: number, n: number) => [0, 1, 2].filter((ky) => (v + 1 - ky) % 2 === 0 && (v + 1 - ky) / 2 >= 0 && (v + 1 - ky) / 2 < n).length;
    const sOut = strided.outShape;
    const taps = reach(0, sOut.h) * reach(0, sOut.w) + reach(0, sOut.h) * reach(3, sOut.w) + reach(3, sOut.h) * reach(3, sOut.w);
    assert.is(c.layers[1].total.sops, taps * 4 * T, `${engine} stride 2`);
    // grouped, pad 0 (out 4×5): ch 0 feeds group 0 (channels 0..2), ch 1 group 1 (3..5)
    const g = grouped.outShape;
    const reach0 = (v: number, n: number) => [0, 1, 2].filter((ky) => v - ky >= 0 && v - ky < n).length;
    const g0 = reach0(0, g.h) * reach0(0, g.w) + reach0(3, g.h) * reach0(3, g.w), g1 = reach0(0, g.h) * reach0(3, g.w);
    assert.equal(Array.from(c.layers[2].sops), [g0, g0, g0, g1, g1, g1].map((v) => v * T), `${engine} grouped`);
    // every conv neuron is updated every tick
    assert.is(c.layers[0].total.neuronUpdates, T * F * 6 * 7);
    // the integrate layer holds the number of SOPs it received: all weights are 1
    let vsum = 0;
    for (const v of sim.membrane(0)) vsum += v;
    assert.is(vsum, c.layers[0].total.sops);
  }
});

// ---------------------------------------------------------------------------------------------
// max-pool gating

/**
 * Unit A (z = 0.5) fires at ticks 2, 4, 6, 8; unit B (z = 0.625) at 2, 4, 5, 7, 8 (IF, vth 1,
 * dyadic currents: exact). Counts (this tick's spikes included) and the winner per tick, A first
 * in row-major order: t2 tie 1:1 → A fires → 1; t4 tie 2:2 → A → 1; t5 B 3:2 → 1; t6 tie 3:3, A
 * first and firing → 1; t7 B 4:3 → 1; t8 B 5:4, B fires → 1. Six spikes in 8 ticks.
 * With B first: t2 B, t4 B, t5 B, t6 tie → B wins but is silent → 0, t7 B, t8 B: five.
 */
async function poolCase(engine: SnnEngineKind, aFirst: boolean, size: number, stride: number, rule: 'gate' | 'max' = 'gate'): Promise<{ out: Float32Array; counts: SimCounts; sim: Simulator }> {
  const input: Shape = { c: 1, h: 2, w: 2 };
  const img = new Float32Array(4);
  img[aFirst ? 0 : 1] = 0.5; // (0,0) or (0,1)
  img[aFirst ? 1 : 0] = 0.625;
  const spk = convLayer(0, -1, input, { filters: 1, rule: 'if', weights: Float32Array.of(1) });
  const pool = { ...poolLayer(1, 0, spk.outShape, size, stride), rule };
  const read = convLayer(2, 1, pool.outShape, { filters: 1, rule: 'integrate', weights: Float32Array.of(1) });
  const sim = await createSimulator(makeSnn(input, [spk, pool, read], [2]), { engine });
  sim.reset(img);
  sim.run(8);
  return { out: sim.membrane(2), counts: sim.counts(), sim };
}

test('max-pool gating: highest count so far (this tick included) wins, ties to the first unit', async () => {
  for (const engine of ENGINES) {
    const a = await poolCase(engine, true, 2, 2);
    assert.equal(Array.from(a.out), [6], `${engine} A first`);
    assert.is(a.counts.layers[0].total.posSpikes, 4 + 5);
    assert.is(a.counts.layers[1].total.posSpikes, 6);
    const b = await poolCase(engine, false, 2, 2);
    assert.equal(Array.from(b.out), [5], `${engine} B first`);
    // stride-1 2×2 pool (output 2×2, windows clipped at the bottom/right):
    // (0,0) covers all four → as above; (0,1) covers (0,1),(1,1) → the unit at (0,1) alone has counts
    // → all its spikes; (1,0), (1,1) see only silent units
    const s1 = await poolCase(engine, true, 2, 1);
    assert.equal(Array.from(s1.out), [6, 5, 0, 0], `${engine} stride 1, A first`);
    const s1b = await poolCase(engine, false, 2, 1);
    assert.equal(Array.from(s1b.out), [5, 4, 0, 0], `${engine} stride 1, B first`);
  }
});

test('max-count pool: the output count is the window\'s highest count, whichever unit is first', async () => {
  for (const engine of ENGINES) {
    // A fires at 2, 4, 6, 8 and B at 2, 4, 5, 7, 8 (see poolCase): the max of the counts rises at
    // t2 (1), t4 (2), t5 (3), t7 (4), t8 (5) → 5 spikes = B's count, in either order (the gate gave 6 and 5)
    for (const aFirst of [true, false]) {
      const a = await poolCase(engine, aFirst, 2, 2, 'max');
      assert.equal(Array.from(a.out), [5], `${engine} aFirst=${aFirst}`);
      assert.is(a.counts.layers[1].total.posSpikes, 5);
      assert.is(a.counts.layers[1].total.negSpikes, 0);
    }
    // stride 1: (0,1) sees only the unit at (0,1) (and a silent one): its count; (1,·) silent
    assert.equal(Array.from((await poolCase(engine, true, 2, 1, 'max')).out), [5, 5, 0, 0], `${engine} stride 1, A first`);
    assert.equal(Array.from((await poolCase(engine, false, 2, 1, 'max')).out), [5, 4, 0, 0], `${engine} stride 1, B first`);
    // −1 spikes: A (z = −2.5, a −1 every 4 ticks) alone in a 1×1 window: the max falls → −1 spikes;
    // in a 2×2 window beside silent units (count 0) the max stays 0 → nothing
    const input: Shape = { c: 1, h: 2, w: 2 };
    const spk = convLayer(0, -1, input, { filters: 1, rule: 'ibt', vthNeg: 10, weights: Float32Array.of(1) });
    for (const [size, want] of [[1, [-4, 4, 0, 0]], [2, [4]]] as const) {
      const pool = { ...poolLayer(1, 0, spk.outShape, size, size), rule: 'max' as const };
      const read = convLayer(2, 1, pool.outShape, { filters: 1, rule: 'integrate', weights: Float32Array.of(1) });
      const sim = await createSimulator(makeSnn(input, [spk, pool, read], [2]), { engine });
      sim.reset(Float32Array.of(-2.5, 0.25, 0, 0));
      sim.run(16);
      assert.equal(Array.from(sim.membrane(2)), [...want], `${engine} ${size}x${size}`);
      assert.is(sim.counts().layers[1].total.negSpikes, size === 1 ? 4 : 0);
    }
  }
});

test('V₀ = vInit·vth and the readout warm-up, by hand', async () => {
  for (const engine of ENGINES) {
    // one IF neuron, z = 0.3, vth 1: from V₀ = 0.5 it fires at t = 2 (0.5+0.6 ≥ 1), 5 (0.1+0.9), 9, 12, 15 …
    // (V after t ticks = 0.5 + 0.3t − spikes); from 0 at t = 4, 7, 10, 14 (float32 rounding aside, checked below)
    const input: Shape = { c: 1, h: 1, w: 1 };
    const spk = convLayer(0, -1, input, { filters: 1, rule: 'if', weights: Float32Array.of(1) });
    const read = convLayer(1, 0, spk.outShape, { filters: 1, rule: 'integrate', weights: Float32Array.of(1) });
    const run = async (settings: Record<string, number>) => {
      const sim = await createSimulator(makeSnn(input, [spk, read], [1], settings), { engine });
      sim.reset(Float32Array.of(0.3));
      const out: number[] = [];
      for (let t = 1; t <= 12; t++) {
        sim.run(1);
        out.push(sim.counts().layers[0].total.posSpikes);
      }
      return { sim, spikes: out };
    };
    const v0 = await run({ vInit: 0.5 });
    // cumulative spikes per tick from V₀ = 0.5: floor(0.5 + 0.3t) (exact up to float32 at these values)
    assert.equal(v0.spikes, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((t) => Math.floor(Math.fround(0.5 + 0.3 * t) + 1e-6)), `${engine} V₀ = 0.5`);
    // readout warm-up 4: the readout's membrane is cleared after tick 4; at tick 12 it holds the
    // spikes of ticks 5..12 and is divided by 8
    const w = await run({ vInit: 0.5, readoutStart: 4 });
    const spikesAfter4 = w.spikes[11] - w.spikes[3];
    assert.is(w.sim.readout()[0][0], Math.fround(spikesAfter4 / 8));
    assert.is(v0.sim.readout()[0][0], Math.fround(v0.spikes[11] / 12));
  }
});

test('max-pool gating with −1 spikes: net counts decide, the sign passes through', async () => {
  for (const engine of ENGINES) {
    // IBT units: A (0,0) z = −2.5 (a −1 spike every 4 ticks, vth− 10), B (0,1) z = 0.25 (+1 every 4 ticks)
    // A's count goes negative: B (count ≥ 0) or the silent units (count 0, earlier or later) win.
    // Windows of a 2×2/2 pool: A is never the max once it spiked (its count < 0), and before that
    // (t < 4) ties at 0 go to A (first) but A is silent: nothing is forwarded until B fires at t = 4.
    const input: Shape = { c: 1, h: 2, w: 2 };
    const spk = convLayer(0, -1, input, { filters: 1, rule: 'ibt', vthNeg: 10, weights: Float32Array.of(1) });
    const pool = poolLayer(1, 0, spk.outShape, 2, 2);
    const read = convLayer(2, 1, pool.outShape, { filters: 1, rule: 'integrate', weights: Float32Array.of(1) });
    const sim = await createSimulator(makeSnn(input, [spk, pool, read], [2]), { engine });
    sim.reset(Float32Array.of(-2.5, 0.25, 0, 0));
    sim.run(16);
    const c = sim.counts();
    assert.is(c.layers[0].total.negSpikes, 4);
    assert.is(c.layers[0].total.posSpikes, 4);
    // B fires at 4, 8, 12, 16, and A at the same ticks: at t = 4 counts A −1, B 1 → B wins, fires
    assert.is(c.layers[1].total.posSpikes, 4);
    assert.is(c.layers[1].total.negSpikes, 0);
    // now A alone, negative: with only A active in the window (B's input 0), the silent units'
    // count 0 beats A's −1: A's −1 spikes are dropped
    sim.reset(Float32Array.of(-2.5, 0, 0, 0));
    sim.run(16);
    assert.is(sim.counts().layers[1].total.negSpikes, 0);
    // a single-unit window forwards everything, −1 spikes included (1×1 "pool")
    const one = poolLayer(1, 0, spk.outShape, 1, 1);
    const read1 = convLayer(2, 1, one.outShape, { filters: 1, rule: 'integrate', weights: Float32Array.of(1) });
    const sim1 = await createSimulator(makeSnn(input, [spk, one, read1], [2]), { engine });
    sim1.reset(Float32Array.of(-2.5, 0.25, 0, 0));
    sim1.run(16);
    assert.equal(Array.from(sim1.membrane(2)), [-4, 4, 0, 0]);
  }
});

// ---------------------------------------------------------------------------------------------
// route, upsample

test('route concatenates channels; upsample copies each spike stride² times', async () => {
  for (const engine of ENGINES) {
    const input: Shape = { c: 2, h: 2, w: 2 };
    const a = convLayer(0, -1, input, { filters: 2, rule: 'if', groups: 2, weights: Float32Array.of(1, 1) });
    const up = upsampleLayer(1, 0, a.outShape, 2);
    const b = convLayer(2, -1, input, { filters: 1, size: 2, rule: 'if', weights: new Float32Array(8).fill(0.125) });
    const bUp = upsampleLayer(3, 2, b.outShape, 4);
    const route = routeLayer(4, [1, 3], [up.outShape, bUp.outShape]);
    const read = convLayer(5, 4, route.outShape, { filters: 3, rule: 'integrate', groups: 3, weights: Float32Array.of(1, 1, 1) });
    const net = makeSnn(input, [a, up, b, bUp, route, read], [5]);
    const sim = await createSimulator(net, { engine });
    const img = Float32Array.of(1, 0.5, 0, 0.25, /* ch 1 */ 0, 0, 1, 0.5);
    sim.reset(img);
    sim.run(8);
    const m = sim.membrane(5);
    // channel 0 of the route = a's channel 0 upsampled ×2: each 2×2 block counts a's spikes
    const want0 = [8, 8, 4, 4, 8, 8, 4, 4, 0, 0, 2, 2, 0, 0, 2, 2];
    assert.equal(Array.from(m.subarray(0, 16)), want0);
    assert.equal(Array.from(m.subarray(16, 32)), [0, 0, 0, 0, 0, 0, 0, 0, 8, 8, 4, 4, 8, 8, 4, 4]);
    // b: one neuron, current 0.125·(1 + 0.5 + 0 + 0.25 + 0 + 0 + 1 + 0.5) = 0.40625 → floor(8·0.40625) = 3 spikes
    assert.equal(Array.from(m.subarray(32, 48)), new Array(16).fill(3));
    const c = sim.counts();
    assert.is(c.layers[1].total.posSpikes, 4 * c.layers[0].total.posSpikes);
    assert.is(c.layers[3].total.posSpikes, 16 * 3);
    // a's spikes: channel 0: 8 + 4 + 0 + 2, channel 1: 0 + 0 + 8 + 4
    assert.equal(Array.from(c.layers[4].posSpikes), [4 * 14, 4 * 12, 48]);
  }
});

// ---------------------------------------------------------------------------------------------
// WASM against the reference, random networks

interface RandomNet {
  net: SnnNetwork;
  image: Float32Array;
}

/**
 * input (3–5 channels, 12×12 or 12×11) → conv 3×3/1 (dense, C not a multiple of 4) → conv 3×3/2 pad 1
 * (grouped, depthwise or dense) → maxpool 2/2 or 3/2 → conv 1×1 → upsample 2 → route(upsample,
 * stride-2 conv) → conv 3×3/1 pad 1 → maxpool 2/1 or 3/1 → conv 1×1 integrate (readout); plus a second readout
 * integrating the route directly.
 */
function randomNet(seed: number, coding: 'analog' | 'poisson' | 'rate', rules: SpikeRule[], reset: ResetMode, burst = 1, sigmaDelta = false): RandomNet {
  const rand = mulberry32(seed);
  const pick = <T,>(a: T[]): T => a[Math.floor(rand() * a.length)];
  const cin = 3 + Math.floor(rand() * 3);
  const input: Shape = { c: cin, h: 12, w: pick([12, 11]) };
  const layers: SnnLayer[] = [];
  const gain = 0.9;
  const conv = (input: number, inShape: Shape, filters: number, size: number, stride: number, pad: number, groups: number, rule: SpikeRule) => {
    const fanIn = (inShape.c / groups) * size * size;
    const n = filters * fanIn;
    const l = convLayer(layers.length, input, inShape, {
      filters, size, stride, pad, groups, rule, reset,
      vthPos: pick([1, 0.75]),
      weights: randomArray(n, rand, gain / Math.sqrt(fanIn), 0.02),
      biases: randomArray(filters, rand, 0.05, 0.02),
      lambda: randomArray(filters, rand, 0.2, 1),
    });
    layers.push(l);
    return l;
  };
  const c0 = conv(-1, input, pick([6, 7, 9]), 3, 1, pick([0, 1]), 1, pick(rules));
  // stride 2, pad 1: grouped (6 → 2 groups of 3, 9 → 3 groups of 2), depthwise (7), or dense
  const c0C = c0.outShape.c;
  const mode = pick(['grouped', 'dense']);
  const [f1, g1] = mode === 'dense' ? [5, 1] : c0C === 6 ? [6, 2] : c0C === 9 ? [6, 3] : [7, 7];
  const c1 = conv(0, c0.outShape, f1, 3, 2, 1, g1, pick(rules));
  // 2×2 (unrolled path) or 3×3 with padBegin 1 (general path); both give ceil(n/2), n
  const p2 = poolLayer(2, 1, c1.outShape, pick([2, 3]), 2);
  layers.push(p2);
  const c3 = conv(2, p2.outShape, 5, 1, 1, 0, 1, pick(rules));
  const u4 = upsampleLayer(4, 3, c3.outShape, 2);
  layers.push(u4);
  // route partner must match the upsampled size
  const partner = u4.outShape.h === c1.outShape.h && u4.outShape.w === c1.outShape.w ? 1 : 4;
  const r5 = routeLayer(5, partner === 1 ? [4, 1] : [4], partner === 1 ? [u4.outShape, c1.outShape] : [u4.outShape]);
  layers.push(r5);
  const c6 = conv(5, r5.outShape, 8, 3, 1, 1, 1, pick(rules));
  const p7 = poolLayer(7, 6, c6.outShape, pick([2, 3]), 1);
  layers.push(p7);
  conv(7, p7.outShape, 4, 1, 1, 0, 1, 'integrate');
  conv(5, r5.outShape, r5.outShape.c, 1, 1, 0, r5.outShape.c, 'integrate');
  const image = new Float32Array(cin * input.h * input.w);
  for (let i = 0; i < image.length; i++) image[i] = rand() * (rand() < 0.1 ? -0.5 : 1);
  // the pool rule, V₀ and the readout warm-up vary with the seed (no draw: the rest stays as it was)
  for (const l of layers) if (l.kind === 'maxpool') l.rule = seed % 2 ? 'max' : 'gate';
  if (sigmaDelta) for (const l of layers) if (l.kind === 'conv' && l.rule === 'ibt') l.sigmaDelta = true;
  // LIF: a per-channel leak on every conv for some seeds (no draw either)
  if (seed % 5 === 2) for (const l of layers) if (l.kind === 'conv') l.leak = Float32Array.from({ length: l.outShape.c }, (_, c) => 0.7 + 0.3 * ((c * 7 + l.index) % 5) / 4);
  return { net: makeSnn(input, layers, [8, 9], { input: coding, vInit: seed % 3 === 0 ? 0.5 : 0, readoutStart: seed % 4 === 1 ? 5 : 0, ...(burst > 1 ? { burst } : {}) }), image };
}

function assertSameCounts(a: SimCounts, b: SimCounts, label: string): void {
  assert.is(a.ticks, b.ticks);
  assert.equal(Array.from(a.input.posSpikes), Array.from(b.input.posSpikes), `${label}: input +1`);
  assert.equal(Array.from(a.input.negSpikes), Array.from(b.input.negSpikes), `${label}: input −1`);
  for (let i = 0; i < a.layers.length; i++) {
    const x = a.layers[i], y = b.layers[i];
    for (const k of ['posSpikes', 'negSpikes', 'sops', 'neuronUpdates', 'activeNeurons'] as const) {
      assert.equal(Array.from(x[k]), Array.from(y[k]), `${label}: layer ${i} ${x.kind} ${k}`);
    }
  }
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

test('WASM core and TS reference agree bit for bit on random networks', async () => {
  const cases: [string, 'analog' | 'poisson' | 'rate', SpikeRule[], ResetMode, 'auto' | 'always' | 'never', number?, boolean?][] = [
    ['ibt/subtract/analog', 'analog', ['ibt'], 'subtract', 'auto'],
    ['if/subtract/analog', 'analog', ['if'], 'subtract', 'never'],
    ['mixed/zero/analog', 'analog', ['if', 'ibt', 'signed'], 'zero', 'always'],
    ['ibt/subtract/poisson', 'poisson', ['ibt'], 'subtract', 'always'],
    ['mixed/zero/poisson', 'poisson', ['if', 'ibt', 'signed'], 'zero', 'never'],
    ['mixed/subtract/poisson', 'poisson', ['if', 'ibt', 'signed'], 'subtract', 'auto'],
    // absolute-rate Poisson (imported networks): the image values are the probabilities
    ['ibt/subtract/rate', 'rate', ['ibt'], 'subtract', 'auto'],
    // burst spikes: a neuron may fire up to 3 (4) times a tick; pools, upsample and route pass them on
    ['ibt/subtract/analog burst 3', 'analog', ['ibt'], 'subtract', 'auto', 3],
    ['mixed/zero/poisson burst 4', 'poisson', ['if', 'ibt', 'signed'], 'zero', 'always', 4],
    // sigma-delta IBT neurons (no reset; the emitted count follows leaky(V)), with and without bursts
    ['ibt sigma-delta/analog burst 2', 'analog', ['ibt'], 'subtract', 'auto', 2, true],
    ['mixed sigma-delta/poisson', 'poisson', ['if', 'ibt', 'signed'], 'subtract', 'always', 1, true],
  ];
  let seed = 100;
  let spikes = 0;
  for (const [name, coding, rules, reset, sortInput, burst, sigmaDelta] of cases) {
    for (let rep = 0; rep < 4; rep++) {
      // the last repetition with one tick of delay per neuron layer (chip semantics)
      const layerDelay = rep === 3 ? 1 : 0;
      const { net, image } = randomNet(seed++, coding, rules, reset, burst, sigmaDelta);
      const w = await createSimulator(net, { engine: 'wasm', seed: 5, sortInput, layerDelay });
      const r = await createSimulator(net, { engine: 'reference', seed: 5, sortInput, layerDelay });
      if (layerDelay) assert.is(w.fillTicks, 6, 'readout at depth 7 (conv, conv, pool, conv, conv, pool, conv)');
      w.reset(image);
      r.reset(image);
      for (const T of [1, 7, 40]) {
        w.run(T);
        r.run(T);
        const label = `${name} #${rep}${layerDelay ? ' delay 1' : ''} t=${w.tick}`;
        const cw = w.counts(), cr = r.counts();
        assertSameCounts(cw, cr, label);
        const rw = w.readout(), rr = r.readout();
        rw.forEach((a, i) => assert.equal(bits(a), bits(rr[i]), `${label}: readout ${i}`));
        for (const l of net.layers) if (l.kind === 'conv') assert.equal(bits(w.membrane(l.index)), bits(r.membrane(l.index)), `${label}: membrane ${l.index}`);
        spikes += cw.totals.posSpikes + cw.totals.negSpikes;
      }
      // activity sanity: every spiking layer fired, and the pools forwarded something
      const c = w.counts();
      if (sigmaDelta && net.layers.some((l) => l.kind === 'conv' && l.sigmaDelta)) {
        // the sigma-delta neurons changed the spikes: not the reset neurons' counts
        const reset = await createSimulator({ ...net, layers: net.layers.map((l) => (l.kind === 'conv' ? { ...l, sigmaDelta: false } : l)) }, { engine: 'wasm', seed: 5, sortInput, layerDelay });
        reset.reset(image);
        reset.run(48);
        const spikesOf = (k: SimCounts) => k.layers.map((l) => l.total.posSpikes + l.total.negSpikes);
        assert.not.equal(spikesOf(reset.counts()), spikesOf(c), `${name} #${rep}: sigma-delta changed nothing`);
      }
      if (burst && burst > 1) {
        // the bursts happened: more spikes than the same network with one spike per neuron and tick
        const one = await createSimulator({ ...net, settings: { ...net.settings, burst: 1 } }, { engine: 'wasm', seed: 5, sortInput, layerDelay });
        one.reset(image);
        one.run(48);
        assert.ok(c.totals.posSpikes + c.totals.negSpikes > one.counts().totals.posSpikes + one.counts().totals.negSpikes, `${name} #${rep}: no burst`);
      }
      for (const l of c.layers) if (l.kind !== 'conv' || (net.layers[l.index] as { rule: string }).rule !== 'integrate') {
        assert.ok(l.total.posSpikes + l.total.negSpikes > 0, `${name} #${rep}: layer ${l.index} (${l.kind}) silent`);
      }
    }
  }
  assert.ok(spikes > 10000);
});

test('event input: a T×C×H×W tensor read tick by tick (none after T), weights unscaled; by hand, and WASM = reference on random networks', async () => {
  // one IF neuron (1×1 conv of weight 0.75 on channel 0 and −0.5 on channel 1, threshold 1):
  // events ch0 at ticks 1, 2, 3, ch1 at tick 2, nothing at tick 4 and after T = 4
  const input: Shape = { c: 2, h: 1, w: 1 };
  const neuron = convLayer(0, -1, input, { filters: 1, size: 1, rule: 'if', vthPos: 1, reset: 'zero', weights: Float32Array.of(0.75, -0.5) });
  const net = makeSnn(input, [neuron], [0], { input: 'analog' });
  const ev = new Float32Array(4 * 2);
  const at = (t: number, c: number, v: number) => (ev[t * 2 + c] = v);
  at(0, 0, 1); at(1, 0, 1); at(1, 1, 1); at(2, 0, 1);
  for (const engine of ENGINES) {
    const sim = await createSimulator(net, { engine, inputEvents: 4 });
    sim.reset(ev);
    const V: number[] = [], spikes: number[] = [];
    for (let t = 0; t < 6; t++) {
      sim.run(1);
      V.push(sim.membrane(0)[0]);
      spikes.push(sim.counts().layers[0].total.posSpikes);
    }
    // V: 0.75, 0.75+0.75−0.5 = 1.0 → spike (≥ 1), reset 0; 0.75; then no input: 0.75, 0.75, 0.75
    assert.equal(V, [0.75, 0, 0.75, 0.75, 0.75, 0.75], engine);
    assert.equal(spikes, [0, 1, 1, 1, 1, 1], engine);
    assert.equal(Array.from(sim.counts().input.posSpikes), [3, 1], engine);
    assert.throws(() => sim.reset(new Float32Array(6)), /8 \(4 ticks of 2x1x1\)/);
    assert.throws(() => sim.reset(Float32Array.of(0, 2, 0, 0, 0, 0, 0, 0)), /value 2 at index 1/);
  }
  let seed = 300;
  for (const layerDelay of [0, 1] as const) {
    for (let rep = 0; rep < 2; rep++) {
      const { net: base } = randomNet(seed++, 'rate', ['if', 'ibt', 'signed'], 'subtract');
      // every other spiking conv with a current-based synapse (CubaLIF), some with a membrane leak too
      const srand = mulberry32(seed + 1000);
      const f32s = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + (hi - lo) * srand());
      let k = 0;
      const rnet = { ...base, layers: base.layers.map((l) => {
        if (l.kind !== 'conv' || k++ % 2) return l;
        const c = l.outShape.c;
        return { ...l, synapse: { leak: f32s(c, 0.5, 1), gain: f32s(c, 0.2, 1.5), bias: f32s(c, -0.05, 0.05) }, ...(k % 3 ? { leak: f32s(c, 0.7, 1) } : {}) };
      }) };
      const I = rnet.ann.input, T = 30, n = I.c * I.h * I.w;
      const rand = mulberry32(seed);
      const events = Float32Array.from({ length: T * n }, () => (rand() < 0.15 ? (rand() < 0.2 ? -1 : 1) : 0));
      const w = await createSimulator(rnet, { engine: 'wasm', inputEvents: T, layerDelay });
      const r = await createSimulator(rnet, { engine: 'reference', inputEvents: T, layerDelay });
      w.reset(events);
      r.reset(events);
      for (const ticks of [5, 25, 10]) {
        w.run(ticks);
        r.run(ticks);
        const label = `events #${rep} delay ${layerDelay} t=${w.tick}`;
        assertSameCounts(w.counts(), r.counts(), label);
        w.readout().forEach((a, i) => assert.equal(bits(a), bits(r.readout()[i]), `${label}: readout ${i}`));
      }
      const c = w.counts();
      let inSpikes = 0;
      for (const v of events) inSpikes += v !== 0 ? 1 : 0;
      assert.is(c.input.posSpikes.reduce((a, b) => a + b, 0) + c.input.negSpikes.reduce((a, b) => a + b, 0), inSpikes, 'every event entered once');
    }
  }
});

test('CubaLIF by hand: I ← 0.5·I + input, V ← 0.8·V + 0.5·I + 0.1, spike at V ≥ 1, reset 0', async () => {
  // one neuron, weight 1 from one input unit; input events at ticks 1, 2 and 4
  const input: Shape = { c: 1, h: 1, w: 1 };
  const base = convLayer(0, -1, input, { filters: 1, size: 1, rule: 'if', vthPos: 1, reset: 'zero', weights: Float32Array.of(1) });
  const neuron = { ...base, biases: Float32Array.of(0.1), leak: Float32Array.of(0.8), synapse: { leak: Float32Array.of(0.5), gain: Float32Array.of(0.5), bias: Float32Array.of(0) } };
  const net = makeSnn(input, [neuron], [0], { input: 'rate' });
  const f = Math.fround;
  // by hand, in float32: I: 1, 1.5, 0.75, 1.375, 0.6875; V: 0.6 → 0.48+0.75+0.1 = 1.33 spike → 0;
  // then 0 + 0.375 + 0.1 = 0.475; 0.38 + 0.6875 + 0.1 = 1.1675 spike → 0; 0 + 0.34375 + 0.1 = 0.44375
  const wantI: number[] = [], wantV: number[] = [], wantS: number[] = [];
  let I = 0, V = 0, S = 0;
  for (const x of [1, 1, 0, 1, 0]) {
    V = f(f(0.8) * V);
    I = f(f(0.5) * I);
    I = f(I + x);
    V = f(V + f(0.5 * I));
    V = f(V + f(0.1));
    if (V >= 1) { V = 0; S++; }
    wantI.push(I); wantV.push(V); wantS.push(S);
  }
  assert.equal(wantS, [0, 1, 1, 2, 2]);
  for (const engine of ENGINES) {
    const sim = await createSimulator(net, { engine, inputEvents: 5 });
    sim.reset(Float32Array.of(1, 1, 0, 1, 0));
    const V: number[] = [], S: number[] = [];
    for (let t = 0; t < 5; t++) {
      sim.run(1);
      V.push(sim.membrane(0)[0]);
      S.push(sim.counts().layers[0].total.posSpikes);
    }
    assert.equal(V, wantV, engine);
    assert.equal(S, wantS, engine);
  }
});

test('LIF by hand: leak 0.5, drive 1, threshold 1.8: V = 1, 1.5, 1.75, 1.875 (spike, reset 0), 1, 1.5', async () => {
  const input: Shape = { c: 1, h: 1, w: 1 };
  const l0 = convLayer(0, -1, input, { filters: 1, rule: 'if', vthPos: 1.8, reset: 'zero', weights: Float32Array.of(1) });
  l0.leak = Float32Array.of(0.5);
  const l1 = convLayer(1, 0, l0.outShape, { filters: 1, rule: 'integrate', weights: Float32Array.of(1) });
  const net = makeSnn(input, [l0, l1], [1], { neuron: 'if', reset: 'zero' });
  for (const engine of ENGINES) {
    const sim = await createSimulator(net, { engine });
    sim.reset(Float32Array.of(1));
    const v: number[] = [];
    for (let t = 0; t < 6; t++) {
      sim.run(1);
      v.push(sim.membrane(0)[0]);
    }
    // V_t = 0.5·V_{t−1} + 1: 1, 1.5, 1.75, 1.875 ≥ 1.8 → spike and reset to 0, then 1, 1.5
    assert.equal(v, [1, 1.5, 1.75, 0, 1, 1.5], engine);
    assert.is(sim.counts().layers[0].total.posSpikes, 1, `${engine}: one spike in 6 ticks (without the leak: at ticks 2, 4 and 6)`);
  }
});

// ---------------------------------------------------------------------------------------------
// layer delay (chip semantics: a spike emitted at t is integrated by the next neuron layer at t + 1)

test('layer delay by hand: a 3-layer chain fills in 2 ticks, then reads out what the ideal tick does', async () => {
  // analog drive 1 ≥ vth 1: layer 0 fires every tick; layer 1 (weight 1, vth 1) fires on each
  // input spike; the readout integrates layer 1's spikes (weight 1)
  const input: Shape = { c: 1, h: 1, w: 1 };
  const l0 = convLayer(0, -1, input, { filters: 1, rule: 'if', weights: Float32Array.of(1) });
  const l1 = convLayer(1, 0, l0.outShape, { filters: 1, rule: 'if', weights: Float32Array.of(1) });
  const l2 = convLayer(2, 1, l1.outShape, { filters: 1, rule: 'integrate', weights: Float32Array.of(1) });
  const net = makeSnn(input, [l0, l1, l2], [2], { neuron: 'if' });
  for (const engine of ENGINES) {
    const ideal = await createSimulator(net, { engine, layerDelay: 0 });
    const chip = await createSimulator(net, { engine, layerDelay: 1 });
    assert.is(ideal.fillTicks, 0);
    assert.is(chip.fillTicks, 2, `${engine}: depth 3 → 2 fill ticks`);
    for (const sim of [ideal, chip]) {
      sim.reset(Float32Array.of(1));
      sim.run(5);
      assert.is(sim.tick, 5, `${engine}: readout ticks`);
      assert.equal(Array.from(sim.readout()[0]), [1], `${engine} delay ${sim.fillTicks}: 5 spikes in 5 readout ticks`);
    }
    // ideal: 5 ticks, every layer fires 5 times; chip: 7 ticks, layer 0 fires at 1..7, layer 1 at 2..7
    const ci = ideal.counts(), cc = chip.counts();
    assert.is(ci.ticks, 5);
    assert.is(cc.ticks, 7, `${engine}: the fill ticks are run and counted`);
    assert.equal([ci.layers[0].total.posSpikes, ci.layers[1].total.posSpikes], [5, 5]);
    assert.equal([cc.layers[0].total.posSpikes, cc.layers[1].total.posSpikes], [7, 6], `${engine}: one tick later per layer`);
    // synaptic events: layer 1 integrates layer 0's spikes of ticks 1..6 at 2..7 (6); the readout
    // layer 1's of 2..6 at 3..7 (5; the spike of tick 7 would arrive at tick 8)
    assert.equal([ci.layers[1].total.sops, cc.layers[1].total.sops], [5, 6]);
    assert.equal([ci.layers[2].total.sops, cc.layers[2].total.sops], [5, 5]);
  }
});

test('layer delay with biases switched on as the first input arrives is the ideal run shifted by the fill, bit for bit', async () => {
  // layer k of the delayed chain at tick s is layer k of the ideal chain at s − (k − 1) when no
  // neuron is driven before its input arrives: bias onset 'input' (the default) switches layer k's
  // bias on at tick k; with onset 'start' the deep layers integrate bias alone during the fill
  const rand = mulberry32(42);
  const input: Shape = { c: 3, h: 10, w: 10 };
  const layers: SnnLayer[] = [];
  const add = (l: SnnLayer) => (layers.push(l), l);
  const conv = (src: number, inShape: Shape, filters: number, size: number, rule: SpikeRule) => {
    const fanIn = inShape.c * size * size;
    return add(convLayer(layers.length, src, inShape, {
      filters, size, pad: size >> 1, rule, vthPos: 0.8, weights: randomArray(filters * fanIn, rand, 0.7 / Math.sqrt(fanIn), 0),
      biases: randomArray(filters, rand, 0.05, 0.02),
    }));
  };
  const a = conv(-1, input, 6, 3, 'ibt');
  const b = conv(0, a.outShape, 8, 3, 'ibt');
  const p = poolLayer(2, 1, b.outShape, 2, 2);
  p.rule = 'max';
  add(p);
  const c = conv(2, p.outShape, 5, 3, 'if');
  conv(3, c.outShape, 4, 1, 'integrate');
  const net = makeSnn(input, layers, [4], { vInit: 0.5, readoutStart: 3 });
  const image = new Float32Array(3 * 100).map(() => rand());
  for (const engine of ENGINES) {
    const ideal = await createSimulator(net, { engine, layerDelay: 0 });
    const chip = await createSimulator(net, { engine, layerDelay: 1 });
    const early = await createSimulator(net, { engine, layerDelay: 1, biasOnset: 'start' });
    assert.is(chip.fillTicks, 4);
    for (const frame of [0, 1]) {
      // a second frame: the biases are switched off again at reset
      ideal.reset(image);
      chip.reset(image);
      early.reset(image);
      let fired = 0;
      for (const T of [1, 2, 9, 30]) {
        ideal.run(T);
        chip.run(T);
        early.run(T);
        assert.equal(bits(chip.readout()[0]), bits(ideal.readout()[0]), `${engine} frame ${frame} t=${ideal.tick}: readout`);
        fired = ideal.counts().totals.posSpikes;
      }
      assert.ok(fired > 500, `${engine}: the chain is active (${fired} spikes)`);
      assert.not.equal(bits(early.readout()[0]), bits(ideal.readout()[0]), `${engine}: onset 'start' integrates bias during the fill`);
    }
  }
});

test('channel sort changes nothing but the order of additions (counts equal, readouts close)', async () => {
  const { net, image } = randomNet(77, 'poisson', ['ibt'], 'subtract');
  const a = await createSimulator(net, { sortInput: 'always' });
  const b = await createSimulator(net, { sortInput: 'never' });
  a.reset(image);
  b.reset(image);
  a.run(3);
  b.run(3);
  // the first tick's scatter is order-independent in exact arithmetic; float sums may differ by an ulp
  const ra = a.readout(), rb = b.readout();
  ra.forEach((x, i) => x.forEach((v, j) => assert.ok(Math.abs(v - rb[i][j]) <= 1e-5 * Math.max(1, Math.abs(v)), `readout ${i}[${j}]`)));
  assert.is(a.counts().input.posSpikes[0], b.counts().input.posSpikes[0]);
});

// ---------------------------------------------------------------------------------------------
// the converted face detector (src/convert) end to end

async function faceSnn(size: number, fuseLinear: boolean, settings: Partial<SnnSettings> = {}): Promise<{ snn: SnnNetwork; input: Float32Array; annHeadInput: Float32Array }> {
  const net = loadModel({ model: 'face', size });
  const input = preprocess(net, loadImage(SAMPLE));
  const outs = createAnnEngine(net, 'wasm').forward(input);
  const snn = convertNetwork(net, calibrateInputs(net, [input]), defaultSettings({ fuseLinear, ...settings }));
  return { snn, input, annHeadInput: outs[net.layers[snn.readouts[0].head].inputs[0]] };
}

test('face detector (converted, depthwise kept as signed layers): WASM and reference agree bit for bit', async () => {
  const { snn, input } = await faceSnn(96, false);
  assert.ok(snn.layers.some((l) => l.kind === 'conv' && l.groups > 1 && l.rule === 'signed'), 'has signed depthwise layers');
  const w = await createSimulator(snn, { engine: 'wasm' });
  const r = await createSimulator(snn, { engine: 'reference' });
  w.reset(input);
  r.reset(input);
  w.run(6);
  r.run(6);
  assertSameCounts(w.counts(), r.counts(), 'face 96');
  assert.equal(bits(w.readout()[0]), bits(r.readout()[0]));
  assert.ok(w.counts().totals.negSpikes > 0 && w.counts().totals.posSpikes > 0);
});

test('face detector (converted, classic rules: count-gated pool, V₀ 0, plain average): the raw output approaches the ANN as T grows', async () => {
  const { snn, input, annHeadInput } = await faceSnn(128, true, { pool: 'gate', vInit: 0, readoutStart: 0 });
  const sim = await createSimulator(snn);
  sim.reset(input);
  const err: Record<number, number> = {};
  sim.runWithCheckpoints(512, [64, 512], (t, [raw]) => {
    let e = 0;
    for (let i = 0; i < raw.length; i++) e += Math.abs(raw[i] - annHeadInput[i]);
    err[t] = e / raw.length;
  });
  assert.ok(err[512] < err[64] / 2.5, `mean |SNN − ANN| ${err[64]} at 64 ticks, ${err[512]} at 512`);
});

// ---------------------------------------------------------------------------------------------
// determinism

function countBytes(c: SimCounts): number[] {
  const out: number[] = [];
  for (const l of c.layers) for (const k of ['posSpikes', 'negSpikes', 'sops', 'neuronUpdates', 'activeNeurons'] as const) out.push(...new Uint8Array(l[k].buffer));
  out.push(...new Uint8Array(c.input.posSpikes.buffer), ...new Uint8Array(c.input.negSpikes.buffer));
  return out;
}

test('deterministic: same seed → identical bytes; another seed (Poisson) → different', async () => {
  const { net, image } = randomNet(300, 'poisson', ['ibt', 'if'], 'subtract');
  const runOnce = async (seed: number) => {
    const sim = await createSimulator(net, { engine: 'wasm', seed });
    sim.reset(image);
    sim.run(25);
    return { counts: countBytes(sim.counts()), readouts: sim.readout().map((r) => Array.from(new Uint8Array(r.buffer))) };
  };
  const a = await runOnce(42), b = await runOnce(42), c = await runOnce(43);
  assert.equal(a.counts, b.counts);
  assert.equal(a.readouts, b.readouts);
  assert.not.equal(a.counts, c.counts);
  assert.not.equal(a.readouts, c.readouts);
  // reset() restarts the same stream: a second frame in the same simulator repeats the first
  const sim = await createSimulator(net, { engine: 'wasm', seed: 42 });
  sim.reset(image);
  sim.run(25);
  sim.reset(image);
  sim.run(25);
  assert.equal(countBytes(sim.counts()), a.counts);
  // analog input: the seed does not matter
  const an = randomNet(301, 'analog', ['ibt'], 'subtract');
  const s1 = await createSimulator(an.net, { seed: 1 }), s2 = await createSimulator(an.net, { seed: 2 });
  s1.reset(an.image);
  s2.reset(an.image);
  s1.run(20);
  s2.run(20);
  assert.equal(countBytes(s1.counts()), countBytes(s2.counts()));
});

test('Poisson input: rates |p|/max|p| with the sign kept, expected current = the analog one', async () => {
  const input: Shape = { c: 1, h: 1, w: 4 };
  const l = convLayer(0, -1, input, { filters: 1, rule: 'integrate', weights: Float32Array.of(1) });
  const sim = await createSimulator(makeSnn(input, [l], [0], { input: 'poisson' }), { seed: 9 });
  const img = Float32Array.of(2, -1, 0.5, 0);
  sim.reset(img);
  const T = 20000;
  sim.run(T);
  const c = sim.counts();
  const fired = c.input.posSpikes[0], neg = c.input.negSpikes[0];
  // unit 0 always (rate 1), unit 1 −1 spikes at rate 0.5, unit 2 +1 at 0.25, unit 3 never
  const expectPos = T + 0.25 * T, sdPos = Math.sqrt(T * 0.25 * 0.75);
  assert.ok(Math.abs(fired - expectPos) < 5 * sdPos, `+1 spikes ${fired}, expected ${expectPos}`);
  assert.ok(Math.abs(neg - 0.5 * T) < 5 * Math.sqrt(T * 0.25), `−1 spikes ${neg}`);
  const raw = sim.readout()[0];
  // V/t of an integrating 1×1 conv = (spikes × max|p|)/t → p
  assert.ok(Math.abs(raw[0] - 2) < 1e-6);
  assert.ok(Math.abs(raw[1] - -1) < 0.05 && Math.abs(raw[2] - 0.5) < 0.05 && raw[3] === 0, `readout ${Array.from(raw)}`);
});

async function rejects(fn: () => Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await fn();
  } catch (e) {
    assert.match((e as Error).message, re);
    assert.is((e as Error).name, 'UserError');
    return;
  }
  assert.unreachable(`expected a rejection matching ${re}`);
}

test('bad networks are refused with the failing field named', async () => {
  const input: Shape = { c: 1, h: 4, w: 4 };
  const l = convLayer(0, -1, input, { filters: 2, size: 3, pad: 1, rule: 'if', vthPos: 0 });
  await rejects(() => createSimulator(makeSnn(input, [l], [0])), /vthPos 0 must be a positive number/);
  const l2 = convLayer(0, -1, input, { filters: 2, size: 3, pad: 1, rule: 'if' });
  l2.weights = new Float32Array(3);
  await rejects(() => createSimulator(makeSnn(input, [l2], [0])), /layer 0 .*weights/);
  const p = poolLayer(0, -1, input, 2, 2);
  await rejects(() => createSimulator(makeSnn(input, [p], [])), /max-pool cannot read the analog input/);
  // a sigma-delta neuron quantizes leaky ReLU and never resets: not on an IF layer, not with reset zero
  const sdIf = convLayer(0, -1, input, { filters: 2, size: 3, pad: 1, rule: 'if', sigmaDelta: true });
  await rejects(() => createSimulator(makeSnn(input, [sdIf], [0])), /layer 0 .*a sigma-delta neuron needs rule ibt and reset subtract, not if \/ subtract/);
  const sdZero = convLayer(0, -1, input, { filters: 2, size: 3, pad: 1, rule: 'ibt', reset: 'zero' });
  sdZero.sigmaDelta = true;
  await rejects(() => createSimulator(makeSnn(input, [sdZero], [0])), /not ibt \/ zero/);
});

// ---------------------------------------------------------------------------------------------
// thresholds changed between runs (two-phase thresholds)

test('setThresholds: a run of 2T with a switch at T equals the thresholds run by hand', async () => {
  // Two independent IBT neurons (channels 0, 1) on a 1×1 analog input x = 1 through weights
  // w = (0.3, −0.3): constant drives ±0.3. An integrating identity layer reads their spikes out.
  // By hand (float32, reset by subtraction): V += d; +1 if V ≥ vth+, −1 if V ≤ −vth−.
  const input: Shape = { c: 1, h: 1, w: 1 };
  const l0 = convLayer(0, -1, input, { filters: 2, rule: 'ibt', vthPos: 1, vthNeg: 1.5, weights: Float32Array.of(0.3, -0.3) });
  const l1 = convLayer(1, 0, l0.outShape, { filters: 2, rule: 'integrate', weights: Float32Array.of(1, 0, 0, 1) });
  const net = makeSnn(input, [l0, l1], [1]);
  const T = 10;
  const phases: [number, number][] = [[1, 1.5], [0.25, 0.5]];
  const byHand = (d: number) => {
    const f = Math.fround;
    let V = 0, pos = 0, neg = 0, net1 = 0;
    for (let t = 0; t < 2 * T; t++) {
      const [vp, vn] = phases[t < T ? 0 : 1].map(f);
      V = f(V + f(d));
      if (V >= vp) {
        V = f(V - vp);
        pos++;
        net1++;
      } else if (V <= -vn) {
        V = f(V + vn);
        neg++;
        net1--;
      }
    }
    return { V, pos, neg, net1 };
  };
  const a = byHand(0.3), b = byHand(-0.3);
  // sanity of the hand run: phase 1 gives 3 spikes of +1 in 10 ticks (0.3·10 = 3), phase 2 about 12
  assert.ok(a.pos > 10 && b.neg > 3, JSON.stringify({ a, b }));
  for (const engine of ENGINES) {
    const sim = await createSimulator(net, { engine });
    sim.reset(Float32Array.of(1));
    sim.run(T);
    sim.setThresholds(0, 0.25, 0.5);
    assert.equal(sim.thresholds(0), { vthPos: 0.25, vthNeg: 0.5 });
    sim.run(T);
    const c = sim.counts();
    assert.equal(Array.from(c.layers[0].posSpikes), [a.pos, b.pos], `${engine} +1`);
    assert.equal(Array.from(c.layers[0].negSpikes), [a.neg, b.neg], `${engine} −1`);
    assert.equal(Array.from(sim.membrane(0)), [a.V, b.V], `${engine} membranes`);
    assert.equal(Array.from(sim.membrane(1)), [a.net1, b.net1], `${engine} readout membranes`);
    // thresholds persist across reset; the readout layer has none; bad values are refused
    sim.reset(Float32Array.of(1));
    sim.run(1);
    assert.is(sim.counts().layers[0].total.posSpikes, 1, `${engine}: 0.3 ≥ 0.25 at the first tick`);
    assert.throws(() => sim.setThresholds(1, 1, 1), /integrates/);
    assert.throws(() => sim.setThresholds(0, 0, 1), /vthPos 0/);
    assert.throws(() => sim.setThresholds(0, 1, -1), /vthNeg -1/);
  }
});

test('setThresholds: WASM = reference bit for bit with switches on a random network', async () => {
  const { net, image } = randomNet(314, 'analog', ['ibt', 'if', 'signed'], 'subtract');
  const sims = await Promise.all(ENGINES.map((engine) => createSimulator(net, { engine, seed: 3 })));
  const convs = net.layers.filter((l) => l.kind === 'conv' && l.rule !== 'integrate').map((l) => l.index);
  for (const s of sims) s.reset(image);
  for (const [step, scale] of [[5, 0.5], [9, 1.7], [3, 1]] as const) {
    for (const s of sims) {
      for (const i of convs) {
        const l = net.layers[i] as { vthPos: number; vthNeg: number; rule: string };
        s.setThresholds(i, l.vthPos * scale, (l.rule === 'if' ? 1 : l.vthNeg) * scale);
      }
      s.run(step);
    }
    assertSameCounts(sims[0].counts(), sims[1].counts(), `after ${sims[0].tick} ticks`);
    sims[0].readout().forEach((r, i) => assert.equal(bits(r), bits(sims[1].readout()[i])));
  }
  // the switch changed the dynamics: a run without it differs
  const plain = await createSimulator(net, { seed: 3 });
  plain.reset(image);
  plain.run(17);
  assert.is.not(plain.counts().totals.posSpikes, sims[0].counts().totals.posSpikes);
});

test.run();
