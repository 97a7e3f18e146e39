/**
 * Fixed-point precision (src/convert/quantize.ts, `run --precision chip`): hand-computed rounding
 * of weights, biases and thresholds in both scales, the saturating membrane in both engines (they
 * agree bit for bit, and the bound is reached), the analog drive on the grid, the .snn round trip
 * (format version 2), and at 24/32 bits the quantized face detector reads out what the float one does.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calibrateInputs } from '../src/convert/calibrate.ts';
import { convertNetwork, defaultSettings } from '../src/convert/convert.ts';
import { quantizeForChip, signedLevels, thresholdOnGrid } from '../src/convert/quantize.ts';
import { decodeSnn, encodeSnn, loadSnn, saveSnn } from '../src/convert/snn-file.ts';
import type { SnnConvLayer, SnnLayer, SnnNetwork, SpikeRule } from '../src/convert/snn-ir.ts';
import { loadImage } from '../src/image/decode.ts';
import { preprocess } from '../src/image/preprocess.ts';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import { loadModel } from '../src/model/load.ts';
import type { Shape } from '../src/model/ir.ts';
import { convLayer, makeSnn, poolLayer } from '../src/sim/handmade.ts';
import { analogDrive } from '../src/sim/plan.ts';
import { createSimulator, type SnnEngineKind } from '../src/sim/simulator.ts';
import { UserError } from '../src/util/errors.ts';
import { gaussian, mulberry32 } from '../src/util/rng.ts';

const f = Math.fround;
const ENGINES: SnnEngineKind[] = ['wasm', 'reference'];
const tmp = mkdtempSync(join(tmpdir(), 'neuroemu-quant-'));

/** 3 inputs → 2 neurons, 1×1 kernel: channel 0 reads [0.5, −0.26, 0.01], channel 1 [0.25, 0.0625, −0.125] */
function toy(rule: SpikeRule = 'ibt', vthPos = 1): SnnNetwork {
  const input = { c: 3, h: 1, w: 1 };
  const l = convLayer(0, -1, input, {
    filters: 2, size: 1, rule, vthPos,
    weights: Float32Array.from([0.5, -0.26, 0.01, 0.25, 0.0625, -0.125]),
    biases: Float32Array.from([0.1, -0.25]),
  });
  return makeSnn(input, [l], [0]);
}

const conv0 = (n: SnnNetwork) => n.layers[0] as SnnConvLayer;

test('signed levels: 2^(bits−1) − 1 each side, at least 1', () => {
  assert.is(signedLevels(3), 3);
  assert.is(signedLevels(9), 255);
  assert.is(signedLevels(24), 8388607);
  assert.is(signedLevels(1), 1);
});

test('layer scale by hand: Δ = max|W|/L_w = 0.5/3, round half away from zero, thresholds in whole levels', () => {
  const src = toy();
  const before = JSON.stringify(Array.from(conv0(src).weights));
  const { snn, report } = quantizeForChip(src, { weightBits: 3, membraneBits: 8 }, { scale: 'layer' });
  assert.is(JSON.stringify(Array.from(conv0(src).weights)), before, 'the input network is not changed');
  assert.is(src.layers[0].hasOwnProperty('gridStep'), false);
  const l = conv0(snn), d = 0.5 / 3;
  // channel 0: 0.5/Δ = 3, −0.26/Δ = −1.56 → −2, 0.01/Δ = 0.06 → 0
  // channel 1: 0.25/Δ = 1.5 → 2 (half away from 0), 0.0625/Δ = 0.375 → 0, −0.125/Δ = −0.75 → −1
  assert.equal(Array.from(l.weights), [3, -2, 0, 2, 0, -1].map((k) => f(k * d)));
  // biases: 0.1/Δ = 0.6 → 1; −0.25/Δ = −1.5 → −2 (half away from 0)
  assert.equal(Array.from(l.biases), [1, -2].map((k) => f(k * d)));
  // thresholds: 1/Δ = 6 levels; IBT's negative side 10/Δ = 60 levels (within 127)
  assert.is(l.vthPos, f(6 * d));
  assert.is(l.vthNeg, f(60 * d));
  assert.equal(Array.from(l.gridStep!), [f(d), f(d)]);
  assert.equal(Array.from(l.membraneClamp!), [f(127 * d), f(127 * d)]);
  const r = report.layers[0];
  assert.is(r.zeroed, 2);
  assert.is(r.weights, 6);
  // largest rounding error: 0.25 → 2Δ = 1/3, off by 1/12 (−0.26 → −2Δ is off by 0.0733)
  assert.ok(Math.abs(r.maxWeightError - (2 * d - 0.25)) < 1e-7, `max rounding error ${r.maxWeightError}`);
  assert.ok(Math.abs(r.stepMin - d) < 1e-15 && r.stepMin === r.stepMax);
  assert.equal(r.vthPosLevels, [6, 6]);
  assert.equal(r.vthNegLevels, [60, 60]);
  assert.is(snn.formatVersion, 2);

  // 0.95/Δ = 5.7 → 6; a tiny threshold is still one level; 'if' keeps its infinite negative side
  assert.is(conv0(quantizeForChip(toy('ibt', 0.95), { weightBits: 3, membraneBits: 8 }, { scale: 'layer' }).snn).vthPos, f(6 * d));
  const tiny = quantizeForChip(toy('if', 0.01), { weightBits: 3, membraneBits: 8 }, { scale: 'layer' }).snn;
  assert.is(conv0(tiny).vthPos, f(d));
  assert.is(conv0(tiny).vthNeg, Infinity);
  // a 4-bit membrane (7 levels) cannot hold the 60-level negative threshold: clipped and reported
  const narrow = quantizeForChip(toy(), { weightBits: 3, membraneBits: 4 }, { scale: 'layer' });
  assert.is(conv0(narrow.snn).vthNeg, f(7 * d));
  assert.ok(narrow.report.layers[0].thresholdClipped);
  assert.match(narrow.report.notes.join('\n'), /threshold clipped/);
});

test('neuron scale by hand: Δ_j = vth/K_j, K_j = floor(vth·L_w/max|W_j|), thresholds exact', () => {
  const { snn, report } = quantizeForChip(toy(), { weightBits: 3, membraneBits: 16 });
  assert.is(report.scale, 'neuron');
  const l = conv0(snn);
  // channel 0: K = floor(3/0.5) = 6, Δ = 1/6 → [3, −2, 0]; channel 1: K = floor(3/0.25) = 12, Δ = 1/12 → [3, 1, −2]
  assert.equal(Array.from(l.weights), [f(3 / 6), f(-2 / 6), 0, f(3 / 12), f(1 / 12), f(-2 / 12)]);
  // biases: 0.1·6 = 0.6 → 1; −0.25·12 = −3
  assert.equal(Array.from(l.biases), [f(1 / 6), f(-3 / 12)]);
  assert.is(l.vthPos, 1);
  assert.is(l.vthNeg, 10);
  assert.equal(Array.from(l.gridStep!), [f(1 / 6), f(1 / 12)]);
  assert.equal(Array.from(l.membraneClamp!), [f(32767 / 6), f(32767 / 12)]);
  const r = report.layers[0];
  assert.equal(r.vthPosLevels, [6, 12]);
  assert.equal(r.vthNegLevels, [60, 120]);
  assert.is(r.zeroed, 1);
  assert.is(r.fractionalVthNeg, 0);
  // with headroom 10 (the negative threshold's 10 levels), a 7-bit membrane (63 levels): K ≤ floor(63/10) = 6
  const capped = conv0(quantizeForChip(toy(), { weightBits: 3, membraneBits: 7 }, { headroom: 10 }).snn);
  assert.equal(Array.from(capped.gridStep!), [f(1 / 6), f(1 / 6)]);
  assert.equal(Array.from(capped.weights), [3, -2, 0, 2, 0, -1].map((k) => f(k / 6)));
  // the default headroom (64 thresholds) in a 12-bit membrane (2047 levels): K ≤ 31, not binding here
  assert.equal(Array.from(conv0(quantizeForChip(toy(), { weightBits: 3, membraneBits: 12 }).snn).gridStep!), [f(1 / 6), f(1 / 12)]);
  // ... and binding in a 10-bit one (511 levels): K ≤ 7
  assert.equal(Array.from(conv0(quantizeForChip(toy(), { weightBits: 3, membraneBits: 10 }).snn).gridStep!), [f(1 / 6), f(1 / 7)]);
  // a readout's step also covers readoutTicks ticks of its largest input: ch0 |0.1| + 0.77 = 0.87
  const ro = convLayer(0, -1, { c: 3, h: 1, w: 1 }, { filters: 1, size: 1, rule: 'integrate', weights: Float32Array.from([0.5, -0.26, 0.01]), biases: Float32Array.from([0.1]) });
  const roNet = makeSnn({ c: 3, h: 1, w: 1 }, [ro], [0]);
  assert.is(conv0(quantizeForChip(roNet, { weightBits: 3, membraneBits: 8 }).snn).gridStep![0], f(0.5 / 3));
  const roQ = conv0(quantizeForChip(roNet, { weightBits: 3, membraneBits: 8 }, { readoutTicks: 64 }).snn);
  const need = (64 * (f(0.1) + f(0.5) + f(0.26) + f(0.01))) / 127;
  assert.ok(Math.abs(roQ.gridStep![0] - need) < 1e-6 * need, `readout step ${roQ.gridStep![0]} = 64·0.87/127`);
  // a run-time threshold is put on a single-step grid only
  const lay = conv0(quantizeForChip(toy(), { weightBits: 3, membraneBits: 8 }, { scale: 'layer' }).snn);
  assert.equal(thresholdOnGrid(lay, 1.3), { value: f(8 / 6), onGrid: true });
  assert.equal(thresholdOnGrid(l, 1.3), { value: 1.3, onGrid: false });
});

test('analog drive of a fixed-point layer is rounded to its grid', () => {
  const { snn } = quantizeForChip(toy(), { weightBits: 3, membraneBits: 16 });
  const x = Float32Array.from([0.3, 0.7, -0.2]);
  const drive = analogDrive(conv0(snn), x);
  const l = conv0(snn);
  for (let j = 0; j < 2; j++) {
    let exact = l.biases[j];
    for (let i = 0; i < 3; i++) exact += l.weights[j * 3 + i] * x[i];
    const d = l.gridStep![j];
    const k = drive[j] / d;
    assert.ok(Math.abs(k - Math.round(k)) < 1e-5, `channel ${j}: ${drive[j]} is ${k} levels`);
    assert.ok(Math.abs(drive[j] - exact) <= d / 2 + 1e-6, `channel ${j}: within half a level of ${exact}`);
  }
  // a float layer's drive is not rounded
  const fl = analogDrive(conv0(toy()), x);
  assert.is(fl[0], f(f(0.5) * f(0.3) + f(-0.26) * f(0.7) + f(0.01) * f(-0.2) + f(0.1)));
});

test('saturating membrane: V stops at ±L_m·Δ, in both engines, bit for bit', async () => {
  // one integrating neuron driven by 0.5 per tick, 3-bit weights (Δ = 0.5/3), 4-bit membrane (7 levels)
  const input = { c: 1, h: 1, w: 1 };
  const readout = convLayer(0, -1, input, { filters: 1, size: 1, rule: 'integrate', weights: Float32Array.from([0.5]) });
  const { snn } = quantizeForChip(makeSnn(input, [readout], [0]), { weightBits: 3, membraneBits: 4 });
  const bound = f(7 * (0.5 / 3));
  assert.is(conv0(snn).membraneClamp![0], bound);
  for (const engine of ENGINES) {
    const sim = await createSimulator(snn, { engine, seed: 1 });
    sim.reset(Float32Array.from([1]));
    sim.run(2);
    assert.is(sim.membrane(0)[0], f(f(0.5) + f(0.5)), `${engine}: below the bound it integrates`);
    sim.run(8);
    assert.is(sim.membrane(0)[0], bound, `${engine}: saturated at +7 levels`);
    sim.reset(Float32Array.from([-1]));
    sim.run(10);
    assert.is(sim.membrane(0)[0], -bound, `${engine}: saturated at −7 levels`);
    // the float network integrates on
    const fsim = await createSimulator(makeSnn(input, [readout], [0]), { engine, seed: 1 });
    fsim.reset(Float32Array.from([1]));
    fsim.run(10);
    assert.is(fsim.membrane(0)[0], 5);
  }
});

/** input → conv 3×3 (ibt) → depthwise 3×3 (signed) → maxpool 2 → conv 1×1 (if) → conv 1×1 integrate */
function randomNet(seed: number): { net: SnnNetwork; image: Float32Array } {
  const rand = mulberry32(seed), g = gaussian(rand);
  const arr = (n: number, s: number, o = 0) => Float32Array.from({ length: n }, () => o + s * g());
  const input: Shape = { c: 3, h: 10, w: 9 };
  const layers: SnnLayer[] = [];
  const conv = (src: number, inShape: Shape, filters: number, size: number, pad: number, groups: number, rule: SpikeRule) => {
    const fanIn = (inShape.c / groups) * size * size;
    const l = convLayer(layers.length, src, inShape, {
      filters, size, pad, groups, rule, vthPos: 0.8,
      weights: arr(filters * fanIn, 1.6 / Math.sqrt(fanIn), 0.05), biases: arr(filters, 0.1, 0.05), lambda: arr(filters, 0.2, 1),
    });
    layers.push(l);
    return l;
  };
  const c0 = conv(-1, input, 6, 3, 1, 1, 'ibt');
  const c1 = conv(0, c0.outShape, 6, 3, 1, 6, 'signed');
  const p2 = poolLayer(2, 1, c1.outShape, 2, 2);
  layers.push(p2);
  const c3 = conv(2, p2.outShape, 5, 1, 0, 1, 'if');
  conv(3, c3.outShape, 4, 1, 0, 1, 'integrate');
  const image = Float32Array.from({ length: 3 * 10 * 9 }, () => rand() * 1.5 - 0.2);
  return { net: makeSnn(input, layers, [4]), image };
}

const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

test('quantized random networks: WASM and reference agree bit for bit, and membranes do saturate', async () => {
  let saturated = 0;
  for (const seed of [1, 2, 3]) {
    const { net, image } = randomNet(seed);
    for (const [wb, mb, scale] of [[3, 5, 'neuron'], [4, 6, 'layer'], [9, 20, 'neuron']] as const) {
      const { snn } = quantizeForChip(net, { weightBits: wb, membraneBits: mb }, { scale });
      const sims = await Promise.all(ENGINES.map((engine) => createSimulator(snn, { engine, seed: 3 })));
      for (const s of sims) s.reset(image);
      for (let t = 0; t < 4; t++) {
        for (const s of sims) s.run(5);
        const [w, r] = sims;
        for (const i of [0, 1, 3, 4]) {
          const mw = w.membrane(i), mr = r.membrane(i);
          assert.equal(bitsOf(mw), bitsOf(mr), `seed ${seed} ${wb}/${mb} ${scale}: layer ${i} membrane at tick ${w.tick}`);
          const clamp = (snn.layers[i] as SnnConvLayer).membraneClamp!;
          const plane = mw.length / clamp.length;
          for (let k = 0; k < mw.length; k++) {
            const b = clamp[Math.floor(k / plane)];
            assert.ok(Math.abs(mw[k]) <= b, `|V| ≤ bound (layer ${i})`);
            if (Math.abs(mw[k]) === b) saturated++;
          }
        }
        assert.equal(w.readout().map(bitsOf), r.readout().map(bitsOf));
      }
      const [cw, cr] = sims.map((s) => s.counts());
      for (let i = 0; i < cw.layers.length; i++) assert.equal(Array.from(cw.layers[i].posSpikes), Array.from(cr.layers[i].posSpikes));
    }
  }
  assert.ok(saturated > 0, 'some membranes sit at their bound');
});

test('at 24-bit weights and 32-bit membranes the quantized network spikes as the float one and reads out the same to ~1e-6', async () => {
  for (const seed of [4, 5, 6]) {
    const { net, image } = randomNet(seed);
    const { snn, report } = quantizeForChip(net, { weightBits: 24, membraneBits: 32 }, { readoutTicks: 32 });
    assert.is(report.zeroed, 0);
    const out = async (n: SnnNetwork) => {
      const sim = await createSimulator(n, { seed: 1 });
      sim.reset(image);
      sim.run(32);
      return { raws: sim.readout(), counts: sim.counts() };
    };
    const a = await out(net), b = await out(snn);
    a.counts.layers.forEach((l, i) => {
      assert.equal(Array.from(b.counts.layers[i].posSpikes), Array.from(l.posSpikes), `seed ${seed} layer ${i} +1 spikes`);
      assert.equal(Array.from(b.counts.layers[i].negSpikes), Array.from(l.negSpikes), `seed ${seed} layer ${i} −1 spikes`);
    });
    let maxAbs = 0, maxDiff = 0;
    a.raws.forEach((r, k) => r.forEach((v, i) => {
      maxAbs = Math.max(maxAbs, Math.abs(v));
      maxDiff = Math.max(maxDiff, Math.abs(v - b.raws[k][i]));
    }));
    assert.ok(maxAbs > 0 && maxDiff <= 1e-5 * maxAbs, `seed ${seed}: readouts differ by ${maxDiff} (max |readout| ${maxAbs})`);
  }
  // (the face detector is not compared this way: its spiking dynamics are chaotic, a 1e-6 relative
  // change of its float weights already changes spikes and moves AP by up to 0.07, src/convert/quantize.ts)
});

let face: SnnNetwork | undefined;
function face128(): SnnNetwork {
  if (face) return face;
  const net = loadModel({ model: 'face', size: 128 });
  const photo = faceSamplePhotos()[0];
  const snn = convertNetwork(net, calibrateInputs(net, [preprocess(net, loadImage(photo))], [photo]), defaultSettings());
  snn.annSpec = { model: 'face', size: 128 };
  return (face = snn);
}

test('face detector: every conv quantized (depthwise included); per-neuron steps keep 9-bit weights, a per-layer step does not', () => {
  const net = face128();
  const nine = quantizeForChip(net, { weightBits: 9, membraneBits: 24 });
  assert.is(nine.report.layers.length, net.layers.filter((l) => l.kind === 'conv').length);
  assert.ok(nine.report.layers.some((l) => l.name.includes('depthwise')), 'depthwise layers quantized too');
  assert.ok(nine.report.zeroed / nine.report.weights < 0.05, `${nine.report.zeroed} of ${nine.report.weights} weights rounded to 0`);
  const perLayer = quantizeForChip(net, { weightBits: 9, membraneBits: 24 }, { scale: 'layer' });
  assert.ok(perLayer.report.zeroed / perLayer.report.weights > 0.3, 'channel-wise normalization leaves outlier channels that set a per-layer step');
});

test('.snn file: a quantized network saves as version 2 and loads back equal; version 1 with fixed-point fields is refused', () => {
  // classic dynamics (count-gated pool, V₀ 0, plain average, one spike a tick, reset neurons): the defaults need version 5 on their own
  const classic = { ...face128(), settings: { ...face128().settings, vInit: 0, readoutStart: 0, burst: 1, sigmaDelta: false },
    layers: face128().layers.map((l) => (l.kind === 'maxpool' ? { ...l, rule: 'gate' as const } : l.kind === 'conv' ? (({ sigmaDelta: _, ...c }) => c)(l) : l)), formatVersion: 1 };
  const { snn } = quantizeForChip(classic, { weightBits: 9, membraneBits: 20 });
  const file = join(tmp, 'q.snn');
  saveSnn(file, snn);
  const bytes = readFileSync(file);
  assert.is(bytes.readUInt32LE(8), 2);
  const back = loadSnn(file);
  assert.equal(back, snn);
  assert.ok((back.layers[0] as SnnConvLayer).membraneClamp instanceof Float32Array);
  assert.ok(encodeSnn(back).equals(bytes), 'same bytes again');
  // a float network with classic dynamics still saves as version 1
  const plain = encodeSnn(classic);
  assert.is(plain.readUInt32LE(8), 1);
  assert.equal(decodeSnn(plain, 'plain.snn').layers.length, face128().layers.length);
  // the quantized file relabelled version 1 (no header checksum, as version-1 writers wrote): refused, naming the field
  const hLen = bytes.readUInt32LE(12);
  const header = JSON.parse(bytes.subarray(16, 16 + hLen).toString('utf8'));
  header.formatVersion = 1;
  delete header.headerSha256;
  const json = Buffer.from(JSON.stringify(header));
  const blobStart = 16 + hLen + ((8 - ((16 + hLen) % 8)) % 8);
  const prefix = Buffer.from(bytes.subarray(0, 16));
  prefix.writeUInt32LE(1, 8);
  prefix.writeUInt32LE(json.length, 12);
  const v1 = Buffer.concat([prefix, json, Buffer.alloc((8 - ((16 + json.length) % 8)) % 8), bytes.subarray(blobStart)]);
  const bad = join(tmp, 'v1.snn');
  writeFileSync(bad, v1);
  assert.throws(() => loadSnn(bad), (e: unknown) => e instanceof UserError && /layers\[0\]\.gridStep: fixed-point fields need format version 2/.test(e.message));
});

test.run();
