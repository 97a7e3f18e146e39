// The closed-form energy, power and timing models against published points (FACTS.md §2–§3)
// and hand computations. Every expected number below comes from a paper (via FACTS.md) or from
// arithmetic written out here, never from a previous run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadChip } from '../src/hw/chip-schema.ts';
import {
  ANN_BASELINES,
  annBaselineJ,
  barrierS,
  busyS,
  energyJ,
  fitAffine,
  GPU_BASELINE_NOTE,
  odinPowerW,
  packetLatencyS,
  powerW,
  spinnakerChipPowerW,
  tickTime,
  truenorthAffinePowerW,
  ZERO_COUNTS,
  type EventCounts,
} from '../src/hw/power.ts';

const rel = (got: number, want: number) => (got - want) / want;
const close = (got: number, want: number, tol: number, what: string) =>
  assert.ok(Math.abs(rel(got, want)) <= tol, `${what}: got ${got}, want ${want} (error ${(rel(got, want) * 100).toFixed(3)} %, tolerance ${tol * 100} %)`);
const counts = (c: Partial<EventCounts>): EventCounts => ({ ...ZERO_COUNTS, ...c });

// ---------------------------------------------------------------------------------------------
// TrueNorth: A15 Fig. 17, 0.8 V sweep: 68 / 71 / 94 mW at 11.58 / 20.07 / 95.93 Hz.
// Assumption (documented in chips/truenorth.json and chips/README.md): r_SOP = rate × neurons ×
// active synapses per neuron = rate × 4096·256 × 128, the operating point of M14's 26 pJ figure.
const A15_SWEEP: [number, number][] = [
  [11.58, 68],
  [20.07, 71],
  [95.93, 94],
];
const TN_NEURONS = 4096 * 256;
const TN_SYN = 128;

test('TrueNorth affine model reproduces the three points of the A15 Fig. 17 sweep within 1 %', () => {
  const tn = loadChip('truenorth');
  assert.is(tn.params.power.kind, 'truenorth_affine');
  const pm = tn.spec.energy.power_model;
  assert.ok(pm.kind === 'truenorth_affine');
  // the file records the same published points and sweep conditions
  assert.equal(pm.sweep_rate_hz_power_mW?.value, A15_SWEEP);
  assert.is(pm.sweep_neurons?.value, TN_NEURONS);
  assert.is(pm.sweep_synapses_per_neuron?.value, TN_SYN);
  const errors: number[] = [];
  for (const [rateHz, mW] of A15_SWEEP) {
    const rSop = rateHz * TN_NEURONS * TN_SYN;
    // the full energy path: one chip, one second, r_SOP synaptic operations
    const p = powerW(tn.params, counts({ synops: rSop }), 4096, 1);
    close(p * 1e3, mW, 0.01, `TrueNorth at ${rateHz} Hz`);
    errors.push(rel(p * 1e3, mW));
  }
  // the held-out middle point: SC reports -0.54 %
  assert.ok(Math.abs(errors[1] - -0.0054) < 0.0005, `held-out error ${errors[1]}`);
  // the two fitted ends are reproduced to rounding
  assert.ok(Math.abs(errors[0]) < 1e-4 && Math.abs(errors[2]) < 1e-4, String(errors));
});

test('TrueNorth: refitting the two end points of the sweep gives the file\'s 64.43 mW and 2.297 pJ', () => {
  const tn = loadChip('truenorth').params;
  assert.ok(tn.power.kind === 'truenorth_affine');
  const pt = ([hz, mW]: [number, number]): [number, number] => [hz * TN_NEURONS * TN_SYN, mW * 1e-3];
  const fit = fitAffine(pt(A15_SWEEP[0]), pt(A15_SWEEP[2]));
  close(fit.p0, tn.power.p0W, 1e-4, 'intercept');
  close(fit.slope, tn.power.sopJ, 1e-3, 'slope');
  close(truenorthAffinePowerW(tn.power.p0W, tn.power.sopJ, 20.07 * TN_NEURONS * TN_SYN), 0.071, 0.01, 'closed form at 20.07 Hz');
});

test('TrueNorth: 26 pJ is all-in (72 mW at 20 Hz) and errs by -41 % / +256 % as a marginal constant', () => {
  // the operating point of M14's 26 pJ: 72 mW at 20 Hz with 128 active synapses
  close(0.072 / (20 * TN_NEURONS * TN_SYN), 26e-12, 0.035, 'all-in energy per SOP at the 26 pJ operating point');
  const naive = loadChip('truenorth@allin26').params;
  assert.is(naive.power.kind, 'per_event');
  const at = (hz: number) => powerW(naive, counts({ synops: hz * TN_NEURONS * TN_SYN }), 4096, 1) * 1e3;
  close(rel(at(11.58), 68), -0.41, 0.02, 'error at 11.58 Hz');
  close(rel(at(95.93), 94), 2.56, 0.01, 'error at 95.93 Hz');
});

test('TrueNorth affine pricing charges P0 per chip, SOPs at 2.297 pJ, chip crossings at 26 pJ/bit, no hops', () => {
  const tn = loadChip('truenorth').params;
  const e = energyJ(tn, counts({ synops: 1e6, hopsEW: 500, hopsNS: 300, chipCrossings: 10, neuronUpdatesIdle: 1e5 }), { wallS: 0.01, coresUsed: 100, chipsUsed: 2 });
  close(e.synaptic, 1e6 * 2.297e-12, 1e-12, 'synaptic');
  close(e.offchip, 10 * 26e-12 * 32, 1e-12, 'chip crossings: 26 pJ/bit x 32 bits');
  close(e.static, 0.06443 * 2 * 0.01, 1e-12, 'static');
  assert.is(e.routing, 0);
  assert.is(e.neuron, 0);
  close(e.total, e.synaptic + e.offchip + e.static, 1e-12, 'total');
});

// ---------------------------------------------------------------------------------------------
// Loihi: D18 Table 2 (pre-silicon, 0.75 V)

test('Loihi per-operation figures in loihi.json are D18 Table 2', () => {
  const l = loadChip('loihi');
  const e = l.spec.energy;
  const t = l.spec.timing;
  assert.is(e.synop_pJ.value, 23.6);
  assert.is(e.learn_pJ.value, 120);
  assert.is(e.neuron_update_active_pJ.value, 81);
  assert.is(e.neuron_update_idle_pJ.value, 52);
  assert.is(e.hop_tile_pJ.value, 1.7);
  assert.is(e.hop_ew_pJ.value, 3.0);
  assert.is(e.hop_ns_pJ.value, 4.0);
  assert.is(t.synop_ns?.value, 3.5);
  assert.is(t.learn_ns?.value, 6.1);
  assert.is(t.neuron_update_active_ns?.value, 8.4);
  assert.is(t.neuron_update_idle_ns?.value, 5.3);
  assert.is(t.hop_tile_ns?.value, 2.1);
  assert.is(t.hop_ew_ns?.value, 4.1);
  assert.is(t.hop_ns_ns?.value, 6.5);
  assert.ok(t.tick.rule === 'barrier');
  assert.equal(t.tick.barrier_tiles_ns?.value, [
    [1, 113],
    [32, 465],
  ]);
  for (const f of [e.synop_pJ, e.neuron_update_active_pJ, e.hop_ew_pJ, t.synop_ns!]) {
    assert.match(f.source, /^D18 Table 2/);
    assert.is(f.tag, 'P*');
  }
  assert.match(l.spec.model_notes ?? '', /pre-silicon/);
  // and in SI in the flat view
  close(l.params.energy.synopJ, 23.6e-12, 1e-12, 'synopJ');
  close(l.params.timing.eventS.neuron_update_idle, 5.3e-9, 1e-12, 'idle update time');
  assert.is(l.params.chip.coresPerTile, 4);
  assert.is(l.params.chip.tilesX * l.params.chip.tilesY * l.params.chip.coresPerTile, 128);
});

test('Loihi per-event energy of a hand-worked tick (FACTS §3.1 term by term)', () => {
  const l = loadChip('loihi').params;
  const c = counts({ synops: 1000, neuronUpdatesActive: 100, neuronUpdatesIdle: 924, spikesOut: 10, packets: 10, hopsTile: 4, hopsEW: 6, hopsNS: 3, chipCrossings: 1 });
  const e = energyJ(l, c, { wallS: 1e-6, coresUsed: 1, chipsUsed: 1 });
  // by hand, in pJ: 1000×23.6; 100×81 + 924×52; 4×1.7 + 6×3.0 + 3×4.0; 1×832; 0.104 W × 1 µs
  close(e.synaptic * 1e12, 23600, 1e-9, 'synaptic');
  close(e.neuron * 1e12, 8100 + 48048, 1e-9, 'neuron');
  assert.is(e.spike, 0);
  close(e.routing * 1e12, 6.8 + 18 + 12, 1e-9, 'routing');
  close(e.offchip * 1e12, 832, 1e-9, 'offchip');
  close(e.static * 1e12, 104000, 1e-9, 'static');
  close(e.total * 1e12, 23600 + 56148 + 36.8 + 832 + 104000, 1e-9, 'total');
});

test('Loihi timing: Table 2 barrier at 1 and 32 tiles, F20 multi-chip barriers, step and throttle', () => {
  const l = loadChip('loihi').params;
  close(barrierS(l, 1), 113e-9, 1e-9, '1 tile');
  close(barrierS(l, 32), 465e-9, 1e-9, '32 tiles');
  close(barrierS(l, 16.5), (113e-9 + 465e-9) / 2, 1e-9, 'midpoint');
  close(barrierS(l, 32, 256), 14.3e-6, 1e-9, '256 chips');
  close(barrierS(l, 32, 768), 16.2e-6, 1e-9, '768 chips');
  // 2 chips: one eighth of the way (in log2) from the one-chip 465 ns to 14.3 µs at 256 chips
  close(barrierS(l, 32, 2), 465e-9 + (14.3e-6 - 465e-9) / 8, 1e-9, '2 chips');
  const busy = busyS(l, counts({ synops: 100, neuronUpdatesActive: 10, neuronUpdatesIdle: 1014 }));
  close(busy, 100 * 3.5e-9 + 10 * 8.4e-9 + 1014 * 5.3e-9, 1e-12, 'core busy time');
  const t = tickTime(l, busy, 20e-9, 32);
  close(t.stepS, busy + 20e-9 + 465e-9, 1e-12, 'barrier step');
  assert.is(t.tickS, t.stepS);
  assert.not.ok(t.overrun);
  const rt = loadChip('loihi@realtime').params;
  assert.is(tickTime(rt, busy, 0, 32).tickS, 1e-3);
  close(packetLatencyS(l, 3, 2, 0), 3 * 4.1e-9 + 2 * 6.5e-9, 1e-12, 'packet latency');
  close(packetLatencyS(l, 0, 0, 0), 2.1e-9, 1e-12, 'in-tile latency');
});

test('Loihi SANA-FE variant carries the silicon-calibrated figures', () => {
  const s = loadChip('loihi@sana-fe');
  assert.is(s.spec.energy.synop_pJ.value, 24.0);
  assert.is(s.spec.energy.spike_out_pJ.value, 69.3);
  assert.is(s.spec.energy.hop_ns_pJ.value, 4.2);
  close(s.spec.energy.neuron_update_active_pJ.value, 51.2 + 21.6, 1e-12, "SANA-FE access + update");
  close(barrierS(s.params, 1), 0.6e-6, 1e-9, 'SANA-FE 1-tile sync');
  close(barrierS(s.params, 29), 1.8e-6, 1e-9, 'SANA-FE 29-tile sync');
  // the Table 2 figures it does not override stay
  assert.is(s.spec.energy.hop_ew_pJ.value, 3.0);
});

test('fixed-tick chips overrun when the step exceeds the period', () => {
  const tn = loadChip('truenorth').params;
  const ok = tickTime(tn, 0.5e-3, 0, 4096);
  assert.equal([ok.tickS, ok.overrun], [1e-3, false]);
  const slow = tickTime(tn, 1.2e-3, 0.1e-3, 4096);
  assert.ok(slow.overrun);
  close(slow.tickS, 1.3e-3, 1e-12, 'overrun wall time = step');
});

// ---------------------------------------------------------------------------------------------
// ODIN: P = P_leak + P_idle·f + E_SOP·r; 477 µW measured at 75 MHz; 12.7 pJ global vs 8.43 incremental

test('ODIN power model gives the measured 477 µW at 75 MHz at full SOP load (r = f/2)', () => {
  const o = loadChip('odin');
  const p = o.params;
  assert.ok(p.power.kind === 'odin');
  assert.is(p.timing.clockHz, 75e6);
  // an SOP takes 2 cycles (doc/README: a spike event is 1 + 512 cycles for 256 synapses), so the
  // largest SOP rate is f/2 = 37.5 MSOP/s: the load at which the power was measured
  const rSop = 1 / p.timing.eventS.synop;
  close(rSop, 37.5e6, 1e-12, 'r_SOP = f/2');
  const w = powerW(p, counts({ synops: rSop }), 1, 1);
  close(w, 477e-6, 0.01, 'ODIN power at 75 MHz');
  close(w, p.power.measuredPowerW!, 0.01, 'against the figure in odin.json');
  close(odinPowerW(27.3e-6, 1.78e-12, 8.43e-12, 75e6, 37.5e6), 476.925e-6, 1e-9, 'closed form by hand');
  // global = all-in per SOP at that load; incremental = the marginal 8.43 pJ
  const globalJ = w / rSop;
  close(globalJ, 12.7e-12, 0.005, 'global energy per SOP');
  close(globalJ, p.power.globalSopJ!, 0.005, 'against the global figure in odin.json');
  close(p.power.sopJ, 8.43e-12, 1e-12, 'incremental');
  // the difference between the two is exactly the leakage and idle power spread over the SOPs
  close((globalJ - p.power.sopJ) * rSop, p.power.pLeakW + p.power.pIdleWPerHz * 75e6, 1e-9, 'global - incremental');
  // and a 256-synapse spike event takes 1 + 512 cycles
  close(busyS(p, counts({ synops: 256, packets: 1 })) * 75e6, 513, 1e-9, 'cycles per neuron spike event');
});

// ---------------------------------------------------------------------------------------------
// SpiNNaker: FEC: 0.36 W idle, 1 W with 18 cores busy, 0.8 nJ per packet per router

test('SpiNNaker model: 0.36 W idle and 1 W at full load per chip, 0.8 nJ per packet per router', () => {
  const s = loadChip('spinnaker').params;
  assert.ok(s.power.kind === 'spinnaker');
  close(powerW(s, ZERO_COUNTS, 16, 1, 0), 0.36, 1e-9, 'idle chip');
  // all 18 cores (16 application + monitor + spare) busy for the whole second
  close(powerW(s, ZERO_COUNTS, 18, 1, 1), 1.0, 1e-9, 'full chip');
  close(spinnakerChipPowerW(0.36, 1.0, 0.5), 0.68, 1e-12, 'half busy');
  // a packet from chip A to chip C two hops away passes three routers: 3 × 0.8 nJ
  const e = energyJ(s, counts({ packets: 1, hopsEW: 2, chipCrossings: 2 }), { wallS: 0, coresUsed: 0, chipsUsed: 0 });
  close(e.routing + e.offchip, 2.4e-9, 1e-12, 'three router passes');
  // the busy time of the events is charged at (1 - 0.36)/18 W and split by kind
  const c = counts({ synops: 1000, neuronUpdatesIdle: 255 });
  const b = energyJ(s, c, { wallS: 1e-3, coresUsed: 1, chipsUsed: 1 });
  const busy = 1000 * 75 / 200e6 + 255 * 146 / 200e6;
  close(b.synaptic + b.neuron, busy * 0.64 / 18, 1e-9, 'active-core energy');
  close(b.synaptic / b.neuron, (1000 * 75) / (255 * 146), 1e-9, 'split by busy time');
  close(b.static, 0.36e-3, 1e-9, 'idle chip over 1 ms');
});

// ---------------------------------------------------------------------------------------------
// ANN baselines (FACTS §3.5)

/** Tiny YOLO v2 VOC MACs from the layer table of FACTS §1.6, computed here from shapes. */
function tinyYoloMacs(): number {
  const convs: [number, number, number, number][] = [
    // [output side, k, C_in, C_out], pad 1 stride 1: output side = input side
    [416, 3, 3, 16],
    [208, 3, 16, 32],
    [104, 3, 32, 64],
    [52, 3, 64, 128],
    [26, 3, 128, 256],
    [13, 3, 256, 512],
    [13, 3, 512, 1024],
    [13, 3, 1024, 1024],
    [13, 1, 1024, 125],
  ];
  return convs.reduce((s, [n, k, ci, co]) => s + n * n * k * k * ci * co, 0);
}

test('ANN baseline: Tiny YOLO 3.4855e9 MACs × 4.6 pJ ≈ 16.0 mJ (fp32), 11.2 mJ (int32), 0.80 mJ (int8)', () => {
  const macs = tinyYoloMacs();
  assert.is(macs, 3_485_520_896);
  const fp32 = annBaselineJ(macs, 'fp32-45nm');
  assert.is(fp32.perMacPj, 3.7 + 0.9);
  close(fp32.energyJ, 16.0e-3, 0.005, 'fp32');
  close(annBaselineJ(macs, 'int32-45nm').energyJ, 11.2e-3, 0.005, 'int32');
  close(annBaselineJ(macs, 'int8-45nm').energyJ, 0.80e-3, 0.005, 'int8');
  assert.is(ANN_BASELINES['int8-45nm'].multPj, 0.2);
  assert.is(ANN_BASELINES['int8-45nm'].addPj, 0.03);
  assert.throws(() => annBaselineJ(1, 'gpu'), /unknown ANN baseline "gpu"/);
});

test('no GPU baseline without a sourced figure', () => {
  assert.not.ok(Object.keys(ANN_BASELINES).some((k) => /gpu/i.test(k)));
  assert.match(GPU_BASELINE_NOTE, /no GPU baseline/);
});

test.run();
