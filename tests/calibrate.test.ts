import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ActivationStats, binOf, calibrate, calibrateInputs, HIST_BINS, PERCENTILE_REL_ERROR, REGULAR_BINS } from '../src/convert/calibrate.ts';
import type { ConvLayer, Network } from '../src/model/ir.ts';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import { loadModel } from '../src/model/load.ts';
import { UserError } from '../src/util/errors.ts';

/** a network of one conv layer (weights irrelevant when outputs are fed by hand) */
function oneConvNet(cin: number, cout: number, h: number, w: number, activation: ConvLayer['activation'], weights?: number[], biases?: number[]): Network {
  const conv: ConvLayer = {
    kind: 'conv', index: 0, name: 'c0', inputs: [-1], inShape: { c: cin, h, w }, outShape: { c: cout, h, w },
    filters: cout, size: 1, stride: 1, pad: 0, groups: 1, activation, leakySlope: 0.1,
    weights: weights ? Float32Array.from(weights) : new Float32Array(cout * cin), biases: biases ? Float32Array.from(biases) : new Float32Array(cout),
  };
  return {
    name: 'tiny', source: 'test', format: 'darknet', input: { c: cin, h, w }, preprocess: { kind: 'darknet-letterbox' },
    layers: [conv], nmsIou: 0.45, scoreThreshold: 0.5, bnFolded: true,
  };
}

/** exact nearest-rank percentile of the positive values */
function exactPercentile(values: number[], p: number): number {
  const pos = values.filter((v) => v > 0).sort((a, b) => a - b);
  if (pos.length === 0) return 0;
  return pos[Math.max(1, Math.ceil((p / 100) * pos.length)) - 1];
}

/** seeded xorshift in [0,1) */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

test('histogram grid: documented precision bound, bins monotone, edges', () => {
  assert.ok(PERCENTILE_REL_ERROR <= 0.005, `bound ${PERCENTILE_REL_ERROR}`);
  let prev = 0;
  for (let x = 1e-7; x < 2e6; x *= 1.0007) {
    const b = binOf(x);
    assert.ok(b >= prev, `bin of ${x} went back`);
    prev = b;
  }
  assert.is(binOf(1e-9), 0);
  assert.is(binOf(2 ** 20), REGULAR_BINS + 1);
  assert.is(HIST_BINS, REGULAR_BINS + 2);
});

test('percentiles from the streaming histogram agree with an exact sort within the documented bound', () => {
  const C = 3, H = 40, W = 50, hw = H * W;
  const net = oneConvNet(1, C, H, W, 'linear');
  const stats = new ActivationStats(net);
  const r = rng(7);
  const all: number[][] = [[], [], []];
  for (let img = 0; img < 4; img++) {
    const out = new Float32Array(C * hw);
    for (let i = 0; i < out.length; i++) {
      const c = Math.floor(i / hw);
      const u = r();
      // channel 0: log-uniform over 1e-4..1e3 with zeros; channel 1: heavy tail; channel 2: mixed signs
      let v = c === 0 ? (u < 0.3 ? 0 : 10 ** (-4 + 7 * r())) : c === 1 ? 1 / (1e-3 + u) ** 1.5 : (u - 0.6) * 50 * r();
      v = Math.fround(v);
      out[i] = v;
      all[c].push(v);
    }
    stats.addOutputs([out], `img${img}`);
  }
  for (const p of [50, 90, 99, 99.9, 99.99]) {
    const lam = stats.lambda(0, 'channel', p);
    for (let c = 0; c < C; c++) {
      const exact = exactPercentile(all[c], p);
      assert.ok(Math.abs(lam[c] / exact - 1) <= PERCENTILE_REL_ERROR * 1.0001 + 1e-7, `channel ${c} p${p}: ${lam[c]} vs exact ${exact}`);
    }
    const exactLayer = exactPercentile(all.flat(), p);
    const layer = stats.lambda(0, 'layer', p);
    assert.ok(Math.abs(layer[0] / exactLayer - 1) <= PERCENTILE_REL_ERROR * 1.0001 + 1e-7, `layer p${p}: ${layer[0]} vs ${exactLayer}`);
    assert.ok(layer.every((v) => v === layer[0]), 'layer mode: one value for every channel');
    // |x| side of the linear layer
    const abs = stats.lambda(0, 'channel', p, 'abs');
    const exactAbs = exactPercentile(all[2].map(Math.abs), p);
    assert.ok(Math.abs(abs[2] / exactAbs - 1) <= PERCENTILE_REL_ERROR * 1.0001 + 1e-7, `abs p${p}: ${abs[2]} vs ${exactAbs}`);
  }
  // max and min are exact
  const mx = stats.lambda(0, 'channel', 'max');
  for (let c = 0; c < C; c++) {
    assert.is(mx[c], Math.fround(Math.max(...all[c])));
    assert.is(stats.layer(0).min[c], Math.min(...all[c]));
  }
  assert.is(stats.lambda(0, 'channel', 'max', 'abs')[2], Math.fround(Math.max(...all[2].map(Math.abs))));
  assert.is(stats.lambda(0, 'channel', 100)[1], mx[1]);
});

test('merging two calibration runs equals one run over all images', () => {
  const net = oneConvNet(1, 2, 8, 8, 'leaky');
  const r = rng(3);
  const outs = [0, 1, 2, 3].map(() => Float32Array.from({ length: 128 }, () => (r() - 0.3) * 10));
  const one = new ActivationStats(net);
  outs.forEach((o, i) => one.addOutputs([o], `i${i}`));
  const a = new ActivationStats(net), b = new ActivationStats(net);
  a.addOutputs([outs[0]], 'i0'); a.addOutputs([outs[1]], 'i1');
  b.addOutputs([outs[2]], 'i2'); b.addOutputs([outs[3]], 'i3');
  a.merge(b);
  assert.equal(a.images, one.images);
  for (const p of ['max', 99, 60] as const) assert.equal(a.lambda(0, 'channel', p), one.lambda(0, 'channel', p));
  assert.equal(a.layer(0).posHist, one.layer(0).posHist);
});

test('hand-computed λ of a tiny network (both ANN engines)', () => {
  // conv 1x1, 1 → 2 channels: ch0 = x, ch1 = -2x + 1, leaky 0.1
  const net = oneConvNet(1, 2, 2, 2, 'leaky', [1, -2], [0, 1]);
  const inputs = [Float32Array.of(1, 2, 3, 4), Float32Array.of(0.5, 5, -1, 0)];
  // outputs: image 1: ch0 1,2,3,4  ch1 -0.1,-0.3,-0.5,-0.7
  //          image 2: ch0 0.5,5,-0.1,0  ch1 0,-0.9,3,1
  for (const engine of ['reference', 'wasm'] as const) {
    const s = calibrateInputs(net, inputs, ['a', 'b'], { engine });
    assert.equal(Array.from(s.lambda(0, 'channel', 'max')), [5, 3], engine);
    assert.equal(Array.from(s.lambda(0, 'layer', 'max')), [5, 5], engine);
    // positives ch0: 0.5 1 2 3 4 5 → p50 = 3rd = 2 ; ch1: 1 3 → p50 = 1st = 1 ; layer: 0.5 1 1 2 3 3 4 5 → 4th = 2
    const p50 = s.lambda(0, 'channel', 50);
    assert.ok(Math.abs(p50[0] / 2 - 1) <= PERCENTILE_REL_ERROR && Math.abs(p50[1] - 1) <= PERCENTILE_REL_ERROR, `${engine} ${p50}`);
    assert.ok(Math.abs(s.lambda(0, 'layer', 50)[0] / 2 - 1) <= PERCENTILE_REL_ERROR);
    // min per channel: the leaky negative side
    assert.ok(Math.abs(s.layer(0).min[0] + 0.1) < 1e-6 && Math.abs(s.layer(0).min[1] + 0.9) < 1e-6, `${engine} ${s.layer(0).min}`);
    assert.equal(Array.from(s.sideCount(0)), [6, 2]);
    // the negative side, kept for leaky layers: ch0 −0.1 ; ch1 −0.1 −0.3 −0.5 −0.7 −0.9 → p50 = 3rd = 0.5
    assert.equal(Array.from(s.sideCount(0, 'negative')), [1, 5]);
    const nmax = s.lambda(0, 'channel', 'max', 'negative');
    assert.ok(Math.abs(nmax[0] - 0.1) < 1e-6 && Math.abs(nmax[1] - 0.9) < 1e-6, `${engine} ${nmax}`);
    const n50 = s.lambda(0, 'channel', 50, 'negative');
    assert.ok(Math.abs(n50[0] / 0.1 - 1) <= PERCENTILE_REL_ERROR && Math.abs(n50[1] / 0.5 - 1) <= PERCENTILE_REL_ERROR, `${engine} ${n50}`);
    assert.is(s.imageCount, 2);
  }
  // only the first image: ch1 has no positive output → 0 (the converter picks the fallback)
  const s1 = calibrateInputs(net, [inputs[0]], undefined, { engine: 'reference' });
  assert.equal(Array.from(s1.lambda(0, 'channel', 'max')), [4, 0]);
  assert.equal(Array.from(s1.lambda(0, 'channel', 99.9)), [4, 0]);
});

test('calibrate on image files: face detector, sha256 recorded, statistic errors are user errors', () => {
  const net = loadModel({ model: 'face', size: 128 });
  const photos = faceSamplePhotos().slice(0, 1);
  const seen: string[] = [];
  const s = calibrate(net, photos, { onImage: (i, n, f) => seen.push(`${i}/${n} ${f}`) });
  assert.equal(seen, [`0/1 ${photos[0]}`]);
  assert.match(s.hashes[0], /^[0-9a-f]{64}$/);
  for (const l of net.layers) {
    if (l.kind !== 'conv') continue;
    const st = s.layer(l.index);
    assert.is(st.count, l.outShape.h * l.outShape.w);
    assert.is(!!st.negHist, l.activation !== 'relu');
  }
  assert.throws(() => s.lambda(0, 'channel', 0), (e: unknown) => e instanceof UserError);
  assert.throws(() => s.lambda(0, 'channel', 101), (e: unknown) => e instanceof UserError);
  assert.throws(() => calibrate(net, []), (e: unknown) => e instanceof UserError && /--calib/.test(e.message));
  assert.throws(() => calibrate(net, ['/nonexistent.jpg']), (e: unknown) => e instanceof UserError && /nonexistent/.test(e.message));
});

test.run();
