/**
 * Single neurons of the SNN core against closed forms, in both engines (WASM and the plain-TS
 * reference). Each neuron is one channel of a depthwise 1×1 conv (weight 1, bias 0) reading a
 * 1×1 analog image, so its input current is exactly the channel's pixel z every tick, and the
 * per-channel spike counts are per-neuron counts.
 *
 * Independent truths: floor(zT/vth) (IF, reset by subtraction), floor(|z|T/vthNeg) (IBT's negative
 * side), floor(T / ceil(vth/z)) (reset to zero: periodic firing), a float32 hand loop where z is
 * not dyadic, V/t = z for the integrating neuron, and rate·vth → α·z (leaky ReLU).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ResetMode, SpikeRule } from '../src/convert/snn-ir.ts';
import { convLayer, makeSnn } from '../src/sim/handmade.ts';
import { createSimulator, type SnnEngineKind } from '../src/sim/simulator.ts';

const ENGINES: SnnEngineKind[] = ['wasm', 'reference'];

interface NeuronRun {
  pos: number[];
  neg: number[];
  readout: Float32Array;
  membrane: Float32Array;
}

/** One neuron per z, each driven by the constant current z for T ticks. */
async function neurons(engine: SnnEngineKind, zs: number[], T: number, rule: SpikeRule, reset: ResetMode, vthPos = 1, vthNeg?: number, lambda = 1, burst = 1): Promise<NeuronRun> {
  const n = zs.length;
  const input = { c: n, h: 1, w: 1 };
  const layer = convLayer(0, -1, input, {
    filters: n, size: 1, groups: n, rule, reset, vthPos, vthNeg,
    weights: new Float32Array(n).fill(1), lambda: new Float32Array(n).fill(lambda),
  });
  const sim = await createSimulator(makeSnn(input, [layer], [0], burst > 1 ? { burst } : {}), { engine, seed: 7 });
  sim.reset(Float32Array.from(zs));
  sim.run(T);
  assert.is(sim.tick, T);
  const c = sim.counts();
  return { pos: Array.from(c.layers[0].posSpikes), neg: Array.from(c.layers[0].negSpikes), readout: sim.readout()[0], membrane: sim.membrane(0) };
}

/** float32 hand simulation of one neuron (the brief's definition, written out again) */
function handLoop(z: number, T: number, rule: SpikeRule, reset: ResetMode, vthPos: number, vthNeg: number, burst = 1): { pos: number; neg: number; v: number } {
  const f = Math.fround;
  let v = 0, pos = 0, neg = 0;
  const zf = f(z);
  for (let t = 0; t < T; t++) {
    v = f(v + zf);
    if (rule === 'integrate') continue;
    // burst spikes: keep firing while the membrane still crosses, at most `burst` times a tick
    let n = 0;
    if (v >= f(vthPos)) {
      while (n < burst && v >= f(vthPos)) {
        pos++;
        n++;
        v = f(v - f(vthPos));
      }
      if (reset === 'zero') v = 0;
    } else if (rule !== 'if' && v <= -f(vthNeg)) {
      while (n < burst && v <= -f(vthNeg)) {
        neg++;
        n++;
        v = f(v + f(vthNeg));
      }
      if (reset === 'zero') v = 0;
    }
  }
  return { pos, neg, v };
}

for (const engine of ENGINES) {
  test(`${engine}: IF, reset by subtraction: spike count = floor(zT/vth)`, async () => {
    const T = 1000;
    // dyadic z: the membrane is exact in float32, so the closed form holds exactly
    const zs = [0.375, 0.125, 65 / 128, 1, 0, -0.5, 3 / 1024];
    const r = await neurons(engine, zs, T, 'if', 'subtract');
    zs.forEach((z, i) => {
      assert.is(r.pos[i], Math.max(0, Math.floor((z * T) / 1)), `z=${z}`);
      assert.is(r.neg[i], 0, `IF never fires −1 (z=${z})`);
    });
    // vth ≠ 1 (z < vth: above it the neuron saturates at one spike per tick)
    const r2 = await neurons(engine, [0.375, 0.25, 0.75], T, 'if', 'subtract', 0.5);
    assert.equal(r2.pos, [Math.floor((0.375 * T) / 0.5), Math.floor((0.25 * T) / 0.5), T]);
  });

  test(`${engine}: IF with non-dyadic z matches a float32 hand loop and floor(zT/vth) ± 1`, async () => {
    const T = 2000;
    const zs = [0.3, 0.1, 0.7, 0.33333334, 0.9];
    const r = await neurons(engine, zs, T, 'if', 'subtract');
    zs.forEach((z, i) => {
      const h = handLoop(z, T, 'if', 'subtract', 1, Infinity);
      assert.is(r.pos[i], h.pos, `z=${z}: hand loop`);
      assert.ok(Math.abs(r.pos[i] - Math.floor(z * T)) <= 1, `z=${z}: ${r.pos[i]} vs floor(zT) ${Math.floor(z * T)}`);
      assert.is(r.membrane[i], Math.fround(h.v), `z=${z}: residual membrane`);
    });
  });

  test(`${engine}: IBT: −1 spikes = floor(|z|T/(vth/α)), +1 spikes as IF`, async () => {
    const T = 1000;
    const zs = [-0.375, -2.5, -0.0625, 0.375, -10];
    const r = await neurons(engine, zs, T, 'ibt', 'subtract', 1, 10); // α = 0.1
    zs.forEach((z, i) => {
      if (z < 0) {
        assert.is(r.neg[i], Math.floor((-z * T) / 10), `z=${z}: −1 spikes`);
        assert.is(r.pos[i], 0, `z=${z}: no +1 spikes`);
      } else {
        assert.is(r.pos[i], Math.floor(z * T), `z=${z}: +1 spikes`);
        assert.is(r.neg[i], 0);
      }
    });
    // α = 0.25: vthNeg = 4
    const r2 = await neurons(engine, [-0.375, -1.5], T, 'ibt', 'subtract', 1, 4);
    assert.equal(r2.neg, [Math.floor(375 / 4), Math.floor(1500 / 4)]);
  });

  test(`${engine}: reset to zero: one spike every ceil(vth/z) ticks`, async () => {
    const T = 1000;
    const zs = [0.375, 0.25, 0.3, 0.6, 1, 0.0625];
    const r = await neurons(engine, zs, T, 'if', 'zero');
    zs.forEach((z, i) => {
      // float32 accumulation of z: the k-th partial sum, first k with sum ≥ 1 is the period
      let v = 0, period = 0;
      do {
        v = Math.fround(v + Math.fround(z));
        period++;
      } while (v < 1);
      assert.is(period, Math.ceil(1 / z), `z=${z}: float32 period equals ceil(vth/z)`);
      assert.is(r.pos[i], Math.floor(T / period), `z=${z}`);
    });
    const rn = await neurons(engine, [-2.5, -3], T, 'ibt', 'zero', 1, 10);
    assert.equal(rn.neg, [Math.floor(T / Math.ceil(10 / 2.5)), Math.floor(T / Math.ceil(10 / 3))]);
    assert.equal(rn.pos, [0, 0]);
  });

  test(`${engine}: burst spikes: floor(zT/vth) up to burst·vth per tick, burst·T beyond; −1 side alike; zero reset min(burst, floor(z/vth)) a tick`, async () => {
    const T = 1000;
    // dyadic z in one vector of lanes: below 1 (one spike at most: as without burst), between 1 and
    // burst·vth (the neuron keeps up: floor(zT)), above it (saturated at burst spikes a tick)
    const zs = [0.375, 2.5, 3, 1.25, 3.5, 0, 7.75, 0.5];
    for (const burst of [2, 3]) {
      const r = await neurons(engine, zs, T, 'ibt', 'subtract', 1, 1, 1, burst);
      zs.forEach((z, i) => {
        assert.is(r.pos[i], z <= burst ? Math.floor(z * T) : burst * T, `burst ${burst} z=${z}: +1 spikes`);
        assert.is(r.neg[i], 0);
        // saturated: the membrane holds what was not sent, (z − burst)·T plus the start-up residue
        if (z > burst) assert.is(r.membrane[i], z * T - burst * T, `burst ${burst} z=${z}: membrane`);
      });
      const rn = await neurons(engine, zs.map((z) => -z), T, 'ibt', 'subtract', 1, 2, 1, burst); // vthNeg 2
      zs.forEach((z, i) => assert.is(rn.neg[i], z <= 2 * burst ? Math.floor((z * T) / 2) : burst * T, `burst ${burst} z=−${z}: −1 spikes`));
      const rz = await neurons(engine, zs, T, 'if', 'zero', 1, undefined, 1, burst);
      zs.forEach((z, i) => {
        if (z >= 1) assert.is(rz.pos[i], T * Math.min(burst, Math.floor(z)), `zero reset, burst ${burst} z=${z}`);
      });
    }
    // non-dyadic z: the float32 hand loop, spike for spike and the residual membrane
    const zn = [0.3, 1.7, 2.3333333, 0.9, 5.1, -1.3, -4.7, 2.05];
    const r = await neurons(engine, zn, 2000, 'ibt', 'subtract', 0.75, 1.5, 1, 3);
    zn.forEach((z, i) => {
      const h = handLoop(z, 2000, 'ibt', 'subtract', 0.75, 1.5, 3);
      assert.is(r.pos[i], h.pos, `z=${z}: +1`);
      assert.is(r.neg[i], h.neg, `z=${z}: −1`);
      assert.is(r.membrane[i], Math.fround(h.v), `z=${z}: membrane`);
    });
  });

  test(`${engine}: integrate never fires and reads out V/t·λ = z·λ exactly`, async () => {
    const zs = [0.375, -1.25, 0, 7.5];
    for (const T of [1, 10, 1000]) {
      const r = await neurons(engine, zs, T, 'integrate', 'subtract', 1, undefined, 2);
      assert.equal(r.pos, [0, 0, 0, 0]);
      assert.equal(r.neg, [0, 0, 0, 0]);
      assert.equal(Array.from(r.readout), zs.map((z) => 2 * z), `T=${T}`);
      assert.equal(Array.from(r.membrane), zs.map((z) => z * T));
    }
  });

  test(`${engine}: IBT reproduces leaky ReLU: rate·vth → α·z on the negative side, z on the positive`, async () => {
    // below saturation: |z| < vth/α on the negative side, z < vth on the positive
    const T = 2000;
    const zs = [-0.1, -0.37, -0.9, -2.3, -3.7, 0.37, 0.49];
    for (const [vth, alpha] of [[1, 0.1], [0.5, 0.1], [1, 0.25]]) {
      const r = await neurons(engine, zs, T, 'ibt', 'subtract', vth, vth / alpha);
      zs.forEach((z, i) => {
        const rate = (r.pos[i] - r.neg[i]) / T;
        const want = z > 0 ? z : alpha * z;
        assert.ok(Math.abs(rate * vth - want) <= vth / T + 1e-6, `vth ${vth} α ${alpha} z ${z}: rate·vth ${rate * vth} vs ${want}`);
      });
    }
  });
}

/**
 * A sigma-delta IBT neuron (vth 1, vthNeg 10, α 0.1) behind a layer of signed neurons driven by
 * constant currents: the signed layer's spike trains are periodic, so the second layer's input is
 * a sum of weighted trains. Returns its counts and membrane after each checkpoint, and the reset
 * neuron's for comparison.
 */
async function deltaNet(engine: SnnEngineKind, drives: number[], weights: number[], checkpoints: number[], sigmaDelta: boolean, burst = 1) {
  const n = drives.length;
  const inShape = { c: n, h: 1, w: 1 };
  const l0 = convLayer(0, -1, inShape, { filters: n, size: 1, groups: n, rule: 'signed', weights: new Float32Array(n).fill(1) });
  const l1 = convLayer(1, 0, { c: n, h: 1, w: 1 }, { filters: 1, size: 1, rule: 'ibt', sigmaDelta, weights: Float32Array.from(weights) });
  const sim = await createSimulator(makeSnn(inShape, [l0, l1], [1], burst > 1 ? { burst } : {}), { engine, seed: 1 });
  sim.reset(Float32Array.from(drives));
  const out: { t: number; pos: number; neg: number; v: number }[] = [];
  let t = 0;
  for (const c of checkpoints) {
    sim.run(c - t);
    t = c;
    const k = sim.counts().layers[1];
    out.push({ t, pos: k.posSpikes[0], neg: k.negSpikes[0], v: sim.membrane(1)[0] });
  }
  return out;
}

for (const engine of ENGINES) {
  test(`${engine}: sigma-delta IBT: a zero-mean input (+3, −3, ...) nets 0 spikes; the reset neuron nets +3 (its dead zone keeps them)`, async () => {
    // input: +1 spikes every tick × 3 and every second tick × −6 → +3 on odd ticks, −3 on even ones
    const T = [1, 2, 3, 4, 100, 1000];
    for (const burst of [1, 2]) {
      const sd = await deltaNet(engine, [1, 0.5], [3, -6], T, true, burst);
      for (const r of sd) {
        // odd t: S = 3, leaky(S) = 3, emitted min(3, burst) after the pair before; even t: S = 0, all taken back
        assert.is(r.v, r.t % 2 ? 3 : 0, `burst ${burst} t=${r.t}: V integrates without reset`);
        assert.is(r.pos - r.neg, r.t % 2 ? burst : 0, `burst ${burst} t=${r.t}: net count`);
        assert.is(r.pos, Math.ceil(r.t / 2) * burst, `burst ${burst} t=${r.t}: +1 spikes`);
      }
    }
    // reset neuron, burst 1, by hand: V 3→2 (+1), −1, 2→1 (+1), −2, 1→0 (+1), −3, 0, −3, ...: three spikes, never a −1
    const rs = await deltaNet(engine, [1, 0.5], [3, -6], T, false);
    assert.equal(rs.map((r) => r.pos - r.neg), [1, 1, 2, 2, 3, 3]);
  });

  test(`${engine}: sigma-delta IBT: the emitted count stays within one threshold of leaky(Σ input) at every tick`, async () => {
    // dyadic drives and weights: every membrane value is exact, so V = Σ input by hand
    const drives = [0.5, 0.25, 0.75, 0.125, 1];
    const checkpoints = Array.from({ length: 64 }, (_, i) => 1 + i * 3);
    for (const weights of [[2.5, -4, 1.25, 3, -0.5], [-1.5, -2, 0.75, -3, 0.25], [0.5, 0.5, -0.25, 8, -6]]) {
      const rows = await deltaNet(engine, drives, weights, checkpoints, true, 8);
      for (const r of rows) {
        // the signed layer with V₀ 0 sends floor(d·t) spikes of a drive d by tick t (exact for dyadic d)
        const S = drives.reduce((a, d, i) => a + weights[i] * Math.floor(d * r.t), 0);
        assert.is(r.v, S, `w ${weights} t=${r.t}: V = Σ input`);
        const leaky = S >= 0 ? S : 0.1 * S;
        const emitted = r.pos - r.neg;
        assert.ok(Math.abs(leaky - emitted) < 1 + 1e-6, `w ${weights} t=${r.t}: emitted ${emitted} vs leaky(S) ${leaky}`);
      }
    }
  });
}

test('IF, reset by subtraction: the count grows by floor(zT) at every T (checkpoints)', async () => {
  const input = { c: 1, h: 1, w: 1 };
  const layer = convLayer(0, -1, input, { filters: 1, rule: 'if', weights: Float32Array.of(1) });
  const sim = await createSimulator(makeSnn(input, [layer], [0]), { engine: 'wasm' });
  sim.reset(Float32Array.of(0.625));
  const seen: number[] = [];
  sim.runWithCheckpoints(64, [8, 16, 16, 3, 40, 100], (t) => {
    seen.push(t);
    assert.is(sim.counts().layers[0].posSpikes[0], Math.floor(0.625 * t), `t=${t}`);
  });
  assert.equal(seen, [3, 8, 16, 40]);
  assert.is(sim.tick, 64);
  assert.is(sim.counts().layers[0].posSpikes[0], 40);
});

test.run();
