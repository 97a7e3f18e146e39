/**
 * WASM ANN kernels against the plain-TS reference (src/ann/reference.ts, float64 accumulation):
 * randomized small layers built by hand, then whole networks. Needs build/ann.wasm (npm run build).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { createAnnEngine } from '../src/ann/engine.ts';
import { forwardReference } from '../src/ann/reference.ts';
import { WasmAnn, instantiateAnn, loadAnnModule } from '../src/ann/wasm.ts';
import { loadImage } from '../src/image/decode.ts';
import { preprocess } from '../src/image/preprocess.ts';
import type { Activation, ConvLayer, Layer, MaxPoolLayer, Network, Shape } from '../src/model/ir.ts';
import { convOut, shapeSize } from '../src/model/ir.ts';
import { PROJECT_ROOT, loadModel } from '../src/model/load.ts';
import { gaussian, mulberry32 } from '../src/util/rng.ts';

const SAMPLE = join(PROJECT_ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo', 'sample1.jpg');

/** |wasm − reference| ≤ 1e-4 per 10 units of the layer's largest magnitude (at least 1e-4). */
function assertClose(net: Network, got: Float32Array[], want: Float32Array[], label: string): number {
  assert.is(got.length, want.length, `${label}: number of outputs`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const a = got[i], b = want[i];
    assert.is(a.length, b.length, `${label}: layer ${i} length`);
    let maxAbs = 0;
    for (let j = 0; j < b.length; j++) if (Number.isFinite(b[j])) maxAbs = Math.max(maxAbs, Math.abs(b[j]));
    const tol = 1e-4 * Math.max(1, maxAbs / 10);
    for (let j = 0; j < b.length; j++) {
      if (a[j] === b[j]) continue; // also equal infinities (empty pool windows)
      const d = Math.abs(a[j] - b[j]);
      if (!(d <= tol)) {
        assert.unreachable(`${label}: layer ${i} (${net.layers[i].kind}) element ${j}: wasm ${a[j]} vs reference ${b[j]} (tolerance ${tol})`);
      }
      worst = Math.max(worst, d / Math.max(1, maxAbs / 10));
    }
  }
  return worst;
}

function makeNet(name: string, input: Shape, layers: Layer[]): Network {
  return {
    name, source: 'hand-built test layers', format: 'darknet', input, preprocess: { kind: 'darknet-letterbox' },
    layers, nmsIou: 0.45, scoreThreshold: 0.5, bnFolded: true,
  };
}

interface ConvSpec {
  filters: number;
  size: number;
  stride: number;
  pad: number;
  groups: number;
  activation: Activation;
  leakySlope?: number;
}

/** A conv layer with seeded He-style random weights and biases. */
function conv(index: number, input: number, inShape: Shape, s: ConvSpec, rand: () => number): ConvLayer {
  const normal = gaussian(rand);
  const cinG = inShape.c / s.groups;
  const fanIn = cinG * s.size * s.size;
  const std = Math.sqrt(2 / fanIn);
  const weights = Float32Array.from({ length: s.filters * fanIn }, () => std * normal());
  const biases = Float32Array.from({ length: s.filters }, () => 0.3 * normal());
  return {
    kind: 'conv', index, name: `conv${index}`, inputs: [input], inShape,
    outShape: { c: s.filters, h: convOut(inShape.h, s.size, s.stride, s.pad), w: convOut(inShape.w, s.size, s.stride, s.pad) },
    filters: s.filters, size: s.size, stride: s.stride, pad: s.pad, groups: s.groups,
    activation: s.activation, leakySlope: s.leakySlope ?? 0.1, weights, biases,
  };
}

function maxpool(index: number, input: number, inShape: Shape, size: number, stride: number, padBegin: number): MaxPoolLayer {
  // darknet: total padding size-1 by default; here at least 2·padBegin so both edges are covered
  const padTotal = Math.max(size - 1, 2 * padBegin);
  const out = (n: number) => Math.floor((n + padTotal - size) / stride) + 1;
  return { kind: 'maxpool', index, name: `max${index}`, inputs: [input], inShape, outShape: { c: inShape.c, h: out(inShape.h), w: out(inShape.w) }, size, stride, padBegin };
}

function randomInput(s: Shape, rand: () => number): Float32Array {
  return Float32Array.from({ length: shapeSize(s) }, () => 2 * rand() - 1);
}

function compareNet(net: Network, input: Float32Array, label: string): number {
  const engine = createAnnEngine(net, 'wasm');
  return assertClose(net, engine.forward(input), forwardReference(net, input), label);
}

// ---------------------------------------------------------------------------------------------

test('conv: k 1/3/5, stride 1/2, pad 0/1/2, groups 1/2/depthwise, every activation, odd sizes', () => {
  const rand = mulberry32(20240601);
  const acts: [Activation, number][] = [['linear', 0.1], ['leaky', 0.1], ['relu', 0.1], ['leaky', 0.25]];
  let n = 0;
  for (const size of [1, 3, 5]) for (const stride of [1, 2]) for (const pad of [0, 1, 2]) for (const kind of ['dense', 'groups2', 'depthwise'] as const) {
    const [activation, leakySlope] = acts[n % acts.length];
    const h = 7 + 2 * (n % 4), w = 9 + 2 * ((n >> 1) % 3); // odd, non-square
    let cin: number, filters: number, groups: number;
    if (kind === 'dense') [cin, filters, groups] = [[3, 7], [5, 13], [13, 21], [8, 12]][n % 4].concat(1) as [number, number, number];
    else if (kind === 'groups2') [cin, filters, groups] = [[6, 10, 2], [10, 6, 2], [4, 4, 2]][n % 3] as [number, number, number];
    else [cin, filters, groups] = [[5, 5, 5], [16, 16, 16], [7, 7, 7]][n % 3] as [number, number, number];
    const input: Shape = { c: cin, h, w };
    if (convOut(h, size, stride, pad) < 1 || convOut(w, size, stride, pad) < 1) continue;
    const l = conv(0, -1, input, { filters, size, stride, pad, groups, activation, leakySlope }, rand);
    const net = makeNet(`conv k${size} s${stride} p${pad} ${kind}`, input, [l]);
    compareNet(net, randomInput(input, rand), `${net.name} ${cin}->${filters} ${h}x${w} ${activation}(${leakySlope})`);
    n++;
  }
  assert.ok(n >= 50, `ran ${n} cases`);
});

test('conv: grouped with channel multiplier, many groups, 1x1 wide layers, tiny outputs', () => {
  const rand = mulberry32(7);
  const cases: [Shape, ConvSpec][] = [
    [{ c: 6, h: 9, w: 11 }, { filters: 12, size: 3, stride: 1, pad: 1, groups: 6, activation: 'leaky' }], // depthwise ×2
    [{ c: 12, h: 5, w: 7 }, { filters: 18, size: 3, stride: 2, pad: 1, groups: 3, activation: 'relu' }],
    [{ c: 24, h: 4, w: 4 }, { filters: 16, size: 1, stride: 1, pad: 0, groups: 4, activation: 'linear' }],
    [{ c: 67, h: 5, w: 3 }, { filters: 45, size: 1, stride: 1, pad: 0, groups: 1, activation: 'leaky' }],
    [{ c: 40, h: 3, w: 1 }, { filters: 9, size: 3, stride: 1, pad: 1, groups: 1, activation: 'leaky' }], // 3 output pixels
    [{ c: 3, h: 2, w: 1 }, { filters: 4, size: 3, stride: 2, pad: 2, groups: 1, activation: 'relu' }],
    [{ c: 33, h: 15, w: 13 }, { filters: 64, size: 5, stride: 2, pad: 2, groups: 1, activation: 'leaky' }],
  ];
  for (const [input, spec] of cases) {
    const net = makeNet('conv', input, [conv(0, -1, input, spec, rand)]);
    compareNet(net, randomInput(input, rand), `${input.c}x${input.h}x${input.w} -> ${JSON.stringify(spec)}`);
  }
});

test('conv: batch norm still attached is folded on the engine copy, the Network is untouched', () => {
  const rand = mulberry32(99);
  const input: Shape = { c: 5, h: 9, w: 7 };
  const l = conv(0, -1, input, { filters: 6, size: 3, stride: 1, pad: 1, groups: 1, activation: 'leaky' }, rand);
  l.bn = {
    scales: Float32Array.from({ length: 6 }, () => 0.5 + rand()),
    mean: Float32Array.from({ length: 6 }, () => rand() - 0.5),
    variance: Float32Array.from({ length: 6 }, () => 0.2 + rand()),
    eps: 0.000001,
  };
  const net = makeNet('bn', input, [l]);
  net.bnFolded = false;
  const before = Float32Array.from(l.weights);
  compareNet(net, randomInput(input, rand), 'conv with bn');
  assert.equal(Array.from(l.weights), Array.from(before));
  assert.ok(l.bn);
});

test('maxpool: 2/2, 2/1, 3/2 with padBegin 0 and 1 on odd sizes (out-of-range cells ignored, not zero)', () => {
  const rand = mulberry32(3);
  for (const [size, stride] of [[2, 2], [2, 1], [3, 2]]) for (const padBegin of [0, 1]) for (const [c, h, w] of [[5, 7, 9], [16, 11, 11], [4, 1, 3]]) {
    const input: Shape = { c, h, w };
    // all-negative input: a zero-padded window would show up as 0
    const x = Float32Array.from({ length: shapeSize(input) }, () => -0.1 - rand());
    const net = makeNet('pool', input, [maxpool(0, -1, input, size, stride, padBegin)]);
    compareNet(net, x, `maxpool ${size}/${stride} padBegin ${padBegin} on ${c}x${h}x${w}`);
  }
  // and after a leaky conv whose output buffer carries a zero border for another consumer
  const input: Shape = { c: 3, h: 13, w: 11 };
  const c0 = conv(0, -1, input, { filters: 7, size: 3, stride: 1, pad: 1, groups: 1, activation: 'leaky' }, rand);
  const p1 = maxpool(1, 0, c0.outShape, 3, 2, 1);
  const c2 = conv(2, 0, c0.outShape, { filters: 5, size: 5, stride: 1, pad: 2, groups: 1, activation: 'linear' }, rand);
  const net = makeNet('pool after conv', input, [c0, p1, c2]);
  for (let i = 0; i < net.layers.length; i++) net.layers[i].index = i;
  compareNet(net, randomInput(input, rand), net.name);
});

test('route and upsample: channel counts not multiples of 4, bordered sources, conv after both', () => {
  const rand = mulberry32(11);
  const input: Shape = { c: 3, h: 9, w: 7 };
  const a = conv(0, -1, input, { filters: 5, size: 3, stride: 1, pad: 1, groups: 1, activation: 'leaky' }, rand);
  const b = conv(1, 0, a.outShape, { filters: 6, size: 3, stride: 2, pad: 2, groups: 1, activation: 'leaky' }, rand);
  const s = a.outShape;
  const up: Layer = { kind: 'upsample', index: 2, name: 'up', inputs: [1], inShape: b.outShape, outShape: { c: 6, h: b.outShape.h * 2, w: b.outShape.w * 2 }, stride: 2 };
  assert.equal([up.outShape.h, up.outShape.w], [12, 10]);
  // route needs equal spatial sizes: crop-free design, so route a (9x7) with the input (9x7)
  const r1: Layer = { kind: 'route', index: 3, name: 'route', inputs: [0, -1], inShape: s, outShape: { c: 5 + 3, h: 9, w: 7 }, layers: [0, -1] };
  const c4 = conv(4, 3, r1.outShape, { filters: 7, size: 3, stride: 1, pad: 1, groups: 1, activation: 'relu' }, rand);
  const r2: Layer = { kind: 'route', index: 5, name: 'route2', inputs: [4, 0, 3], inShape: c4.outShape, outShape: { c: 7 + 5 + 8, h: 9, w: 7 }, layers: [4, 0, 3] };
  const c6 = conv(6, 2, up.outShape, { filters: 9, size: 3, stride: 1, pad: 1, groups: 1, activation: 'leaky' }, rand);
  const up7: Layer = { kind: 'upsample', index: 7, name: 'up3', inputs: [5], inShape: r2.outShape, outShape: { c: 20, h: 27, w: 21 }, stride: 3 };
  const r8: Layer = { kind: 'route', index: 8, name: 'route1', inputs: [6], inShape: c6.outShape, outShape: c6.outShape, layers: [6] };
  const net = makeNet('route/upsample', input, [a, b, up, r1, c4, r2, c6, up7, r8]);
  compareNet(net, randomInput(input, rand), net.name);
});

test('whole network: face detector at 224 on sample1.jpg', () => {
  const net = loadModel({ model: 'face', size: 224 });
  const input = preprocess(net, loadImage(SAMPLE));
  const want = forwardReference(net, input);
  const got = createAnnEngine(net, 'wasm').forward(input);
  const worst = assertClose(net, got, want, 'face 224');
  assert.ok(worst < 1e-4);
  const head = net.layers.length - 1;
  assert.ok(got[head] === got[head - 1], 'a head returns its input array');
});

test('whole network: yolov2-tiny-voc (synthetic:1) at 128 and yolov3-tiny (synthetic:1) at 128', () => {
  const img = loadImage(SAMPLE);
  for (const model of ['yolov2-tiny-voc', 'yolov3-tiny']) {
    const net = loadModel({ model, weights: 'synthetic:1', size: 128 });
    const input = preprocess(net, img);
    assertClose(net, createAnnEngine(net, 'wasm').forward(input), forwardReference(net, input), `${model} 128`);
  }
});

test('engine: repeatable, reusable outputs, independent instances of one module, reference kind', () => {
  const net = loadModel({ model: 'face', size: 128 });
  const input = randomInput(net.input, mulberry32(5));
  const mod = loadAnnModule();
  assert.ok(loadAnnModule() === mod, 'module compiled once');
  const a = new WasmAnn(net, { kernels: instantiateAnn(mod) });
  const b = new WasmAnn(net, { kernels: instantiateAnn(mod) });
  const first = a.forward(input);
  const other = b.forward(input);
  const again = a.forward(input);
  for (let i = 0; i < first.length; i++) {
    assert.equal(Array.from(first[i]), Array.from(other[i]), `instances agree on layer ${i}`);
    assert.equal(Array.from(first[i]), Array.from(again[i]), `repeatable on layer ${i}`);
  }
  const reuse = createAnnEngine(net, 'wasm', { reuseOutputs: true });
  const r1 = reuse.forward(input);
  const r2 = reuse.forward(input.map((v) => -v));
  assert.ok(r1[0] === r2[0], 'reuseOutputs returns the same arrays');
  const ref = createAnnEngine(net, 'reference');
  assert.is(ref.kind, 'reference');
  assertClose(net, createAnnEngine(net, 'wasm').forward(input), ref.forward(input), 'facade kinds agree');
  // laying out another network in an instance invalidates the first user
  const k = instantiateAnn(mod);
  const first2 = new WasmAnn(net, { kernels: k });
  new WasmAnn(net, { kernels: k }).forward(input);
  assert.throws(() => first2.forward(input), /no longer owns/);
});

test('a missing build/ann.wasm tells the user to run npm run build', () => {
  assert.throws(() => loadAnnModule('/nonexistent/build/ann.wasm'), /npm run build/);
});

test.run();
