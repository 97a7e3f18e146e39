/**
 * darknet layer semantics checked against numbers worked out by hand (no darknet needed): tiny
 * cfgs are parsed by our importer, given hand-set weights and run through the reference forward.
 * Sources for each rule: pjreddie/darknet src/parser.c (defaults), convolutional_layer.c (im2col
 * correlation, groups), batchnorm_layer.c / blas.c normalize_cpu, activations.h (leaky),
 * maxpool_layer.c, route_layer.c, upsample_layer.c. FLOP baseline: FACTS.md §1.6.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { forwardReference } from '../src/ann/reference.ts';
import { buildDarknetNetwork, parseCfgText } from '../src/model/darknet.ts';
import { foldBatchNorm } from '../src/model/fold.ts';
import type { ConvLayer, MaxPoolLayer, Network } from '../src/model/ir.ts';
import { loadModel } from '../src/model/load.ts';
import { networkStats } from '../src/model/stats.ts';

const f32 = Math.fround;

function netFrom(cfg: string): Network {
  return buildDarknetNetwork(parseCfgText(cfg, 'hand.cfg'), 'hand.cfg');
}

function convAt(net: Network, i: number): ConvLayer {
  const l = net.layers[i];
  if (l.kind !== 'conv') throw new Error(`layer ${i} is ${l.kind}`);
  return l;
}

function poolAt(net: Network, i: number): MaxPoolLayer {
  const l = net.layers[i];
  if (l.kind !== 'maxpool') throw new Error(`layer ${i} is ${l.kind}`);
  return l;
}

const run = (net: Network, input: number[]) => forwardReference(net, Float32Array.from(input)).map((o) => Array.from(o));

/** element-wise |a - b| <= tol·max(1, |b|) */
function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= tol * Math.max(1, Math.abs(expected[i])))) {
      assert.unreachable(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

const net1 = (w: number, h: number, c: number) => `[net]\nwidth=${w}\nheight=${h}\nchannels=${c}\n`;
const X3 = [1, 2, 3, 4, 5, 6, 7, 8, 9]; // 3×3, row-major
// out(y,x) = X(y-1,x) + 2·X(y+1,x+1): asymmetric, so a flipped (true) convolution would differ
const K3 = [0, 1, 0, 0, 0, 0, 0, 0, 2];

// ---- convolution ------------------------------------------------------------------------------

test('conv 3×3 on a 3×3 input, pad=1 stride 1: cross-correlation with zero padding', () => {
  const net = netFrom(`${net1(3, 3, 1)}[convolutional]\nfilters=1\nsize=3\nstride=1\npad=1\nactivation=linear\n`);
  const l = convAt(net, 0);
  assert.equal(l.outShape, { c: 1, h: 3, w: 3 });
  assert.is(l.pad, 1);
  l.weights.set(K3);
  //  (0,0): 0 + 2·5   (0,1): 0 + 2·6   (0,2): 0 + 0
  //  (1,0): 1 + 2·8   (1,1): 2 + 2·9   (1,2): 3 + 0
  //  (2,0): 4 + 0     (2,1): 5 + 0     (2,2): 6 + 0
  assert.equal(run(net, X3)[0], [10, 12, 0, 17, 20, 3, 4, 5, 6]);
});

test('conv 3×3, pad 0 (no pad key): one output, plus the bias', () => {
  const net = netFrom(`${net1(3, 3, 1)}[convolutional]\nfilters=1\nsize=3\nstride=1\nactivation=linear\n`);
  const l = convAt(net, 0);
  assert.equal(l.outShape, { c: 1, h: 1, w: 1 });
  l.weights.set(K3);
  l.biases[0] = 0.5;
  assert.equal(run(net, X3)[0], [20.5]);
});

test('conv 3×3, pad=1 stride 2: out = (3+2-3)/2+1 = 2, sampling the corners', () => {
  const net = netFrom(`${net1(3, 3, 1)}[convolutional]\nfilters=1\nsize=3\nstride=2\npad=1\nactivation=linear\n`);
  const l = convAt(net, 0);
  assert.equal(l.outShape, { c: 1, h: 2, w: 2 });
  l.weights.set(K3);
  assert.equal(run(net, X3)[0], [10, 0, 4, 6]);
});

test('padding rules: pad=1 means size/2 (0 for a 1×1 kernel); padding=N applies when pad=0', () => {
  const net = netFrom(`${net1(5, 5, 1)}[convolutional]\nfilters=1\nsize=1\nstride=1\npad=1\nactivation=linear\n` +
    `[convolutional]\nfilters=1\nsize=3\nstride=1\npadding=2\nactivation=linear\n` +
    `[convolutional]\nfilters=1\nsize=5\nstride=1\npad=1\npadding=0\nactivation=linear\n`);
  assert.is(convAt(net, 0).pad, 0);
  assert.equal(convAt(net, 0).outShape, { c: 1, h: 5, w: 5 });
  assert.is(convAt(net, 1).pad, 2);
  assert.equal(convAt(net, 1).outShape, { c: 1, h: 7, w: 7 }); // (5 + 4 - 3)/1 + 1
  assert.is(convAt(net, 2).pad, 2); // pad=1 wins over padding
});

test('grouped conv, 2 groups: filters take contiguous blocks of input channels', () => {
  // input channel c at pixel p = (p+1)·v_c, v = 1, 10, 100, 1000
  const v = [1, 10, 100, 1000];
  const input = v.flatMap((vc) => [1, 2, 3, 4].map((p) => p * vc));
  const two = netFrom(`${net1(2, 2, 4)}[convolutional]\nfilters=2\nsize=1\nstride=1\ngroups=2\nactivation=linear\n`);
  const l = convAt(two, 0);
  assert.is(l.weights.length, 2 * 2); // [filters][cin/groups]
  l.weights.set([2, 3, 5, 7]); // filter 0 ← channels 0,1; filter 1 ← channels 2,3
  // out0 = (p+1)(2·1 + 3·10) = 32(p+1); out1 = (p+1)(5·100 + 7·1000) = 7500(p+1)
  assert.equal(run(two, input)[0], [32, 64, 96, 128, 7500, 15000, 22500, 30000]);

  // 4 filters, 2 groups: filters 0,1 see channels 0,1 and filters 2,3 see channels 2,3 (block, not
  // interleaved): with one-hot weights the output is the input in order
  const four = netFrom(`${net1(2, 2, 4)}[convolutional]\nfilters=4\nsize=1\nstride=1\ngroups=2\nactivation=linear\n`);
  convAt(four, 0).weights.set([1, 0, 0, 1, 1, 0, 0, 1]);
  assert.equal(run(four, input)[0], input);
});

test('depthwise conv (groups = channels = filters): each output sees only its own channel', () => {
  const net = netFrom(`${net1(3, 3, 3)}[convolutional]\nfilters=3\nsize=3\nstride=1\npad=1\ngroups=3\nactivation=linear\n`);
  const l = convAt(net, 0);
  assert.is(l.weights.length, 3 * 9);
  l.weights.set([
    0, 0, 0, 0, 2, 0, 0, 0, 0, // channel 0: 2·X0(y,x)
    1, 0, 0, 0, 0, 0, 0, 0, 0, // channel 1: X1(y-1,x-1)
    0, 0, 0, 0, 0, 0, 0, 0, -1, // channel 2: -X2(y+1,x+1)
  ]);
  const input = [...X3, ...X3.map((x) => x + 10), ...X3.map((x) => x + 20)];
  const out = run(net, input)[0];
  assert.equal(out.slice(0, 9), [2, 4, 6, 8, 10, 12, 14, 16, 18]);
  assert.equal(out.slice(9, 18), [0, 0, 0, 0, 11, 12, 0, 14, 15]);
  assert.equal(out.slice(18, 27).map((x) => x + 0), [-25, -26, 0, -28, -29, 0, 0, 0, 0]);
});

// ---- batch norm and activation --------------------------------------------------------------------

test('batch norm: (x − mean)/(sqrt(var) + .000001)·scale + bias, kept and folded', () => {
  const cfg = `${net1(2, 2, 1)}[convolutional]\nbatch_normalize=1\nfilters=2\nsize=1\nstride=1\nactivation=linear\n`;
  const setup = (net: Network) => {
    const l = convAt(net, 0);
    assert.ok(l.bn, 'batch_normalize=1 keeps BN apart until folded');
    l.weights.set([2, 2]);
    l.biases.set([0.25, 0]);
    l.bn!.scales.set([1.5, 1]);
    l.bn!.mean.set([0.5, 0]);
    l.bn!.variance.set([4, 1e-12]); // filter 1: eps is added to sqrt(var), not to var
    return net;
  };
  const x = [1, 2, 3, 4];
  const expected = [
    ...x.map((v) => ((2 * v - 0.5) / (Math.sqrt(4) + 0.000001)) * 1.5 + 0.25),
    ...x.map((v) => ((2 * v - 0) / (Math.sqrt(1e-12) + 0.000001)) * 1 + 0), // = 1e6·v
  ];
  const kept = setup(netFrom(cfg));
  close(run(kept, x)[0], expected, 1e-6, 'BN kept');
  const folded = foldBatchNorm(setup(netFrom(cfg)));
  const lf = convAt(folded, 0);
  assert.is(lf.bn, undefined);
  assert.ok(folded.bnFolded);
  // W' = W·s, b' = bias − mean·s, s = scale/(sqrt(var) + eps)
  close(lf.weights, [2 * (1.5 / 2.000001), 2 * (1 / 2e-6)], 1e-6, 'folded weights');
  close(lf.biases, [0.25 - 0.5 * (1.5 / 2.000001), 0], 1e-6, 'folded biases');
  close(run(folded, x)[0], expected, 1e-6, 'BN folded');
  // the other common convention, sqrt(var + eps), would give ≈ 2000·v here, not 1e6·v
  assert.ok(Math.abs(expected[4] - 2 / Math.sqrt(1e-12 + 1e-6)) > 1e5);
});

test('leaky: x > 0 ? x : 0.1f·x in float32 (zero and positives pass unchanged)', () => {
  const net = netFrom(`${net1(5, 1, 1)}[convolutional]\nfilters=1\nsize=1\nstride=1\nactivation=leaky\n`);
  convAt(net, 0).weights[0] = 1;
  const x = [-5, -0.3, 0, 2.5, -1e-3];
  const out = run(net, x)[0];
  assert.equal(out, x.map((v) => (v > 0 ? f32(v) : f32(f32(0.1) * f32(v)))));
  close(out, [-0.5, -0.03, 0, 2.5, -1e-4], 1e-6, 'leaky by hand');
  // linear is the identity, relu clips
  const lin = netFrom(`${net1(5, 1, 1)}[convolutional]\nfilters=1\nsize=1\nstride=1\nactivation=linear\n[convolutional]\nfilters=1\nsize=1\nstride=1\nactivation=relu\n`);
  convAt(lin, 0).weights[0] = 1;
  convAt(lin, 1).weights[0] = 1;
  const [o0, o1] = run(lin, x);
  assert.equal(o0, x.map(f32));
  assert.equal(o1, x.map((v) => (v > 0 ? f32(v) : 0)));
});

// ---- max pool ---------------------------------------------------------------------------------------

test('maxpool 2/2 on 5×5: out (5+1−2)/2+1 = 3; the last window is a single column/row, padding never wins', () => {
  const net = netFrom(`${net1(5, 5, 1)}[maxpool]\nsize=2\nstride=2\n`);
  const l = poolAt(net, 0);
  assert.equal(l.outShape, { c: 1, h: 3, w: 3 });
  assert.is(l.padBegin, 0); // padding = size−1 = 1, offset −padding/2 = 0
  // all negative: X(y,x) = −(5y+x+1); a zero-padded pool would return 0 in the last row/column
  const x = Array.from({ length: 25 }, (_, i) => -(i + 1));
  assert.equal(run(net, x)[0], [-1, -3, -5, -11, -13, -15, -21, -23, -25]);
});

test('maxpool 2/1 keeps the size (13→13 in Tiny YOLO): the window is clipped at the bottom/right edge', () => {
  const net = netFrom(`${net1(3, 3, 1)}[maxpool]\nsize=2\nstride=1\n`);
  const l = poolAt(net, 0);
  assert.equal(l.outShape, { c: 1, h: 3, w: 3 });
  assert.is(l.padBegin, 0);
  // 1 5 2      max over [y..y+1]×[x..x+1] ∩ image
  // 3 4 9  →   5 9 9 / 8 9 9 / 8 7 7
  // 8 0 7
  assert.equal(run(net, [1, 5, 2, 3, 4, 9, 8, 0, 7])[0], [5, 9, 9, 8, 9, 9, 8, 7, 7]);
});

test('maxpool default padding = size−1 (3/2 centred windows); padding=0 drops the ragged edge', () => {
  const x = Array.from({ length: 25 }, (_, i) => i + 1); // X(y,x) = 5y+x+1
  const dflt = netFrom(`${net1(5, 5, 1)}[maxpool]\nsize=3\nstride=2\n`);
  assert.equal(poolAt(dflt, 0).outShape, { c: 1, h: 3, w: 3 }); // (5+2−3)/2+1
  assert.is(poolAt(dflt, 0).padBegin, 1);
  // window rows/cols 2i−1..2i+1 clipped to 0..4; the max is its bottom-right cell
  assert.equal(run(dflt, x)[0], [7, 9, 10, 17, 19, 20, 22, 24, 25]);
  const none = netFrom(`${net1(5, 5, 1)}[maxpool]\nsize=2\nstride=2\npadding=0\n`);
  assert.equal(poolAt(none, 0).outShape, { c: 1, h: 2, w: 2 }); // (5+0−2)/2+1
  assert.equal(run(none, x)[0], [7, 9, 17, 19]);
  // stride defaults to 1 and size to stride
  const bare = netFrom(`${net1(5, 5, 1)}[maxpool]\n`);
  assert.equal([poolAt(bare, 0).size, poolAt(bare, 0).stride], [1, 1]);
  assert.equal(run(bare, x)[0], x);
});

// ---- route and upsample -----------------------------------------------------------------------------

test('route concatenates channels in the order listed (relative and absolute indices)', () => {
  const net = netFrom(`${net1(2, 2, 1)}` +
    `[convolutional]\nfilters=1\nsize=1\nstride=1\nactivation=linear\n` + // 0: A = 2x
    `[convolutional]\nfilters=1\nsize=1\nstride=1\nactivation=linear\n` + // 1: B = 3A = 6x
    `[route]\nlayers=-1,0\n` + // 2: [B, A]
    `[route]\nlayers=0,1\n` + // 3: [A, B]
    `[route]\nlayers=-4\n`); // 4: A alone
  convAt(net, 0).weights[0] = 2;
  convAt(net, 1).weights[0] = 3;
  const outs = run(net, [1, 2, 3, 4]);
  assert.equal(net.layers[2].outShape, { c: 2, h: 2, w: 2 });
  assert.equal(outs[2], [6, 12, 18, 24, 2, 4, 6, 8]);
  assert.equal(outs[3], [2, 4, 6, 8, 6, 12, 18, 24]);
  assert.equal(outs[4], [2, 4, 6, 8]);
});

test('upsample stride 2: nearest neighbour, each value to a 2×2 block, per channel', () => {
  const net = netFrom(`${net1(2, 2, 1)}[convolutional]\nfilters=2\nsize=1\nstride=1\nactivation=linear\n[upsample]\nstride=2\n`);
  convAt(net, 0).weights.set([1, -1]);
  assert.equal(net.layers[1].outShape, { c: 2, h: 4, w: 4 });
  const out = run(net, [1, 2, 3, 4])[1];
  const plane = [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4];
  assert.equal(out, [...plane, ...plane.map((v) => -v)]);
});

// ---- the FLOP baseline ------------------------------------------------------------------------------

test('yolov2-tiny-voc @416: 3,485,520,896 MACs = 6.97 BFLOPs, per layer as in FACTS.md §1.6', () => {
  const net = loadModel({ model: 'yolov2-tiny-voc', size: 416, weightsOptional: true });
  const stats = networkStats(net);
  assert.is(stats.macs, 3_485_520_896);
  assert.is(stats.flops, 2 * 3_485_520_896);
  assert.is((stats.flops / 1e9).toFixed(2), '6.97');
  const convs = stats.layers.filter((l) => l.kind === 'conv');
  // FACTS.md §1.6 table, MACs in millions (rows 0, 1–4, 5, 6, 7, 8)
  const table = [74.76, 199.36, 199.36, 199.36, 199.36, 199.36, 797.44, 1594.88, 21.63];
  assert.equal(convs.map((l) => Number((l.macs / 1e6).toFixed(2))), table);
  // exact products: out_h·out_w·filters·cin·k²
  assert.equal(convs.map((l) => l.macs), [
    416 * 416 * 16 * 3 * 9, 208 * 208 * 32 * 16 * 9, 104 * 104 * 64 * 32 * 9, 52 * 52 * 128 * 64 * 9,
    26 * 26 * 256 * 128 * 9, 13 * 13 * 512 * 256 * 9, 13 * 13 * 1024 * 512 * 9, 13 * 13 * 1024 * 1024 * 9, 13 * 13 * 125 * 1024,
  ]);
  // max-pool, region: no MACs
  assert.ok(stats.layers.filter((l) => l.kind !== 'conv').every((l) => l.macs === 0));
  // "Conv weights are 15.86 M (VOC)"
  const weights = net.layers.reduce((a, l) => a + (l.kind === 'conv' ? l.weights.length : 0), 0);
  assert.is(weights, 15_855_536);
  assert.is((weights / 1e6).toFixed(2), '15.86');
  console.log(`yolov2-tiny-voc @416: ${stats.macs} MACs, ${(stats.flops / 1e9).toFixed(3)} BFLOPs, ${weights} conv weights`);
});

test.run();
