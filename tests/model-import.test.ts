import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultFaceManifest, faceApiPackageDir, loadFaceDetector, readTfjsManifest } from '../src/model/faceapi.ts';
import { buildDarknetNetwork, loadDarknetWeights, parseCfgText } from '../src/model/darknet.ts';
import { foldBatchNorm } from '../src/model/fold.ts';
import { networkStats } from '../src/model/stats.ts';
import type { ConvLayer } from '../src/model/ir.ts';

const binFile = join(faceApiPackageDir(), 'model', 'tiny_face_detector_model.bin');

test('face manifest: tensors sit at the byte offsets FACTS.md lists, dequantized as q*scale+min', () => {
  const manifest = JSON.parse(readFileSync(defaultFaceManifest(), 'utf8'));
  const bin = readFileSync(binFile);
  const t = readTfjsManifest(defaultFaceManifest());
  // FACTS.md §5 byte offsets of each tensor in the .bin (uint8, one byte per value)
  const offsets: Record<string, number> = {
    'conv0/filters': 0, 'conv0/bias': 432, 'conv1/depthwise_filter': 448, 'conv1/pointwise_filter': 592, 'conv1/bias': 1104,
    'conv2/depthwise_filter': 1136, 'conv3/pointwise_filter': 4112, 'conv5/bias': 179984, 'conv8/filters': 180496, 'conv8/bias': 193296,
  };
  assert.is(bin.length, 193321);
  for (const [name, off] of Object.entries(offsets)) {
    const w = manifest[0].weights.find((x: { name: string }) => x.name === name);
    const { scale, min } = w.quantization;
    const got = t.get(name)!.data;
    for (const i of [0, 1, got.length - 1]) assert.is(got[i], Math.fround(bin[off + i] * scale + min), `${name}[${i}]`);
  }
});

test('face detector IR: grid sizes per input size and HWIO→OIHW reordering', () => {
  const grids: Record<number, number> = { 416: 13, 320: 10, 224: 7, 128: 4 };
  for (const [size, g] of Object.entries(grids)) {
    const net = loadFaceDetector(undefined, Number(size));
    const head = net.layers[net.layers.length - 1];
    assert.equal([head.inShape.c, head.inShape.h, head.inShape.w], [25, g, g], `size ${size}`);
  }
  const net = loadFaceDetector(undefined, 416);
  // one uint8 per parameter in the .bin: the depthwise convs carry no bias
  assert.is(networkStats(net).params, readFileSync(binFile).length);
  assert.equal(net.layers.map((l) => l.outShape.h).filter((_, i) => [0, 1, 4, 7, 10, 13, 16].includes(i)), [414, 207, 104, 52, 26, 13, 13]);
  // conv0/filters is HWIO [3,3,3,16]: element (y=1, x=2, i=0, o=5) is at ((1*3+2)*3+0)*16+5
  const raw = readTfjsManifest(defaultFaceManifest()).get('conv0/filters')!.data;
  const conv0 = net.layers[0] as ConvLayer;
  assert.is(conv0.weights[((5 * 3 + 0) * 3 + 1) * 3 + 2], raw[((1 * 3 + 2) * 3 + 0) * 16 + 5]);
  const dw = net.layers[2] as ConvLayer; // conv1 depthwise [3,3,16,1]
  const rawDw = readTfjsManifest(defaultFaceManifest()).get('conv1/depthwise_filter')!.data;
  assert.is(dw.groups, 16);
  assert.is(dw.weights[(7 * 3 + 2) * 3 + 0], rawDw[(2 * 3 + 0) * 16 + 7]);
});

const tinyCfg = `[net]\nwidth=8\nheight=8\nchannels=1\n\n[convolutional]\nbatch_normalize=1\nfilters=2\nsize=1\nstride=1\npad=0\nactivation=leaky\n`;

function weightsFile(major: number, minor: number, floats: number[]): Uint8Array {
  const wide = major * 10 + minor >= 2;
  const buf = new Uint8Array((wide ? 20 : 16) + 4 * floats.length);
  const dv = new DataView(buf.buffer);
  dv.setInt32(0, major, true);
  dv.setInt32(4, minor, true);
  dv.setInt32(8, 0, true);
  let off = 12;
  if (wide) { dv.setBigUint64(12, 123456789012n, true); off = 20; } else { dv.setInt32(12, 77, true); off = 16; }
  for (const f of floats) { dv.setFloat32(off, f, true); off += 4; }
  return buf;
}

test('darknet weights: 32-bit seen before 0.2, 64-bit after; order biases, scales, mean, variance, weights', () => {
  // biases 0.5,-1; scales 2,3; mean 0.25,1; variance 4,9; weights 1.5,-2 (1x1 kernels, 1 input channel)
  const floats = [0.5, -1, 2, 3, 0.25, 1, 4, 9, 1.5, -2];
  for (const [major, minor, seen] of [[0, 1, 77], [0, 2, 123456789012], [1, 0, 123456789012]] as const) {
    const net = buildDarknetNetwork(parseCfgText(tinyCfg, 't.cfg'), 't.cfg');
    const hdr = loadDarknetWeights(net, weightsFile(major, minor, floats), 't.weights');
    assert.is(hdr.seen, seen);
    const conv = net.layers[0] as ConvLayer;
    assert.equal(Array.from(conv.biases), [0.5, -1]);
    assert.equal(Array.from(conv.bn!.variance), [4, 9]);
    assert.equal(Array.from(conv.weights), [1.5, -2]);
    // folding, by hand: s = scale/(sqrt(var)+1e-6); W' = W s; b' = bias - mean s
    foldBatchNorm(net);
    const s0 = 2 / (2 + 1e-6), s1 = 3 / (3 + 1e-6);
    assert.ok(Math.abs(conv.weights[0] - 1.5 * s0) < 1e-6 && Math.abs(conv.weights[1] + 2 * s1) < 1e-6);
    assert.ok(Math.abs(conv.biases[0] - (0.5 - 0.25 * s0)) < 1e-6 && Math.abs(conv.biases[1] - (-1 - 1 * s1)) < 1e-6);
    assert.is(conv.bn, undefined);
  }
});

test.run();
