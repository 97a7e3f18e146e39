/**
 * Per-core accounting and the energy / timing model against independent truths:
 * - a hand-computed toy (two layers on a 2×2 router mesh of two chips, spikes known from the
 *   weights): every event count, the energy of every kind, the hop and packet counts, every tick
 *   time and the busiest link are worked out by hand in the comments;
 * - the per-core totals equal Σ over the spikes (recorded by the plain-TS reference engine) of
 *   spikeCost() read from the route table — with splitter copies, fan-in splits, max-pools, routes,
 *   upsamples, Poisson input, unicast and multicast;
 * - Σ synaptic events = the simulator's SOPs + max-pool input events on a chip without copies and
 *   splits (the relation src/sim/acct.ts documents), counted independently;
 * - the link loads sum to the hops; accounting changes neither readouts nor counts;
 * - a fixed-tick overrun on a slow chip; the barrier from a chip's tile table.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadChip, type ChipParams } from '../src/hw/chip-schema.ts';
import { mapNetwork, type Mapping } from '../src/hw/mapper.ts';
import { partialCore, spikeCost, walkXY } from '../src/hw/routing.ts';
import { Accountant, NocTally, geometryOf, type TickResult } from '../src/hw/account.ts';
import { barrierS, packetLatencyS } from '../src/hw/power.ts';
import { convLayer, makeSnn, poolLayer, routeLayer, upsampleLayer } from '../src/sim/handmade.ts';
import type { SnnLayer, SnnNetwork } from '../src/convert/snn-ir.ts';
import type { Shape } from '../src/model/ir.ts';
import { buildAcctTables, CK, CORE_KINDS } from '../src/sim/acct.ts';
import { createSimulator } from '../src/sim/simulator.ts';
import { ReferenceSnn } from '../src/sim/reference.ts';
import { emulateFrames } from '../src/sim/emulate.ts';
import { chipReportJson, chipReportRows } from '../src/hw/report.ts';
import { gaussian, mulberry32 } from '../src/util/rng.ts';
import { toyChip, toyNet } from './helpers/toy-chip.ts';

const pJ = 1e-12, ns = 1e-9;
const close = (a: number, b: number, what: string, rel = 1e-12) => assert.ok(Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-30), `${what}: ${a} vs ${b}`);


test('toy: the mapping the hand arithmetic rests on', () => {
  const m = mapNetwork(toyNet(), toyChip(), { placement: 'layers' });
  // 2 neurons per core: each layer is one core per pixel (1×1×2 tiles); cores 0, 1 = layer 0,
  // cores 2, 3 = layer 1; snake placement: chip 0 holds (0,0), (0,1), chip 1 (1,0), (1,1)
  assert.equal([m.coresUsed, m.chipsUsed, m.routersUsed], [4, 2, 4]);
  assert.equal(m.layers[0]!.tile, { h: 1, w: 1, c: 2 });
  assert.equal(m.layers[1]!.tile, { h: 1, w: 1, c: 2 });
  assert.equal([0, 1, 2, 3].map((c) => [m.placement.meshX[c], m.placement.meshY[c]]), [[0, 0], [0, 1], [1, 0], [1, 1]]);
  // a spike of pixel 0 (core 0 at (0,0)): 2 synapses in core 2 (pixel 0 of layer 1, 2 channels)
  // and 2 in core 3; unicast: to (1,0) 1 E-W hop, to (1,1) 1 E-W + 1 N-S; both cross x 0|1
  const a = spikeCost(m, 0, 0, 0, 1);
  assert.equal(a.synops, [[2, 2], [3, 2]]);
  assert.equal([a.srcCore, a.spikesOut, a.packets, a.hopsEW, a.hopsNS, a.chipCrossings], [0, 1, 2, 2, 1, 2]);
  // pixel 1 (core 1 at (0,1)): to (1,0) 1 + 1 N-S, to (1,1) 1: the same totals
  const b = spikeCost(m, 0, 0, 1, 0);
  assert.equal([b.srcCore, b.packets, b.hopsEW, b.hopsNS, b.chipCrossings], [1, 2, 2, 1, 2]);
});

test('toy: events, energy by kind, hops, packets, tick times and the busiest link by hand', async () => {
  const chip = toyChip();
  const ticks: TickResult[] = [];
  const r = await emulateFrames(toyNet(), chip, [Float32Array.of(1, 1)], { timesteps: 4, placement: 'layers', onTick: (_f, t) => ticks.push(t) });
  const t = r.totals;
  // spikes: tick 2: 2 (channel 0, both pixels), tick 4: 4 → 6 spikes, each 2 packets, 2 E-W hops,
  // 1 N-S hop, 2 crossings, 2 + 2 synaptic events
  assert.equal(t.counts.spikes_out, 6);
  assert.equal(t.counts.packets, 12);
  assert.equal(t.counts.hops, 18);
  assert.equal(t.counts.chip_crossings, 12);
  assert.equal(t.counts.synaptic_events, 24);
  // the simulator's SOPs: a spike adds 1 tap × 2 channels at each of the 2 output pixels = 4
  assert.equal(t.counts.sops, 24);
  assert.equal(t.counts.spikes, 6);
  // neuron updates: 4 cores × 2 neurons × 4 ticks = 32; active: layer 0 always (16), layer 1 at
  // ticks 2 and 4 (8); idle: layer 1 at ticks 1 and 3 (8)
  assert.equal([t.counts.neuron_updates, t.counts.neuron_updates_active], [32, 24]);
  // per tick: busy = max over cores of Σ events × times; drain = the longest packet; + barrier
  //   barrier: 4 tiles on the tile table [[1, 100 ns], [4, 400 ns]] (no chips table) = 400 ns
  //   tick 1: layer-0 cores 2 active × 20 = 40 ns; layer-1 cores 2 idle × 5 = 10; no packet → 440 ns
  //   tick 2: layer-1 cores: 4 synops × 10 + 2 active × 20 = 80 ns; layer-0 cores 40 + 1 + 2·2 = 45;
  //           drain: (1 E-W, 1 N-S, 1 crossing) = 2 + 3 + 4 + 50 = 59 ns → 80 + 59 + 400 = 539 ns
  //   tick 3: as tick 1, 440 ns
  //   tick 4: layer-1 cores 8 × 10 + 40 = 120 ns → 120 + 59 + 400 = 579 ns
  const expectTicks = [440, 539, 440, 579].map((x) => x * ns);
  ticks.forEach((k, i) => close(k.tickS, expectTicks[i], `tick ${i + 1}`));
  close(ticks[1].drainS, 59 * ns, 'drain');
  close(ticks[3].maxBusyS, 120 * ns, 'busy');
  const wall = 1998 * ns;
  close(t.latency.frame_s, wall, 'frame latency');
  close(t.latency.fps, 1 / wall, 'fps');
  assert.is(t.latency.overruns, 0);
  close(t.latency.barrier_s, 400 * ns, 'barrier');
  // energy by kind (J): synaptic 24 × 1 pJ; neuron 24 × 10 + 8 × 2; spike 6 × 5; routing 12
  // packets × 3 + 12 E-W × 7 + 6 N-S × 11; off-chip 12 × 100; static (4 cores × 1 mW + 2 chips ×
  // 10 mW) × 1998 ns
  const b = t.energy.breakdown_J;
  close(b.synaptic, 24 * pJ, 'synaptic');
  close(b.neuron, 256 * pJ, 'neuron');
  close(b.spike, 30 * pJ, 'spike');
  close(b.routing, 186 * pJ, 'routing');
  close(b.offchip, 1200 * pJ, 'offchip');
  close(b.static, 24e-3 * wall, 'static');
  close(t.energy.per_frame_J, 1696 * pJ + 24e-3 * wall, 'total');
  // links: every packet leaves its source router eastwards across the chip boundary (off-chip
  // links, 1e8 packets/s); at tick 4 router (0,0) → E carries its 2 spikes × 2 legs = 4 packets
  // (so does (0,1) → E; ties go to the lower link id): 4 / (1e8 × 579 ns) of the capacity
  const top = t.links[0];
  assert.equal([top.name, top.offchip, top.packets, top.tick], ['router (0,0) of chip (0,0) → E', true, 4, 4]);
  close(top.load!, 4 / (1e8 * 579 * ns), 'link load');
  // on-chip: (1,0) → S and (1,1) → N carry the N-S legs: 2 at tick 4
  const s = t.links.find((l) => !l.offchip)!;
  assert.equal([s.name, s.packets], ['router (1,0) of chip (1,0) → S', 2]);
  // by layer: layer 1's events are its 24 synaptic events, 8 active and 8 idle updates
  const l1 = t.byLayer.find((l) => l.layer === 1)!;
  close(l1.breakdown_J.synaptic, 24 * pJ, 'layer 1 synaptic');
  close(l1.breakdown_J.neuron, (8 * 10 + 8 * 2) * pJ, 'layer 1 neuron');
  close(l1.breakdown_J.static, 2 * 1e-3 * wall, 'layer 1 core static');
  // the report rows and JSON carry the same figures
  const rows = Object.fromEntries(chipReportRows(t));
  assert.match(rows['energy per frame'], /49\.6\d nJ/);
  assert.match(rows['busiest link'], /router \(0,0\) of chip \(0,0\) → E \(off-chip\): 4 packets/);
  const j = chipReportJson(t) as { energy: { breakdown_J: Record<string, number> }; counts: { sops: number } };
  assert.equal(Object.keys(j.energy.breakdown_J), ['synaptic', 'neuron', 'spike', 'routing', 'offchip', 'static']);
  assert.is(j.counts.sops, 24);
});

test('timing.core_work overlap (SANA-FE\'s pipelined cores): the busy time of a core is its longest stage, by hand on the toy', async () => {
  const chip = toyChip();
  chip.timing.coreWork = 'overlap';
  const ticks: TickResult[] = [];
  const r = await emulateFrames(toyNet(), chip, [Float32Array.of(1, 1)], { timesteps: 4, placement: 'layers', onTick: (_f, t) => ticks.push(t) });
  // tick 2: layer-1 cores synaptic 4 × 10 = 40 ns, neuron 2 × 20 = 40 → 40 (summed: 80); layer-0
  //   cores neuron 40, output 1 + 2·2 = 5 → 40; + drain 59 + barrier 400 = 499 ns
  // tick 4: layer-1 synaptic 8 × 10 = 80 ns (the longest) → 80 + 59 + 400 = 539 ns; ticks 1, 3 unchanged (440)
  const expectTicks = [440, 499, 440, 539].map((x) => x * ns);
  ticks.forEach((k, i) => close(k.tickS, expectTicks[i], `tick ${i + 1}`));
  close(r.totals.latency.frame_s, 1918 * ns, 'frame');
  // energy by event is the same; static follows the shorter wall time
  close(r.totals.energy.breakdown_J.synaptic, 24 * pJ, 'synaptic');
  close(r.totals.energy.breakdown_J.static, 24e-3 * 1918 * ns, 'static');
});

test('energy.active_update nonzero (SANA-FE\'s rule): an update without input is active when its membrane or bias is non-zero, by hand on the toy', async () => {
  const chip = toyChip();
  chip.energy.activeUpdate = 'nonzero';
  const r = await emulateFrames(toyNet(), chip, [Float32Array.of(1, 1)], { timesteps: 4, placement: 'layers' });
  // the readout (layer 1) gets input at ticks 2 and 4; at tick 1 its membrane is 0 (idle), at
  // tick 3 it holds tick 2's input (active): 24 + 2 cores × 2 neurons = 28 active, 4 idle
  assert.equal([r.totals.counts.neuron_updates, r.totals.counts.neuron_updates_active], [32, 28]);
  close(r.totals.energy.breakdown_J.neuron, (28 * 10 + 4 * 2) * pJ, 'neuron');
  // the network's own counts keep the input rule (active = reached by an event)
  const input = await emulateFrames(toyNet(), toyChip(), [Float32Array.of(1, 1)], { timesteps: 4, placement: 'layers' });
  assert.is(input.totals.counts.sops, r.totals.counts.sops);
  // a non-zero bias makes the readout active at tick 1 as well: every update is active
  const biased = toyNet();
  (biased.layers[1] as { biases: Float32Array }).biases = Float32Array.of(0.5, 0);
  const b = await emulateFrames(biased, chip, [Float32Array.of(1, 1)], { timesteps: 4, placement: 'layers' });
  assert.equal([b.totals.counts.neuron_updates, b.totals.counts.neuron_updates_active], [32, 32]);
  // and the report says which rule priced the updates
  assert.ok(r.totals.notes.some((n) => /active = received input this tick, or a non-zero potential or bias/.test(n)), r.totals.notes.join('\n'));
});

test('fixed tick: a slow toy chip overruns its period at tick 4 only', async () => {
  const chip = toyChip();
  chip.timing.tick = { rule: 'fixed', periodS: 500 * ns };
  chip.timing.eventS.synop = 100 * ns;
  const ticks: TickResult[] = [];
  const r = await emulateFrames(toyNet(), chip, [Float32Array.of(1, 1)], { timesteps: 4, placement: 'layers', onTick: (_f, t) => ticks.push(t) });
  // no barrier on a fixed-tick chip; tick 2: 4 × 100 + 40 = 440 ns + drain 59 = 499 ns < 500 (fits);
  // tick 4: 8 × 100 + 40 = 840 + 59 = 899 ns > 500: an overrun, the tick lasts 899 ns
  assert.equal(ticks.map((t) => t.overrun), [false, false, false, true]);
  close(ticks[1].stepS, 499 * ns, 'step 2');
  close(ticks[3].tickS, 899 * ns, 'tick 4');
  assert.is(r.totals.latency.overruns, 1);
  close(r.totals.latency.frame_s, (500 * 3 + 899) * ns, 'frame');
  close(r.totals.energy.breakdown_J.static, 24e-3 * 2399 * ns, 'static');
  assert.match(Object.fromEntries(chipReportRows(r.totals))['tick rule'], /1 of 4 ticks overran/);
});

test('barrier from the chip\'s tile table (and the multi-chip table), by hand', () => {
  const loihi = loadChip('loihi').params;
  // Loihi: [[1, 113 ns], [32, 465 ns]]: 16 tiles → 113 + 352·15/31 ns
  close(barrierS(loihi, 16, 1), (113 + (352 * 15) / 31) * ns, 'loihi 16 tiles', 1e-9);
  // the Accountant charges it every tick on a barrier chip: an empty tick lasts the barrier alone
  const geo = { network: 'x', cores: 1, coreLayer: Int32Array.of(0), coreNeurons: Int32Array.of(0), chipsUsed: 1, tilesUsed: 16, meshWidth: 8, meshHeight: 4, tilesX: 8, tilesY: 4, layerNames: ['a'] };
  const acc = new Accountant(loihi, geo);
  const t = acc.tick({ tick: 1, core: new Int32Array(CORE_KINDS), drain: new Int32Array(0), linksOn: new Int32Array(0), linksOff: new Int32Array(0) });
  close(t.tickS, (113 + (352 * 15) / 31) * ns, 'empty tick', 1e-9);
  // two chips: from the full-chip barrier (465 ns at 1 chip) towards 14.3 µs at 256, log2: 1/8 of the way
  const acc2 = new Accountant(loihi, { ...geo, chipsUsed: 2 });
  close(acc2.tick({ tick: 1, core: new Int32Array(CORE_KINDS), drain: new Int32Array(0), linksOn: new Int32Array(0), linksOff: new Int32Array(0) }).tickS, (465 + (14300 - 465) / 8) * ns, '2 chips', 1e-9);
});

// ---------------------------------------------------------------------------------------------
// the core's totals against the route table, spike by spike

function randomArray(n: number, rand: () => number, scale: number, offset = 0): Float32Array {
  const g = gaussian(rand);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = offset + scale * g();
  return a;
}

/**
 * input 3×10×10 → conv 3×3 pad 1 (8) → maxpool 2/2 → conv 3×3 pad 1 (8, fan-in 72) → upsample 2 →
 * route(upsample, conv 0) → conv 1×1 (6) → conv 1×1 integrate (readout).
 */
function mixedNet(seed: number, coding: 'analog' | 'poisson'): { net: SnnNetwork; image: Float32Array } {
  const rand = mulberry32(seed);
  const input: Shape = { c: 3, h: 10, w: 10 };
  const layers: SnnLayer[] = [];
  const conv = (src: number, inShape: Shape, filters: number, size: number, pad: number, rule: 'ibt' | 'integrate') => {
    const fanIn = inShape.c * size * size;
    const l = convLayer(layers.length, src, inShape, {
      filters, size, pad, rule, vthPos: 0.6, weights: randomArray(filters * fanIn, rand, 1.2 / Math.sqrt(fanIn), 0.03), biases: randomArray(filters, rand, 0.05, 0.03),
    });
    layers.push(l);
    return l;
  };
  const c0 = conv(-1, input, 8, 3, 1, 'ibt');
  const p1 = poolLayer(1, 0, c0.outShape, 2, 2);
  layers.push(p1);
  const c2 = conv(1, p1.outShape, 8, 3, 1, 'ibt');
  const u3 = upsampleLayer(3, 2, c2.outShape, 2);
  layers.push(u3);
  const r4 = routeLayer(4, [3, 0], [u3.outShape, c0.outShape]);
  layers.push(r4);
  const c5 = conv(4, r4.outShape, 6, 1, 0, 'ibt');
  conv(5, c5.outShape, 4, 1, 0, 'integrate');
  const image = new Float32Array(3 * 100);
  for (let i = 0; i < image.length; i++) image[i] = rand();
  return { net: makeSnn(input, layers, [6], { input: coding }), image };
}

/** small cores: fan-in 72 > 64 axons splits layer 2 (m = 2); f copies where given */
function smallChip(over: { multicast?: boolean; fanout?: number } = {}): ChipParams {
  const p = toyChip();
  p.board = { chipsX: 3, chipsY: 3 };
  p.chip = { cores: 16, tilesX: 2, tilesY: 4, coresPerTile: 2, mgmtCores: 0 };
  p.core = { ...p.core, neurons: 64, axons: 64, maxFanoutPerNeuron: over.fanout ?? Infinity };
  p.noc = { ...p.noc, multicast: over.multicast ?? false };
  return p;
}

interface Recorded {
  m: Mapping;
  /** Σ over ticks of the core's counters */
  cores: Float64Array;
  /** Σ over recorded spikes of spikeCost, in the same layout (active: unused) */
  expect: Float64Array;
  sops: number;
  counts: import('../src/sim/simulator.ts').SimCounts;
  poolEvents: number;
  linkPackets: number[];
  hopsPerTick: number[];
  maxActiveRatio: number;
}

async function record(net: SnnNetwork, image: Float32Array, chip: ChipParams, T: number): Promise<Recorded> {
  const m = mapNetwork(net, chip, { autoBoard: true });
  const acct = buildAcctTables(m);
  const sim = await createSimulator(net, { seed: 7, accounting: acct });
  const cores = new Float64Array(m.coresUsed * CORE_KINDS);
  const tally = new NocTally(acct.routes);
  const linkPackets: number[] = [], hopsPerTick: number[] = [];
  let maxActiveRatio = 0;
  sim.onTick((c) => {
    let hops = 0;
    for (let i = 0; i < c.core.length; i++) cores[i] += c.core[i];
    for (let k = 0; k < m.coresUsed; k++) {
      hops += c.core[k * CORE_KINDS + CK.hopsEW] + c.core[k * CORE_KINDS + CK.hopsNS];
      maxActiveRatio = Math.max(maxActiveRatio, c.core[k * CORE_KINDS + CK.active] / acct.coreNeurons[k]);
    }
    tally.record(c);
    linkPackets.push(tally.lastLinkPackets);
    hopsPerTick.push(hops);
  });
  sim.reset(image);
  sim.run(T);
  // the reference engine's spikes, tick by tick, priced one by one from the route table
  // (through the simulator facade, as the accounted run: V₀ and the readout warm-up live there)
  const refSim = await createSimulator(net, { seed: 7, engine: 'reference' });
  refSim.reset(image);
  const ref = refSim.core as ReferenceSnn;
  const expect = new Float64Array(cores.length);
  let poolEvents = 0;
  const n = net.layers.length;
  for (let t = 0; t < T; t++) {
    ref.run(1);
    for (let L = -1; L < n; L++) {
      const row = L < 0 ? n : L;
      if (!acct.rows[row]) continue;
      const sp = ref.spikes(L);
      for (let e = 0; e < sp.n; e++) {
        const k = spikeCost(m, L, sp.y[e], sp.x[e], sp.c[e]);
        if (k.srcCore >= 0) {
          const o = k.srcCore * CORE_KINDS;
          expect[o + CK.spikes] += k.spikesOut;
          expect[o + CK.packets] += k.packets;
          expect[o + CK.hopsTile] += k.hopsTile;
          expect[o + CK.hopsEW] += k.hopsEW;
          expect[o + CK.hopsNS] += k.hopsNS;
          expect[o + CK.crossings] += k.chipCrossings;
          expect[o + CK.synops] += k.relaySynops;
        }
        for (const [d, s] of k.synops) expect[d * CORE_KINDS + CK.synops] += s;
      }
    }
    // max-pool input events: for every spike into a pool, the windows that contain it (by hand)
    for (const l of net.layers) {
      if (l.kind !== 'maxpool') continue;
      const sp = ref.spikes(l.inputs[0]);
      const win = (v: number, out: number) => {
        let c = 0;
        for (let o = 0; o < out; o++) if (v >= o * l.stride - l.padBegin && v < o * l.stride - l.padBegin + l.size) c++;
        return c;
      };
      for (let e = 0; e < sp.n; e++) poolEvents += win(sp.y[e], l.outShape.h) * win(sp.x[e], l.outShape.w);
    }
  }
  return { m, cores, expect, sops: sim.counts().totals.sops, counts: sim.counts(), poolEvents, linkPackets, hopsPerTick, maxActiveRatio };
}

/** Per layer: the spikes generated on its cores are the layer's spikes (a pool's: the ones it
 * forwarded), and a conv's active updates are the simulator's active neurons. */
function assertLayerCounts(r: Recorded): void {
  for (const l of r.m.layers) {
    if (!l) continue;
    let spikes = 0, active = 0;
    for (let c = l.firstCore; c < l.firstCore + l.cores; c++) {
      spikes += r.cores[c * CORE_KINDS + CK.spikes];
      active += r.cores[c * CORE_KINDS + CK.active];
    }
    const lc = r.counts.layers[l.layer].total;
    if (l.emits) assert.is(spikes, lc.posSpikes + lc.negSpikes, `layer ${l.layer} spikes`);
    if (l.kind === 'conv') assert.is(active, lc.activeNeurons, `layer ${l.layer} active`);
  }
}

function assertTotals(r: Recorded, label: string): void {
  let spikes = 0;
  for (let i = 0; i < r.cores.length; i++) {
    if (i % CORE_KINDS === CK.active) continue;
    assert.is(r.cores[i], r.expect[i], `${label}: core ${Math.floor(i / CORE_KINDS)} kind ${i % CORE_KINDS}`);
    if (i % CORE_KINDS === CK.spikes) spikes += r.cores[i];
  }
  assert.ok(spikes > 500, `${label}: too few spikes (${spikes}) to mean anything`);
  assert.equal(r.linkPackets, r.hopsPerTick, `${label}: link loads sum to the hops`);
  assert.ok(r.maxActiveRatio <= 1 && r.maxActiveRatio > 0, `${label}: active ratio ${r.maxActiveRatio}`);
}

test('per-core totals = Σ spikeCost over the recorded spikes (unicast, multicast, copies, split, Poisson)', async () => {
  for (const coding of ['analog', 'poisson'] as const) {
    const { net, image } = mixedNet(coding === 'analog' ? 5 : 6, coding);
    const cases: [string, ChipParams][] = [
      ['unicast', smallChip()],
      ['multicast, f = 2', smallChip({ multicast: true, fanout: 2 })],
      ['unicast, f = 1', smallChip({ fanout: 1 })],
      ['multicast', smallChip({ multicast: true })],
    ];
    for (const [name, chip] of cases) {
      const r = await record(net, image, chip, 12);
      assert.ok(r.m.layers[2]!.split, `${name}: layer 2 is split`);
      if (chip.core.maxFanoutPerNeuron === 1) assert.ok(r.m.layers.some((l) => (l?.fanout.splitterNeurons ?? 0) > 0), `${name}: has copies`);
      if (coding === 'poisson') assert.ok(r.m.routes.layerInfo[net.layers.length * 8] === 1, 'the input row has a table');
      assertTotals(r, `${coding} ${name}`);
    }
  }
});

test('Σ synaptic events = SOPs + max-pool input events without copies and splits', async () => {
  const { net, image } = mixedNet(9, 'analog');
  const chip = smallChip();
  chip.core.axons = 1024;
  const r = await record(net, image, chip, 15);
  assert.ok(r.m.layers.every((l) => !l?.split), 'no split');
  let syn = 0;
  for (let k = 0; k < r.m.coresUsed; k++) syn += r.cores[k * CORE_KINDS + CK.synops];
  assert.ok(r.poolEvents > 100);
  assert.is(syn, r.sops + r.poolEvents);
  assertLayerCounts(r);
  assertTotals(r, 'no split');
});

test('face detector at 96: core totals = Σ spikeCost on TrueNorth (copies, split readout) and Loihi', async () => {
  const { loadModel } = await import('../src/model/load.ts');
  const { calibrate } = await import('../src/convert/calibrate.ts');
  const { convertNetwork, defaultSettings } = await import('../src/convert/convert.ts');
  const { faceSamplePhotos } = await import('../src/model/faceapi.ts');
  const { loadImage } = await import('../src/image/decode.ts');
  const { preprocess } = await import('../src/image/preprocess.ts');
  const ann = loadModel({ model: 'face', size: 96 });
  const photos = faceSamplePhotos();
  const snn = convertNetwork(ann, calibrate(ann, photos.slice(0, 1)), defaultSettings());
  const image = preprocess(ann, loadImage(photos[1]));
  for (const chip of ['truenorth', 'loihi']) {
    const r = await record(snn, image, loadChip(chip).params, 5);
    assertTotals(r, `face 96 ${chip}`);
    if (chip !== 'loihi') continue;
    // Loihi has no copies and no splits here: a conv's active updates (depthwise groups included)
    // are the simulator's active neurons, and its cores' spikes the layer's spikes
    assert.ok(snn.layers.some((l) => l.kind === 'conv' && l.groups > 1), 'has grouped convs');
    assertLayerCounts(r);
  }
});

test('link loads and NoC drain per tick = a brute-force walk of every packet of the recorded spikes', async () => {
  const { net, image } = mixedNet(13, 'analog');
  for (const [name, chip] of [['unicast', smallChip()], ['multicast f = 2', smallChip({ multicast: true, fanout: 2 })], ['multicast', smallChip({ multicast: true })]] as const) {
    const m = mapNetwork(net, chip, { autoBoard: true });
    const acct = buildAcctTables(m);
    const sim = await createSimulator(net, { seed: 1, accounting: acct });
    const tally = new NocTally(acct.routes);
    const acc = new Accountant(chip, geometryOf(m));
    const ref = new ReferenceSnn(sim.plan);
    const p = m.placement, W = p.meshWidth, f = chip.core.maxFanoutPerNeuron;
    let got: { drain: number; on: number[]; off: number[] } | null = null;
    sim.onTick((c) => {
      const rec = tally.record(c);
      got = { drain: acc.tick(rec).drainS, on: Array.from(rec.linksOn), off: Array.from(rec.linksOff) };
    });
    sim.reset(image);
    ref.reset(image, 1);
    let busy = 0;
    for (let t = 0; t < 10; t++) {
      sim.run(1);
      ref.run(1);
      // every packet of the tick, walked router by router
      const links = new Map<number, number>();
      let drain = 0;
      const packet = (from: number, dests: number[]) => {
        const seen = new Set<number>();
        for (const d of dests) {
          const sx = p.meshX[from], sy = p.meshY[from], dx = p.meshX[d], dy = p.meshY[d];
          if (p.router[from] === p.router[d]) {
            drain = Math.max(drain, packetLatencyS(chip, 0, 0, 0));
            continue;
          }
          let cross = 0;
          walkXY(chip, W, sx, sy, dx, dy, (edge, ew, crossing) => {
            if (crossing) cross++;
            const r = edge >> 1, x = r % W, y = Math.floor(r / W);
            // the directed link: from the router the packet leaves
            const id = ew ? (dx > sx ? (y * W + x) * 4 : (y * W + x + 1) * 4 + 1) : dy > sy ? (y * W + x) * 4 + 2 : ((y + 1) * W + x) * 4 + 3;
            if (seen.has(id)) return;
            seen.add(id);
            links.set(id, (links.get(id) ?? 0) + 1);
          });
          drain = Math.max(drain, packetLatencyS(chip, Math.abs(dx - sx), Math.abs(dy - sy), cross));
        }
      };
      for (let L = 0; L < net.layers.length; L++) {
        if (!acct.rows[L]) continue;
        const sp = ref.spikes(L);
        for (let e = 0; e < sp.n; e++) {
          const k = spikeCost(m, L, sp.y[e], sp.x[e], sp.c[e]);
          const dests = k.synops.map(([d]) => d);
          if (!chip.noc.multicast) for (const d of dests) packet(k.srcCore, [d]);
          else {
            const g = Number.isFinite(f) ? f : Math.max(1, dests.length);
            for (let i = 0; i < dests.length; i += g) packet(k.srcCore, dests.slice(i, i + g));
          }
          const T = m.tiled[L]!;
          if (T.split) for (let j = 0; j < T.split.m; j++) packet(partialCore(T, j, sp.y[e], sp.x[e], sp.c[e]), [k.srcCore]);
        }
      }
      const g = got as unknown as { drain: number; on: number[]; off: number[] };
      close(g.drain, drain, `${name} tick ${t + 1} drain`);
      const top = (off: boolean) =>
        [...links.entries()]
          .filter(([id]) => {
            const r = id >> 2, d = id & 3, x = r % W, y = Math.floor(r / W);
            const tx = chip.chip.tilesX, ty = chip.chip.tilesY;
            const o = d === 0 ? (x + 1) % tx === 0 : d === 1 ? x % tx === 0 : d === 2 ? (y + 1) % ty === 0 : y % ty === 0;
            return o === off;
          })
          .sort((a, b) => b[1] - a[1] || a[0] - b[0])
          .slice(0, 16)
          .flat();
      assert.equal(g.on, top(false), `${name} tick ${t + 1} on-chip links`);
      assert.equal(g.off, top(true), `${name} tick ${t + 1} off-chip links`);
      busy += links.size;
    }
    assert.ok(busy > 50, `${name}: ${busy} link-ticks`);
  }
});

test('accounting changes neither readouts nor counts', async () => {
  for (const coding of ['analog', 'poisson'] as const) {
    const { net, image } = mixedNet(21, coding);
    const chip = smallChip({ fanout: 1 });
    const r = await emulateFrames(net, chip, [image, image.map((v) => 1 - v)], { timesteps: 9, seed: 4 });
    const plain = await createSimulator(net, { seed: 4 });
    for (const [i, img] of [image, image.map((v) => 1 - v)].entries()) {
      plain.reset(img);
      plain.run(9);
      const a = plain.readout();
      r.readouts[i].forEach((x, h) => assert.equal(new Uint32Array(x.buffer), new Uint32Array(a[h].buffer), `${coding} frame ${i} head ${h}`));
      const c = plain.counts();
      assert.is(r.perFrame[i].network!.sops, c.totals.sops);
      assert.is(r.perFrame[i].network!.spikes, c.totals.posSpikes + c.totals.negSpikes);
    }
    // and the simulator with a mapping counts what the one without counts
    const withMap = await createSimulator(net, { seed: 4, mapping: r.mapping });
    withMap.reset(image);
    withMap.run(9);
    plain.reset(image);
    plain.run(9);
    assert.equal(JSON.stringify(withMap.counts(), (_k, v) => (v instanceof Float64Array ? Array.from(v) : v)), JSON.stringify(plain.counts(), (_k, v) => (v instanceof Float64Array ? Array.from(v) : v)));
  }
});

test('a mapping of another network, or the reference engine, is refused', async () => {
  const { net } = mixedNet(1, 'analog');
  const m = mapNetwork(toyNet(), toyChip(), { placement: 'layers' });
  await createSimulator(net, { mapping: m }).then(() => assert.unreachable('accepted'), (e) => assert.match((e as Error).message, /another network/));
  await createSimulator(toyNet(), { mapping: m, engine: 'reference' }).then(() => assert.unreachable('accepted'), (e) => assert.match((e as Error).message, /wasm engine/));
  const plain = await createSimulator(toyNet());
  assert.throws(() => plain.onTick(() => {}), /without a mapping/);
  // geometry of the run
  assert.is(geometryOf(m).tilesUsed, 4);
});

/** The face detector at 128, calibrated on face-api sample photo i, and that photo's input. */
async function face128(i: number): Promise<{ snn: SnnNetwork; input: Float32Array }> {
  const { faceSamplePhotos } = await import('../src/model/faceapi.ts');
  const { calibrateModel, convertCalibrated } = await import('../src/convert/from-model.ts');
  const { loadImage } = await import('../src/image/decode.ts');
  const { preprocess } = await import('../src/image/preprocess.ts');
  const photo = faceSamplePhotos()[i];
  const snn = convertCalibrated(calibrateModel({ model: 'face', size: 128 }, { calib: [photo] })).snn;
  return { snn, input: preprocess(snn.ann, loadImage(photo)) };
}

test('the core\'s NoC tally (tallyNoc) gives the host\'s NocTally records tick by tick: dense (TrueNorth) and sparse (Loihi) route counts', async () => {
  const { snn, input } = await face128(0);
  for (const name of ['truenorth', 'loihi']) {
    const tables = buildAcctTables(mapNetwork(snn, loadChip(name).params, { autoBoard: true }));
    const records = async (nocInCore: boolean) => {
      const sim = await createSimulator(snn, { seed: 1, accounting: tables, layerDelay: 1, nocInCore });
      const tally = new NocTally(tables.routes);
      const out: { drain: number[]; on: number[]; off: number[]; total: number; dense: boolean }[] = [];
      sim.onTick((c) => {
        const r = tally.record(c);
        out.push({ drain: [...r.drain], on: [...r.linksOn], off: [...r.linksOff], total: tally.lastLinkPackets, dense: !!c.routeDense });
      });
      sim.reset(input);
      sim.run(12);
      return out;
    };
    const core = await records(true), host = await records(false);
    assert.is(core.length, host.length);
    assert.ok(host.some((r) => r.on.length > 0 && r.drain.length > 0), `${name}: links were loaded`);
    if (name === 'truenorth') assert.ok(host.some((r) => r.dense), 'truenorth: the dense route counts were used');
    if (name === 'loihi') assert.ok(host.some((r) => !r.dense && r.on.length > 0), 'loihi: the touched list was used');
    for (let t = 0; t < core.length; t++) {
      const { dense: _a, ...c } = core[t], { dense: _b, ...h } = host[t];
      assert.equal(c, h, `${name} tick ${t + 1}`);
    }
  }
});

test('a spike\'s cost record added at the spike, at the end of the tick, or chosen per source: the same counters and link loads tick by tick (TrueNorth, Loihi)', async () => {
  const { snn, input } = await face128(1);
  for (const name of ['truenorth', 'loihi']) {
    const tables = buildAcctTables(mapNetwork(snn, loadChip(name).params, { autoBoard: true }));
    const ticks = async (recordsAt: 'auto' | 'tick' | 'spike') => {
      const sim = await createSimulator(snn, { seed: 1, accounting: tables, layerDelay: 1, recordsAt });
      const tally = new NocTally(tables.routes);
      const out: string[] = [];
      sim.onTick((c) => {
        const r = tally.record(c);
        out.push(JSON.stringify([Array.from(c.core), Array.from(r.drain), Array.from(r.linksOn), Array.from(r.linksOff), tally.lastLinkPackets]));
      });
      sim.reset(input);
      sim.run(40);
      return out;
    };
    const atTick = await ticks('tick'), atSpike = await ticks('spike'), auto = await ticks('auto');
    assert.ok(atTick.length >= 40);
    assert.ok(atTick.some((t) => JSON.parse(t)[0].some((v: number) => v > 0)), `${name}: counters were non-zero`);
    for (let t = 0; t < atTick.length; t++) {
      assert.ok(atSpike[t] === atTick[t], `${name} tick ${t + 1}: at the spike`);
      assert.ok(auto[t] === atTick[t], `${name} tick ${t + 1}: auto`);
    }
  }
});

/** Everything a tick leaves, as bytes: counts, readouts, every conv layer's membranes, every layer's spike list. */
function snapshot(sim: import('../src/sim/simulator.ts').AccountingSimulator): string {
  const f64 = (_k: string, v: unknown) => (v instanceof Float64Array ? Array.from(v) : v);
  const core = sim.core as import('../src/sim/wasm.ts').WasmSnn;
  const parts: unknown[] = [JSON.stringify(sim.counts(), f64), sim.readout().map((r) => Array.from(r))];
  sim.net.layers.forEach((l, i) => {
    if (l.kind === 'conv') parts.push(Array.from(sim.membrane(i)));
    parts.push(Array.from(core.spikeCodes(i)));
  });
  return JSON.stringify(parts);
}

test('the core\'s per-core tally (tallyCores) gives the Accountant\'s own loop bit for bit: every tick, two frames, the run\'s per-core totals (TrueNorth, Loihi, overlapping stages), and the same error for a core over its neurons', async () => {
  const { snn, input } = await face128(3);
  const loihi = loadChip('loihi').params;
  const chips: [string, ChipParams][] = [['truenorth', loadChip('truenorth').params], ['loihi', loihi], ['loihi overlap', { ...loihi, timing: { ...loihi.timing, coreWork: 'overlap' } }]];
  for (const [name, chip] of chips) {
    const m = mapNetwork(snn, chip, { autoBoard: true });
    const tables = buildAcctTables(m);
    const sim = await createSimulator(snn, { seed: 1, accounting: tables, layerDelay: 1 });
    const geo = geometryOf(m);
    const tally = sim.coreTally();
    const inCore = new Accountant(chip, geo, { coreTally: tally }), onHost = new Accountant(chip, geo);
    const noc = new NocTally(tables.routes);
    let ticks = 0;
    sim.onTick((c) => {
      const rec = noc.record(c);
      assert.ok(tally.reads(rec.core), `${name}: the tally reads the live counters`);
      assert.equal(inCore.tick(rec), onHost.tick(rec), `${name} tick ${++ticks}`);
    });
    for (let frame = 0; frame < 2; frame++) {
      sim.reset(input);
      sim.run(10);
      assert.equal(inCore.endFrame(), onHost.endFrame(), `${name} frame ${frame}`);
    }
    const a = inCore.state(), b = onHost.state();
    assert.ok(b.coreTot.some((v) => v > 0) && b.coreMaxBusy.some((v) => v > 0), `${name}: events were counted`);
    assert.equal([...a.coreTot], [...b.coreTot], `${name}: per-core totals`);
    assert.equal([...a.coreMaxBusy], [...b.coreMaxBusy], `${name}: busiest ticks`);
    assert.equal(inCore.result({ timesteps: 10 }), onHost.result({ timesteps: 10 }), `${name}: result`);
    assert.ok(!tally.reads(new Int32Array(geo.cores * CORE_KINDS)), 'another array is not the core\'s');
    if (name !== 'truenorth') continue;
    // a core with more active updates than neurons: the same error from both
    const few = { ...geo, coreNeurons: new Int32Array(geo.cores) };
    const A = new Accountant(chip, few, { coreTally: sim.coreTally() }), B = new Accountant(chip, few);
    const errs: string[] = [];
    sim.onTick((c) => {
      const rec = noc.record(c);
      for (const acc of [A, B]) {
        try {
          acc.tick(rec);
          errs.push('none');
        } catch (e) {
          errs.push((e as Error).message);
        }
      }
    });
    sim.reset(input);
    sim.run(3);
    assert.ok(/^core \d+: \d+ active neuron updates, but the core has 0 neurons$/.test(errs[errs.length - 1]), errs[errs.length - 1]);
    for (let i = 0; i < errs.length; i += 2) assert.is(errs[i], errs[i + 1], `tick ${i / 2 + 1}`);
  }
});

test('two threads per tick give the one-thread tick bit for bit: state, counts, spike lists and per-core counters, tick by tick (route, upsample, Poisson, analog; TrueNorth, Loihi)', async () => {
  // a network with route and upsample layers, both input codings, two frames
  for (const coding of ['analog', 'poisson'] as const) {
    const { net, image } = mixedNet(coding === 'analog' ? 11 : 12, coding);
    const m = mapNetwork(net, smallChip(), { autoBoard: true });
    const tables = buildAcctTables(m);
    for (const accounting of [undefined, tables]) {
      const runOf = async (threads: number) => {
        const sim = await createSimulator(net, { seed: 3, layerDelay: 1, accounting, threads });
        const out: string[] = [];
        if (accounting) sim.onTick((c) => out.push(JSON.stringify([Array.from(c.core), c.noc ? [Array.from(c.noc.usedShapes).sort((a, b) => a - b), Array.from(c.noc.linksOn), Array.from(c.noc.linksOff), c.noc.linkPackets] : null])));
        for (const frame of [image, image.map((v) => 1 - v)]) {
          sim.reset(frame);
          for (let t = 0; t < 12; t++) {
            sim.run(1);
            out.push(snapshot(sim));
          }
        }
        sim.close();
        return out;
      };
      const one = await runOf(1), two = await runOf(2);
      assert.is(two.length, one.length);
      assert.ok(one.some((t) => /[1-9]/.test(t)), 'something happened');
      for (let t = 0; t < one.length; t++) assert.ok(two[t] === one[t], `${coding}${accounting ? ' with accounting' : ''}: step ${t + 1}`);
    }
  }
  // the face detector on the chips' mappings
  const { snn, input } = await face128(2);
  for (const name of ['truenorth', 'loihi']) {
    const tables = buildAcctTables(mapNetwork(snn, loadChip(name).params, { autoBoard: true }));
    const runOf = async (threads: number) => {
      const sim = await createSimulator(snn, { seed: 1, accounting: tables, layerDelay: 1, threads });
      const out: string[] = [];
      const tally = new NocTally(tables.routes);
      sim.onTick((c) => {
        const r = tally.record(c);
        out.push(JSON.stringify([Array.from(c.core), Array.from(r.drain), Array.from(r.linksOn), Array.from(r.linksOff)]));
      });
      sim.reset(input);
      sim.run(30);
      out.push(snapshot(sim));
      sim.close();
      return out;
    };
    const one = await runOf(1), two = await runOf(2);
    assert.is(two.length, one.length);
    for (let t = 0; t < one.length; t++) assert.ok(two[t] === one[t], `${name} tick ${t + 1}`);
  }
});

test.run();
