import { test } from 'uvu';
import { createHash } from 'node:crypto';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convReference, forwardReference } from '../src/ann/reference.ts';
import { convertCommand } from '../src/cli/convert.ts';
import { ActivationStats, calibrateInputs } from '../src/convert/calibrate.ts';
import { convertNetwork, convertNetworkWithReport, defaultSettings } from '../src/convert/convert.ts';
import { fuseLinearInto, normalizeConv } from '../src/convert/normalize.ts';
import { encodeSnn, isSnnFile, loadSnn, saveSnn } from '../src/convert/snn-file.ts';
import type { NormMode, NormStatistic, SnnConvLayer, SnnLayer, SnnNetwork } from '../src/convert/snn-ir.ts';
import { loadImage, type RgbImage } from '../src/image/decode.ts';
import { preprocess } from '../src/image/preprocess.ts';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import type { ConvLayer, Layer, Network } from '../src/model/ir.ts';
import { loadModel } from '../src/model/load.ts';
import { UserError } from '../src/util/errors.ts';
import { captureCli } from './helpers/cli.ts';

const close = (a: number, b: number, tol = 1e-6) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
const conv = (p: Partial<ConvLayer> & Pick<ConvLayer, 'index' | 'inputs' | 'inShape' | 'outShape'>): ConvLayer => ({
  kind: 'conv', name: `conv${p.index}`, filters: p.outShape.c, size: 1, stride: 1, pad: 0, groups: 1, activation: 'leaky', leakySlope: 0.1,
  weights: new Float32Array(p.outShape.c * (p.inShape.c / (p.groups ?? 1)) * (p.size ?? 1) ** 2).fill(1), biases: new Float32Array(p.outShape.c), ...p,
});
const tinyNet = (layers: Layer[], input: Network['input']): Network => ({
  name: 'tiny', source: 'test', format: 'darknet', input, preprocess: { kind: 'darknet-letterbox' }, layers, nmsIou: 0.45, scoreThreshold: 0.5, bnFolded: true,
});

// ---------------------------------------------------------------------------------------------
// normalization arithmetic by hand

test('grouped and depthwise conv: output channel j uses λ_in of its group\'s input channels', () => {
  // cin 4, cout 6, groups 2, 1x1, all weights 1: out 0..2 read in 0,1; out 3..5 read in 2,3
  const lin = [1, 2, 3, 4], lout = [1, 2, 4, 8, 16, 32];
  const n = normalizeConv({ cout: 6, cin: 4, size: 1, groups: 2 }, new Array(12).fill(1), [2, 2, 2, 2, 2, 2], lin, lout);
  const expect = [1 / 1, 2 / 1, 1 / 2, 2 / 2, 1 / 4, 2 / 4, 3 / 8, 4 / 8, 3 / 16, 4 / 16, 3 / 32, 4 / 32];
  assert.equal(Array.from(n.weights), expect.map(Math.fround));
  assert.equal(Array.from(n.biases), [2, 1, 0.5, 0.25, 0.125, 0.0625]);
  // depthwise 3 channels, 3x3 kernel of ones: W̃[j] = λ_in(j)/λ_out(j)
  const d = normalizeConv({ cout: 3, cin: 3, size: 3, groups: 3 }, new Array(27).fill(1), [0, 0, 0], [2, 4, 6], [1, 2, 3]);
  for (let j = 0; j < 3; j++) for (let k = 0; k < 9; k++) assert.is(d.weights[j * 9 + k], 2);
});

test('fused depthwise + pointwise: hand case, and equal to the two applied in sequence (reference conv)', () => {
  // 2 channels, 1x1 depthwise [2, 3] bias [1, 0]; pointwise [1, 1] bias 0.5 → out = 2x0 + 3x1 + 1.5
  const f = fuseLinearInto(
    { cout: 2, cin: 2, size: 1, groups: 2, weights: [2, 3], biases: [1, 0] },
    { cout: 1, cin: 2, size: 1, groups: 1, weights: [1, 1], biases: [0.5] },
  );
  assert.equal(Array.from(f.weights), [2, 3]);
  assert.equal(Array.from(f.biases), [1.5]);

  let seed = 5;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  for (const [stride, groupsA, coutA] of [[1, 3, 3], [2, 3, 3], [1, 1, 2], [1, 3, 6]] as const) {
    const inShape = { c: 3, h: 7, w: 6 };
    const oh = Math.floor((7 + 2 - 3) / stride) + 1, ow = Math.floor((6 + 2 - 3) / stride) + 1;
    const a = conv({ index: 0, inputs: [-1], inShape, outShape: { c: coutA, h: oh, w: ow }, size: 3, pad: 1, stride, groups: groupsA, activation: 'linear' });
    a.weights = Float32Array.from(a.weights, rnd);
    a.biases = Float32Array.from(a.biases, rnd);
    const b = conv({ index: 1, inputs: [0], inShape: a.outShape, outShape: { c: 4, h: oh, w: ow }, activation: 'leaky' });
    b.weights = Float32Array.from(b.weights, rnd);
    b.biases = Float32Array.from(b.biases, rnd);
    const x = Float32Array.from({ length: 3 * 7 * 6 }, rnd);
    const seq = convReference(b, convReference(a, x));
    const fz = fuseLinearInto({ cout: coutA, cin: 3, size: 3, groups: groupsA, weights: a.weights, biases: a.biases }, { cout: 4, cin: coutA, size: 1, groups: 1, weights: b.weights, biases: b.biases });
    const fused = conv({ index: 0, inputs: [-1], inShape, outShape: b.outShape, size: 3, pad: 1, stride, weights: Float32Array.from(fz.weights), biases: Float32Array.from(fz.biases) });
    const one = convReference(fused, x);
    for (let i = 0; i < seq.length; i++) assert.ok(close(one[i], seq[i], 1e-5), `stride ${stride} groups ${groupsA} [${i}]: ${one[i]} vs ${seq[i]}`);
  }
});

/**
 * input 2×4×4 → L0 conv 2 (leaky) → L1 maxpool 2/2 → L2 conv 3 (relu) → L3 upsample ×2 →
 * L4 route [3, 0] → L5 conv 2 (linear) → L6 region head. Statistics are fed by hand.
 */
function graphNet(): Network {
  const L0 = conv({ index: 0, inputs: [-1], inShape: { c: 2, h: 4, w: 4 }, outShape: { c: 2, h: 4, w: 4 } });
  const L1: Layer = { kind: 'maxpool', index: 1, name: 'pool', inputs: [0], inShape: L0.outShape, outShape: { c: 2, h: 2, w: 2 }, size: 2, stride: 2, padBegin: 0 };
  const L2 = conv({ index: 2, inputs: [1], inShape: { c: 2, h: 2, w: 2 }, outShape: { c: 3, h: 2, w: 2 }, activation: 'relu' });
  const L3: Layer = { kind: 'upsample', index: 3, name: 'up', inputs: [2], inShape: L2.outShape, outShape: { c: 3, h: 4, w: 4 }, stride: 2 };
  const L4: Layer = { kind: 'route', index: 4, name: 'route', inputs: [3, 0], inShape: { c: 3, h: 4, w: 4 }, outShape: { c: 5, h: 4, w: 4 }, layers: [3, 0] };
  const L5 = conv({ index: 5, inputs: [4], inShape: { c: 5, h: 4, w: 4 }, outShape: { c: 2, h: 4, w: 4 }, activation: 'linear' });
  const L6: Layer = { kind: 'region', index: 6, name: 'region', inputs: [5], inShape: L5.outShape, outShape: L5.outShape, anchors: [1, 1], classes: 1, coords: 4, num: 1 };
  return tinyNet([L0, L1, L2, L3, L4, L5, L6], { c: 2, h: 4, w: 4 });
}

/** per-channel constant outputs with the given maxima (one pixel holds the max, others 0.1·max or −1) */
function handStats(net: Network, maxima: Record<number, number[]>): ActivationStats {
  const s = new ActivationStats(net);
  const outs: Float32Array[] = [];
  for (const l of net.layers) {
    const hw = l.outShape.h * l.outShape.w;
    const o = new Float32Array(l.outShape.c * hw);
    const m = maxima[l.index];
    if (m) m.forEach((v, c) => { o.fill(-1, c * hw, (c + 1) * hw); o[c * hw] = v; });
    outs.push(o);
  }
  s.addOutputs(outs, 'hand');
  return s;
}

test('λ vectors through maxpool, upsample and route, by hand (channel and layer modes)', () => {
  const net = graphNet();
  const stats = handStats(net, { 0: [2, 4], 2: [1, 3, 5], 5: [7, 7] });
  const snn = convertNetwork(net, stats, defaultSettings({ norm: 'channel' }));
  const by = (name: string) => snn.layers.find((l) => l.name === name)!;
  assert.equal(snn.layers.map((l) => l.kind), ['conv', 'maxpool', 'conv', 'upsample', 'route', 'conv']);
  assert.equal(Array.from(by('pool').lambda), [2, 4]);
  assert.equal(Array.from(by('up').lambda), [1, 3, 5]);
  assert.equal(Array.from(by('route').lambda), [1, 3, 5, 2, 4]);
  assert.equal((by('route') as { layers: number[] }).layers, [3, 0]);
  const c2 = by('conv2') as SnnConvLayer, c5 = by('conv5') as SnnConvLayer;
  // conv2: W = 1, λ_in = [2, 4] (through the pool), λ_out = [1, 3, 5]
  assert.equal(Array.from(c2.weights), [2, 4, 2 / 3, 4 / 3, 2 / 5, 4 / 5].map(Math.fround));
  // readout conv: λ_out = 1, W̃ = λ_in = the route's vector
  assert.equal(Array.from(c5.weights), [1, 3, 5, 2, 4, 1, 3, 5, 2, 4]);
  assert.is(c5.rule, 'integrate');
  assert.equal(Array.from(c5.lambda), [1, 1]);
  assert.equal(snn.readouts, [{ head: 6, layer: 5 }]);
  const c0 = by('conv0') as SnnConvLayer;
  assert.is(c0.rule, 'ibt');
  assert.is(c0.vthNeg, 10);
  assert.is(c2.rule, 'if');
  assert.is(c2.vthNeg, Infinity);
  assert.equal(snn.layers.map((l) => l.source), [0, 1, 2, 3, 4, 5]);

  const lay = convertNetwork(net, stats, defaultSettings({ norm: 'layer' }));
  assert.equal(Array.from(lay.layers[4].lambda), [5, 5, 5, 4, 4]);
  assert.equal(Array.from((lay.layers[2] as SnnConvLayer).weights), [4 / 5, 4 / 5, 4 / 5, 4 / 5, 4 / 5, 4 / 5].map(Math.fround));

  // 'if' neurons for the leaky layer
  const ifs = convertNetwork(net, stats, defaultSettings({ neuron: 'if', reset: 'zero', vth: 2 }));
  assert.is((ifs.layers[0] as SnnConvLayer).rule, 'if');
  assert.is((ifs.layers[0] as SnnConvLayer).reset, 'zero');
  assert.is((ifs.layers[0] as SnnConvLayer).vthPos, 2);
});

test('λ headroom: every spiking λ × h, so a spiking layer\'s weights λ_in·h / (λ_out·h) are unchanged and the readout\'s W·λ_in·h make up for the lower rates; by hand', () => {
  const net = graphNet();
  const stats = handStats(net, { 0: [2, 4], 2: [1, 3, 5], 5: [7, 7] });
  const snn = convertNetwork(net, stats, defaultSettings({ norm: 'channel', lambdaHeadroom: 1.5 }));
  const by = (name: string) => snn.layers.find((l) => l.name === name)!;
  assert.equal(Array.from(by('conv0').lambda), [3, 6]);
  assert.equal(Array.from(by('route').lambda), [1.5, 4.5, 7.5, 3, 6]);
  // conv2: W = 1, λ_in = [3, 6], λ_out = [1.5, 4.5, 7.5]: the same ratios as without headroom
  assert.equal(Array.from((by('conv2') as SnnConvLayer).weights), [2, 4, 2 / 3, 4 / 3, 2 / 5, 4 / 5].map(Math.fround));
  // the readout integrates with λ_out 1 (its V is the ANN's value): W̃ = W·λ_in, the route's vector with headroom
  assert.equal(Array.from((by('conv5') as SnnConvLayer).weights), [1.5, 4.5, 7.5, 3, 6, 1.5, 4.5, 7.5, 3, 6]);
  assert.equal(Array.from(by('conv5').lambda), [1, 1]);
  assert.throws(() => convertNetwork(net, stats, { ...defaultSettings(), lambdaHeadroom: 0.5 }), (e: unknown) => e instanceof UserError && /lambdaHeadroom: 0\.5 must be a number in \[1, 100\]/.test(e.message));
});

test('λ over both sides of an IBT layer: per channel the larger of the positive and the |negative| statistic; no negative saturation left; by hand', () => {
  const net = graphNet();
  // conv0: channel 0 peaks at 0.5, channel 1 at 4; every other pixel is −1 (|negative| max 1 in both)
  const stats = handStats(net, { 0: [0.5, 4], 2: [1, 3, 5] });
  const pos = convertNetworkWithReport(net, stats, defaultSettings());
  assert.equal(Array.from(pos.snn.layers[0].lambda), [0.5, 4]);
  assert.is(pos.report[0].negSaturated, 1);
  const both = convertNetworkWithReport(net, stats, defaultSettings({ lambdaSide: 'both' }));
  assert.equal(Array.from(both.snn.layers[0].lambda), [1, 4]);
  assert.is(both.report[0].negSaturated, 0);
  assert.match(both.report[0].lambdaFrom, /positive outputs and of \|negative outputs\|, the larger/);
  // the relu layer (rule 'if') keeps its positive-side λ; conv2's weights read conv0's new λ: W·λ_in/λ_out
  assert.equal(Array.from(both.snn.layers[2].lambda), [1, 3, 5]);
  assert.equal(Array.from((both.snn.layers[2] as SnnConvLayer).weights), [1, 4, 1 / 3, 4 / 3, 1 / 5, 4 / 5].map(Math.fround));
  // layer mode: the larger of the two layer-wide values
  assert.equal(Array.from(convertNetwork(net, stats, defaultSettings({ norm: 'layer', lambdaSide: 'both' })).layers[0].lambda), [4, 4]);
  assert.throws(() => convertNetwork(net, stats, { ...defaultSettings(), lambdaSide: 'neg' as never }), (e: unknown) => e instanceof UserError && /lambdaSide: "neg" is not one of positive, both/.test(e.message));
});

test('dead channels get a fallback λ and are reported', () => {
  const net = graphNet();
  // conv0 channel 1 never positive (its min is −1: leaky → λ = |min| = 1); conv2 channel 0 never positive (relu → layer value 5)
  const stats = handStats(net, { 0: [2, -0.5], 2: [-1, 3, 5] });
  const { snn, report } = convertNetworkWithReport(net, stats, defaultSettings());
  assert.equal(Array.from(snn.layers[0].lambda), [2, 1]);
  assert.equal(Array.from(snn.layers[2].lambda), [5, 3, 5]);
  assert.is(report[0].deadChannels, 1);
  assert.is(report[2].deadChannels, 1);
});

test('settings are validated; statistics must match the network', () => {
  const net = graphNet();
  const stats = handStats(net, { 0: [2, 4], 2: [1, 3, 5] });
  const bad = (s: object, re: RegExp) => assert.throws(() => convertNetwork(net, stats, { ...defaultSettings(), ...s }), (e: unknown) => e instanceof UserError && re.test(e.message));
  bad({ norm: 'nope' }, /norm/);
  bad({ statistic: 0 }, /statistic/);
  bad({ vth: -1 }, /vth/);
  bad({ neuron: 'lif' }, /neuron/);
  const other = graphNet();
  (other.layers[2] as ConvLayer).outShape = { c: 4, h: 2, w: 2 };
  assert.throws(() => convertNetwork(other, stats, defaultSettings()), (e: unknown) => e instanceof UserError && /statistics do not match/.test(e.message));
});

// ---------------------------------------------------------------------------------------------
// the converted weights, run as a rate ANN, reproduce the ANN divided by λ

/** float64 rate-ANN of the SNN IR: conv + the activation its rule stands for */
function rateForward(snn: SnnNetwork, input: Float32Array): Float64Array[] {
  const outs: Float64Array[] = [];
  const get = (i: number) => (i < 0 ? Float64Array.from(input) : outs[i]);
  for (const l of snn.layers) outs.push(rateLayer(l, get));
  return outs;
}

function rateLayer(l: SnnLayer, get: (i: number) => Float64Array): Float64Array {
  const { c: cin, h: H, w: W } = l.inShape;
  const { c: cout, h: OH, w: OW } = l.outShape;
  const out = new Float64Array(cout * OH * OW);
  switch (l.kind) {
    case 'conv': {
      const x = get(l.inputs[0]);
      const cinG = cin / l.groups, coutG = cout / l.groups, k = l.size;
      const alpha = l.rule === 'ibt' ? l.vthPos / l.vthNeg : 0;
      for (let o = 0; o < cout; o++) {
        const acc = out.subarray(o * OH * OW, (o + 1) * OH * OW);
        const g = Math.floor(o / coutG);
        for (let i = 0; i < cinG; i++) {
          const ci = g * cinG + i;
          for (let ky = 0; ky < k; ky++) for (let kx = 0; kx < k; kx++) {
            const w = l.weights[((o * cinG + i) * k + ky) * k + kx];
            if (w === 0) continue;
            for (let oy = 0; oy < OH; oy++) {
              const iy = oy * l.stride + ky - l.pad;
              if (iy < 0 || iy >= H) continue;
              const row = (ci * H + iy) * W;
              for (let ox = 0; ox < OW; ox++) {
                const ix = ox * l.stride + kx - l.pad;
                if (ix >= 0 && ix < W) acc[oy * OW + ox] += w * x[row + ix];
              }
            }
          }
        }
        for (let p = 0; p < acc.length; p++) {
          const v = acc[p] + l.biases[o];
          acc[p] = l.rule === 'if' ? Math.max(v, 0) : l.rule === 'ibt' ? (v > 0 ? v : alpha * v) : v;
        }
      }
      return out;
    }
    case 'maxpool': {
      const x = get(l.inputs[0]);
      for (let c = 0; c < cout; c++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
        let m = -Infinity;
        for (let ky = 0; ky < l.size; ky++) for (let kx = 0; kx < l.size; kx++) {
          const iy = oy * l.stride + ky - l.padBegin, ix = ox * l.stride + kx - l.padBegin;
          if (iy >= 0 && iy < H && ix >= 0 && ix < W) m = Math.max(m, x[(c * H + iy) * W + ix]);
        }
        out[(c * OH + oy) * OW + ox] = m;
      }
      return out;
    }
    case 'upsample': {
      const x = get(l.inputs[0]);
      for (let c = 0; c < cout; c++) for (let y = 0; y < OH; y++) for (let xx = 0; xx < OW; xx++) {
        out[(c * OH + y) * OW + xx] = x[(c * H + Math.floor(y / l.stride)) * W + Math.floor(xx / l.stride)];
      }
      return out;
    }
    case 'route': {
      let off = 0;
      for (const i of l.layers) {
        const x = get(i);
        out.set(x, off);
        off += x.length;
      }
      return out;
    }
  }
}

/** every SNN layer: rate × λ equals the ANN output of its source layer within 1e-4 of the layer's scale */
function assertEquivalent(snn: SnnNetwork, ann: Float32Array[], input: Float32Array, what: string): void {
  const rate = rateForward(snn, input);
  for (const l of snn.layers) {
    const a = ann[l.source], r = rate[l.index];
    const hw = l.outShape.h * l.outShape.w;
    assert.is(r.length, a.length, `${what} ${l.name}: size`);
    let scale = 0, err = 0;
    for (let i = 0; i < a.length; i++) {
      scale = Math.max(scale, Math.abs(a[i]));
      err = Math.max(err, Math.abs(r[i] * l.lambda[Math.floor(i / hw)] - a[i]));
    }
    assert.ok(err <= 1e-4 * scale, `${what} layer ${l.index} ${l.name}: max error ${err} vs scale ${scale}`);
  }
  for (const ro of snn.readouts) assert.is(snn.ann.layers[ro.head].inputs[0], snn.layers[ro.layer].source, `${what}: readout`);
}

let photo: RgbImage | undefined;
const samplePhoto = () => (photo ??= loadImage(faceSamplePhotos()[1]));
const modes: [NormMode, NormStatistic][] = [['channel', 'max'], ['layer', 'max'], ['percentile', 99.9], ['channel', 99.99]];

function checkModel(net: Network, fuseVariants: boolean[], label: string, which = modes): ActivationStats {
  const input = preprocess(net, samplePhoto());
  const stats = calibrateInputs(net, [input], ['photo']);
  const ann = forwardReference(net, input);
  for (const fuseLinear of fuseVariants) {
    for (const [norm, statistic] of which) {
      const snn = convertNetwork(net, stats, defaultSettings({ norm, statistic, fuseLinear }));
      assertEquivalent(snn, ann, input, `${label} ${norm} ${statistic} fuse=${fuseLinear}`);
    }
  }
  return stats;
}

test('rate-ANN equivalence: face detector at 224, fused and unfused, every norm mode', () => {
  const net = loadModel({ model: 'face', size: 224 });
  checkModel(net, [true, false], 'face224');
  const input = preprocess(net, samplePhoto());
  const stats = calibrateInputs(net, [input]);
  const fused = convertNetwork(net, stats, defaultSettings({ fuseLinear: true }));
  const apart = convertNetwork(net, stats, defaultSettings({ fuseLinear: false }));
  assert.ok(fused.layers.every((l) => l.kind !== 'conv' || (l.groups === 1 && l.rule !== 'signed')));
  assert.is(fused.layers.filter((l) => l.kind === 'conv').length, 7);
  const signed = apart.layers.filter((l): l is SnnConvLayer => l.kind === 'conv' && l.rule === 'signed');
  assert.is(signed.length, 5);
  for (const l of signed) {
    assert.is(l.vthNeg, l.vthPos);
    assert.is(l.groups, l.inShape.c);
  }
  // 'if' neurons: the rate ANN is the network with ReLU in place of leaky
  const reluNet = structuredClone(net);
  for (const l of reluNet.layers) if (l.kind === 'conv' && l.activation === 'leaky') l.activation = 'relu';
  for (const fuseLinear of [true, false]) {
    const snnIf = convertNetwork(net, stats, defaultSettings({ neuron: 'if', fuseLinear }));
    assertEquivalent(snnIf, forwardReference(reluNet, input), input, `face224 if fuse=${fuseLinear}`);
  }
});

test('rate-ANN equivalence: yolov2-tiny-voc (synthetic:1) at 128', () => {
  checkModel(loadModel({ model: 'yolov2-tiny-voc', weights: 'synthetic:1', size: 128 }), [true], 'yolov2-tiny-voc', modes.slice(0, 3));
});

test('rate-ANN equivalence: yolov3-tiny (synthetic:1, route + upsample, two heads) at 128', () => {
  const net = loadModel({ model: 'yolov3-tiny', weights: 'synthetic:1', size: 128 });
  const stats = checkModel(net, [true], 'yolov3-tiny', modes.slice(0, 3));
  const snn = convertNetwork(net, stats, defaultSettings());
  assert.is(snn.readouts.length, 2);
  const route = snn.layers.find((l) => l.kind === 'route' && l.layers.length === 2)!;
  assert.ok(route, 'the concatenating route');
  if (route.kind !== 'route') throw new Error('unreachable');
  const parts = route.layers.map((i) => Array.from(snn.layers[i].lambda));
  assert.equal(Array.from(route.lambda), parts.flat());
});

// ---------------------------------------------------------------------------------------------
// the .snn file

const tmp = mkdtempSync(join(tmpdir(), 'neuroemu-convert-'));
let faceSnn: SnnNetwork | undefined;
/** A .snn file's bytes with its header JSON changed by `edit` (prefix version `version`, lengths and padding redone). */
function rewriteHeader(b: Buffer, edit: (h: Record<string, unknown>) => void, version: number): Buffer {
  const hLen = b.readUInt32LE(12);
  const blobStart = 16 + hLen + ((8 - ((16 + hLen) % 8)) % 8);
  const h = JSON.parse(b.subarray(16, 16 + hLen).toString('utf8'));
  edit(h);
  const hb = Buffer.from(JSON.stringify(h), 'utf8');
  const prefix = Buffer.from(b.subarray(0, 16));
  prefix.writeUInt32LE(version, 8);
  prefix.writeUInt32LE(hb.length, 12);
  return Buffer.concat([prefix, hb, Buffer.alloc((8 - ((16 + hb.length) % 8)) % 8), b.subarray(blobStart)]);
}

function face224(): SnnNetwork {
  if (faceSnn) return faceSnn;
  const net = loadModel({ model: 'face', size: 224 });
  const snn = convertNetwork(net, calibrateInputs(net, [preprocess(net, samplePhoto())], ['sample2.jpg']), defaultSettings({ fuseLinear: false }));
  snn.annSpec = { model: 'face', size: 224 };
  return (faceSnn = snn);
}

test('file round trip: same bytes twice, loaded network deep-equals the original (ANN by spec and embedded)', () => {
  const snn = face224();
  const f1 = join(tmp, 'a.snn'), f2 = join(tmp, 'b.snn');
  saveSnn(f1, snn);
  saveSnn(f2, snn);
  assert.ok(readFileSync(f1).equals(readFileSync(f2)), 'identical bytes');
  assert.ok(isSnnFile(f1));
  assert.not.ok(isSnnFile(faceSamplePhotos()[0]));
  const back = loadSnn(f1);
  assert.equal(back, snn);
  assert.is(back.layers.length, snn.layers.length);
  assert.ok((back.layers[2] as SnnConvLayer).weights instanceof Float32Array);
  assert.is((back.layers[2] as SnnConvLayer).vthNeg, (snn.layers[2] as SnnConvLayer).vthNeg);
  assert.ok(encodeSnn(back).equals(readFileSync(f1)), 'a loaded network saves to the same bytes');
  // without a spec the ANN is embedded
  const { annSpec: _s, ...embedded } = snn;
  const f3 = join(tmp, 'c.snn');
  saveSnn(f3, embedded);
  assert.ok(readFileSync(f3).length > readFileSync(f1).length);
  assert.equal(loadSnn(f3), embedded);
  // the hand-made graph with Infinity thresholds and a route
  const net = graphNet();
  const g = convertNetwork(net, handStats(net, { 0: [2, 4], 2: [1, 3, 5] }), defaultSettings({ neuron: 'if' }));
  saveSnn(join(tmp, 'g.snn'), g);
  assert.equal(loadSnn(join(tmp, 'g.snn')), g);
  assert.ok(readdirSync(tmp).every((f) => !f.endsWith('.tmp')));
});

test('corrupted files are user errors naming the file and the field', () => {
  const snn = face224();
  const good = encodeSnn(snn);
  const file = join(tmp, 'bad.snn');
  const expectError = (bytes: Buffer, re: RegExp, what: string) => {
    writeFileSync(file, bytes);
    assert.throws(() => loadSnn(file), (e: unknown) => e instanceof UserError && e.message.includes(file) && re.test(e.message), what);
    try {
      loadSnn(file);
    } catch (e) {
      assert.match((e as Error).message, re, what);
    }
  };
  expectError(Buffer.from('hello world, not a network'), /magic/, 'magic');
  const v = Buffer.from(good);
  v.writeUInt32LE(99, 8);
  expectError(v, /formatVersion: 99 is not supported/, 'version');
  expectError(good.subarray(0, good.length - 100), /blobBytes.*truncated/, 'truncated blob');
  expectError(good.subarray(0, 200), /header.*truncated/, 'truncated header');
  expectError(Buffer.concat([good, Buffer.from([0, 0, 0, 0])]), /blobBytes.*unexpected data/, 'trailing bytes');
  const flip = Buffer.from(good);
  flip[flip.length - 5] ^= 0x40;
  expectError(flip, /blobSha256.*corrupted/, 'flipped bit');
  const hLen = good.readUInt32LE(12);
  const header = () => JSON.parse(good.subarray(16, 16 + hLen).toString('utf8'));
  const withHeader = (h0: unknown) => {
    // re-signed, as a writer of such a header would: the field checks below are what is tested
    const { headerSha256: _old, ...h } = h0 as Record<string, unknown>;
    const signed = { ...h, headerSha256: createHash('sha256').update(JSON.stringify(h)).digest('hex') };
    const json = Buffer.from(JSON.stringify(signed));
    const pre = Buffer.from(good.subarray(0, 16));
    pre.writeUInt32LE(json.length, 12);
    const blobStart = 16 + hLen + ((8 - ((16 + hLen) % 8)) % 8);
    const pad = Buffer.alloc((8 - ((16 + json.length) % 8)) % 8);
    return Buffer.concat([pre, json, pad, good.subarray(blobStart)]);
  };
  const broken = Buffer.from(good);
  broken[16] = 0x78;
  expectError(broken, /header: not valid JSON/, 'bad JSON');
  let h = header();
  h.layers[2].outShape.c = 99;
  expectError(withHeader(h), /layers\[2\]\.lambda: has 16 values, expected 99/, 'shape');
  h = header();
  h.layers[0].weights.$f32[1] = 5;
  expectError(withHeader(h), /layers\[0\]\.weights: has 5 values, expected 432/, 'weights length');
  h = header();
  h.layers[0].weights.$f32[0] = 1e9;
  expectError(withHeader(h), /layers\[0\]\.weights: bytes .* beyond/, 'offset');
  h = header();
  h.settings.neuron = 'lif';
  expectError(withHeader(h), /settings\.neuron/, 'settings');
  h = header();
  h.layers[3].rule = 'weird';
  expectError(withHeader(h), /layers\[3\]\.rule/, 'rule');
  h = header();
  h.readouts[0].layer = 0;
  expectError(withHeader(h), /readouts\[0\]\.layer/, 'readout');
  h = header();
  h.annSpec.size = 256;
  expectError(withHeader(h), /annSpec: re-imported model face has a different structure/, 'model changed');
  h = header();
  h.ann.fingerprint = '0'.repeat(64);
  expectError(withHeader(h), /ann\.fingerprint: the source model .* changed/, 'fingerprint');
  h = header();
  h.annSpec.model = '/nonexistent/model.cfg';
  expectError(withHeader(h), /annSpec: cannot re-import/, 'model gone');
});

// ---------------------------------------------------------------------------------------------
// CLI

const runConvert = (args: string[]) => captureCli(convertCommand as never, args);

test('CLI: convert the face detector with 2 sample photos at 224; the file loads back', async () => {
  const photos = faceSamplePhotos().slice(0, 2);
  const file = join(tmp, 'cli.snn');
  const r = await runConvert(['convert', '--model', 'face', '--size', '224', '--calib', ...photos, '--fuse-linear', 'true', '--out', file]);
  assert.ok(existsSync(file));
  assert.match(r.err, /calibrate \[2\/2\]/);
  assert.match(r.out, /norm channel \(max\), neuron ibt, sigma-delta IBT \(count follows leaky\(ΣI\)\), reset subtract, input analog, pool (gate|max), V₀ [0-9.]+(·vth)?(, burst ≤ \d spikes\/neuron\/tick)?, readout /);
  assert.match(r.out, /conv1\/depthwise\+conv1\/pointwise\s+conv\s+ibt/);
  assert.match(r.out, /conv8\s+conv\s+integrate\s+1\.000\s+1\.000\s+1\.000/);
  const snn = loadSnn(file);
  assert.equal(snn.annSpec, { model: 'face', size: 224 });
  assert.is(snn.ann.input.w, 224);
  assert.equal(snn.ann.classNames, ['face']);
  assert.equal(snn.calibration.images, photos);
  assert.ok(snn.calibration.hashes!.every((h) => /^[0-9a-f]{64}$/.test(h)));
  assert.equal(snn.settings, defaultSettings({ fuseLinear: true }));

  const f2 = join(tmp, 'cli2.snn');
  // the default keeps linear convs apart as signed neurons
  const r2 = await runConvert(['convert', '--size', '224', '--calib', photos[0], '--norm', 'percentile', '--neuron', 'if', '--reset', 'zero', '--out', f2]);
  assert.match(r2.out, /norm percentile \(p99\.9\)/);
  const s2 = loadSnn(f2);
  assert.equal(s2.settings, { ...defaultSettings({ norm: 'percentile', neuron: 'if', fuseLinear: false, reset: 'zero' }) });
  assert.ok(s2.layers.some((l) => l.kind === 'conv' && l.rule === 'signed'));

  const f3 = join(tmp, 'cli3.snn');
  const r3 = await runConvert(['convert', '--size', '224', '--calib', photos[0], '--lambda-side', 'both', '--out', f3]);
  assert.match(r3.out, /norm channel \(max\), λ over both sides, neuron ibt/);
  assert.match(r3.out, /positive outputs and of \|negative outputs\|, the larger/);
  assert.is(loadSnn(f3).settings.lambdaSide, 'both');

  const f4 = join(tmp, 'cli4.snn');
  const r4 = await runConvert(['convert', '--size', '224', '--calib', photos[0], '--burst', '3', '--no-sigma-delta', '--out', f4]);
  assert.match(r4.out, /neuron ibt, reset subtract, .*V₀ [0-9.]+·vth, burst ≤ 3 spikes\/neuron\/tick, readout/);
  assert.is(loadSnn(f4).settings.burst, 3);
  assert.is(loadSnn(f4).settings.sigmaDelta, false);
  assert.is(loadSnn(f4).formatVersion, 4);
  // the default: sigma-delta IBT neurons in every IBT layer that reads spikes (not the analog first layer)
  const sd = loadSnn(file);
  assert.is(sd.formatVersion, 5);
  const ibt = sd.layers.filter((l) => l.kind === 'conv' && l.rule === 'ibt') as SnnConvLayer[];
  assert.ok(ibt.length >= 5);
  assert.equal(ibt.map((l) => l.sigmaDelta === true), ibt.map((l) => l.inputs[0] >= 0));

  for (const [args, re] of [
    [['convert', '--calib', photos[0], '--statistic', 'abc', '--out', f2], /--statistic/],
    [['convert', '--calib', '/nonexistent.jpg', '--size', '64', '--out', f2], /nonexistent/],
    [['convert', '--calib', photos[0], '--burst', '1.5', '--out', f2], /--burst: 1\.5 must be an integer in 1\.\.8/],
    [['convert', '--calib', photos[0], '--burst', '9', '--out', f2], /--burst: 9 must be an integer in 1\.\.8/],
    [['convert', '--calib', photos[0], '--neuron', 'if', '--sigma-delta', '--out', f2], /--sigma-delta: sigma-delta neurons quantize leaky ReLU: they need --neuron ibt, not if/],
    [['convert', '--calib', photos[0], '--reset', 'zero', '--sigma-delta', '--out', f2], /sigmaDelta: sigma-delta neurons never reset their membrane: use reset subtract, not zero/],
  ] as const) {
    let caught: unknown;
    try {
      await runConvert([...args]);
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof UserError && re.test(caught.message), `${args.join(' ')}: ${String(caught)}`);
  }
  const help = await runConvert(['convert', '--help']);
  assert.match(help.out, /Examples:/);
});

test('format versions: classic dynamics 1, fixed-point 2, V₀ / readout warm-up / max-count pool 3, burst spikes 4, sigma-delta neurons 5; the header always says what the prefix says', async () => {
  const { quantizeForChip } = await import('../src/convert/quantize.ts');
  const net = loadModel({ model: 'face', size: 224 });
  const stats = calibrateInputs(net, [preprocess(net, samplePhoto())], ['sample2.jpg']);
  const classic = convertNetwork(net, stats, defaultSettings({ pool: 'gate', vInit: 0, readoutStart: 0, burst: 1, sigmaDelta: false }));
  const now = convertNetwork(net, stats, defaultSettings({ burst: 1, sigmaDelta: false }));
  const burst = convertNetwork(net, stats, defaultSettings({ burst: 2, sigmaDelta: false }));
  const delta = convertNetwork(net, stats, defaultSettings({ burst: 2, sigmaDelta: true }));
  const fixed = quantizeForChip(classic, { weightBits: 9, membraneBits: 20 }, { readoutTicks: 64 }).snn;
  const headerVersion = (b: Buffer) => JSON.parse(b.subarray(16, 16 + b.readUInt32LE(12)).toString('utf8')).formatVersion;
  for (const [snn, v, name] of [[classic, 1, 'classic'], [fixed, 2, 'fixed-point'], [now, 3, 'V₀, warm-up, max-count pool'], [burst, 4, 'burst'], [delta, 5, 'sigma-delta']] as const) {
    const b = encodeSnn(snn);
    assert.is(b.readUInt32LE(8), v, `${name}: prefix`);
    assert.is(headerVersion(b), v, `${name}: header`);
    const f = join(tmp, `v${v}.snn`);
    writeFileSync(f, b);
    assert.is(loadSnn(f).formatVersion, v, `${name}: loads back`);
  }
  // a version-3 network relabelled as version 1 (what an older writer could not have made) is refused
  const relabelled = rewriteHeader(encodeSnn(now), (h) => {
    h.formatVersion = 1;
    delete h.headerSha256; // a version-1 writer had no header checksum
  }, 1);
  const f = join(tmp, 'relabelled.snn');
  writeFileSync(f, relabelled);
  assert.throws(() => loadSnn(f), (e: unknown) => e instanceof UserError && /needs format version 3, the file says 1/.test(e.message));
  // one flipped bit in a threshold of the header: the header checksum catches it
  const good = encodeSnn(now);
  const hLen = good.readUInt32LE(12);
  const text = good.subarray(16, 16 + hLen).toString('utf8');
  const at = text.indexOf('"vthPos":') + '"vthPos":'.length;
  const flipped = Buffer.from(good);
  flipped[16 + at] ^= 0x01; // "1" → "0"
  writeFileSync(f, flipped);
  assert.throws(() => loadSnn(f), (e: unknown) => e instanceof UserError && /headerSha256: the header does not match its checksum/.test(e.message));
  // a version-3 file without the checksum is refused too
  writeFileSync(f, rewriteHeader(good, (h) => delete h.headerSha256, 3));
  assert.throws(() => loadSnn(f), /headerSha256: missing/);
  // a burst network relabelled as version 3 (an older reader would fire once a tick) is refused
  writeFileSync(f, rewriteHeader(encodeSnn(burst), (h) => {
    h.formatVersion = 3;
    delete h.headerSha256;
    h.headerSha256 = createHash('sha256').update(JSON.stringify(h)).digest('hex');
  }, 3));
  assert.throws(() => loadSnn(f), (e: unknown) => e instanceof UserError && /settings\.burst: 2 needs format version 4, the file says 3/.test(e.message));
  // a sigma-delta network relabelled as version 4 (an older reader would reset its neurons) is refused
  writeFileSync(f, rewriteHeader(encodeSnn(delta), (h) => {
    h.formatVersion = 4;
    delete h.headerSha256;
    h.headerSha256 = createHash('sha256').update(JSON.stringify(h)).digest('hex');
  }, 4));
  assert.throws(() => loadSnn(f), (e: unknown) => e instanceof UserError && /layers\[\d+\]\.sigmaDelta: sigma-delta neurons need format version 5, the file says 4/.test(e.message));
});

test('a .snn file with a NaN or overflowing weight or bias is refused, naming the layer and the index', () => {
  const snn = face224();
  for (const [field, value] of [['weights', NaN], ['weights', 3e38], ['biases', -Infinity]] as const) {
    const k = snn.layers.findIndex((l) => l.kind === 'conv');
    const l = snn.layers[k] as SnnConvLayer;
    const bad = { ...snn, layers: snn.layers.map((x, i) => (i === k ? { ...l, [field]: Float32Array.from(l[field], (v, j) => (j === 3 ? value : v)) } : x)) };
    const f = join(tmp, `bad-${field}.snn`);
    writeFileSync(f, encodeSnn(bad));
    assert.throws(() => loadSnn(f), (e: unknown) => e instanceof UserError && new RegExp(`layers\\[${k}\\]\\.${field}\\[3\\]`).test(e.message) && e.message.includes(f), `${field} = ${value}`);
  }
});

test.run();
