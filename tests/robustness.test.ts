/**
 * Robustness of model and image import: every malformed input a user can hand us must end in a
 * UserError whose one-line message names the file (and line or field) and says what is wrong;
 * never a TypeError/RangeError, a hang, a huge allocation or a silently different model.
 * Fixtures are built in a temp dir from the real files (copy + mutate), except a few small cfgs
 * under tests/fixtures/bad/.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { UserError } from '../src/util/errors.ts';
import { buildDarknetNetwork, darknetWeightFloats, loadDarknetWeights, parseCfgText } from '../src/model/darknet.ts';
import { defaultFaceManifest, faceApiPackageDir, loadFaceDetector, readTfjsManifest } from '../src/model/faceapi.ts';
import { foldBatchNorm } from '../src/model/fold.ts';
import type { ConvLayer, Network } from '../src/model/ir.ts';
import { BUNDLED_CFG_DIR, loadModel } from '../src/model/load.ts';
import { syntheticDarknetWeights } from '../src/model/synthetic.ts';
import { decodeImage, loadImage } from '../src/image/decode.ts';
import { mulberry32 } from '../src/util/rng.ts';

const tmp = mkdtempSync(join(tmpdir(), 'neuroemu-robust-'));
const BAD = new URL('./fixtures/bad/', import.meta.url).pathname;
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs fn, asserts it throws a one-line UserError containing every `parts`; returns the message. */
function userError(fn: () => unknown, ...parts: (string | RegExp)[]): string {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  if (err === undefined) assert.unreachable(`expected a UserError containing ${parts.join(' / ')}, nothing was thrown`);
  if (!(err instanceof UserError)) throw new Error(`expected a UserError containing ${parts.join(' / ')}, got ${(err as Error)?.stack ?? String(err)}`);
  const msg = err.message;
  assert.not.match(msg, /[\r\n]/, `message is not one line: ${JSON.stringify(msg)}`);
  for (const p of parts) {
    if (typeof p === 'string') assert.ok(msg.includes(p), `message ${JSON.stringify(msg)} lacks ${JSON.stringify(p)}`);
    else assert.match(msg, p, `message ${JSON.stringify(msg)} does not match ${p}`);
  }
  return msg;
}

/** Records the largest typed array / ArrayBuffer constructed while fn runs. */
function largestAllocation(fn: () => unknown): { floats: number; error: unknown } {
  const G = globalThis as unknown as Record<string, unknown>;
  const saved = { Float32Array: G.Float32Array, Float64Array: G.Float64Array, ArrayBuffer: G.ArrayBuffer };
  let floats = 0;
  const note = (n: unknown) => {
    if (typeof n === 'number' && n > floats) floats = n;
  };
  G.Float32Array = class extends Float32Array {
    constructor(...args: unknown[]) {
      note(args[0]);
      super(...(args as [number]));
    }
  };
  G.Float64Array = class extends Float64Array {
    constructor(...args: unknown[]) {
      note(args[0]);
      super(...(args as [number]));
    }
  };
  G.ArrayBuffer = class extends ArrayBuffer {
    constructor(n: number) {
      note(n / 4);
      super(n);
    }
  };
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  } finally {
    Object.assign(G, saved);
  }
  return { floats, error };
}

// ---------------------------------------------------------------------------------------------
// darknet weights

/** A small detector with batch norm on the first conv: 8 filters, then a plain 30-filter conv. */
const SMALL_CFG = `[net]
width=32
height=32
channels=3

[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
filters=30
size=1
activation=linear

[region]
anchors=1,1,2,2,3,3,4,4,5,5
classes=1
num=5
`;
const smallNet = () => buildDarknetNetwork(parseCfgText(SMALL_CFG, 'small.cfg'), 'small.cfg');
// floats: conv0 biases 8 + bn 24 + weights 8*3*9=216; conv1 biases 30 + weights 30*8 = 240
const SMALL_FLOATS = 8 + 24 + 216 + 30 + 240;
const smallWeights = (seed = 1) => syntheticDarknetWeights(smallNet(), seed);
/** byte offsets in the small weights file (header 20 bytes, version 0.2) */
const OFF = { bias0: 20, scales0: 20 + 8 * 4, mean0: 20 + 16 * 4, var0: 20 + 24 * 4, w0: 20 + 32 * 4, w1: 20 + (8 + 24 + 216 + 30) * 4 };

test('weights: the small fixture network is what the offsets assume, and loads', () => {
  const net = smallNet();
  assert.is(darknetWeightFloats(net), SMALL_FLOATS);
  const buf = smallWeights();
  assert.is(buf.length, 20 + 4 * SMALL_FLOATS);
  loadDarknetWeights(net, buf, 'small.weights');
  const c0 = net.layers[0] as ConvLayer;
  assert.is(c0.weights[0], new DataView(buf.buffer).getFloat32(OFF.w0, true));
  assert.is(c0.bn!.variance[0], new DataView(buf.buffer).getFloat32(OFF.var0, true));
});

test('weights: truncated anywhere, header included, names the file and says truncated', () => {
  const buf = smallWeights();
  const rand = mulberry32(7);
  const cuts = [0, 1, 3, 4, 8, 12, 15, 16, 17, 19, 20, 21, 24, buf.length - 4, buf.length - 1];
  for (let i = 0; i < 40; i++) cuts.push(Math.floor(rand() * buf.length));
  for (const cut of cuts) {
    userError(() => loadDarknetWeights(smallNet(), buf.subarray(0, cut), 'cut.weights'), 'cut.weights', 'truncated');
  }
  // the same with the old 16-byte header (version 0.1: 32-bit `seen`)
  const old = new Uint8Array(buf.length - 4);
  old.set(buf.subarray(0, 12));
  new DataView(old.buffer).setInt32(4, 1, true);
  old.set(buf.subarray(20), 16);
  loadDarknetWeights(smallNet(), old, 'old.weights');
  for (const cut of [15, 16, 17, 100, old.length - 1]) userError(() => loadDarknetWeights(smallNet(), old.subarray(0, cut), 'old.weights'), 'old.weights', 'truncated');
});

test('weights: extra bytes are refused (weights for another cfg)', () => {
  const buf = smallWeights();
  for (const extra of [1, 4, 1000]) {
    const big = new Uint8Array(buf.length + extra);
    big.set(buf);
    userError(() => loadDarknetWeights(smallNet(), big, 'big.weights'), 'big.weights', `${extra} bytes beyond`);
  }
});

test('weights: a header with an implausible version is not a darknet weights file', () => {
  for (const [major, minor] of [[-1, 2], [0, -5], [0x3f800000, 0], [1234567, 2], [0, 1 << 30], [5000, 1]]) {
    const buf = smallWeights();
    const dv = new DataView(buf.buffer);
    dv.setInt32(0, major, true);
    dv.setInt32(4, minor, true);
    userError(() => loadDarknetWeights(smallNet(), buf, 'v.weights'), 'v.weights', 'implausible header version', `${major}.${minor}`);
  }
  // a JPEG or a text file handed in as weights
  const text = new TextEncoder().encode('[net]\nwidth=416\nheight=416\n'.repeat(400));
  userError(() => loadDarknetWeights(smallNet(), text, 'cfg-as.weights'), 'cfg-as.weights');
});

test('weights: NaN and Inf values name the layer, the array, the index and the byte', () => {
  const cases: [number, number, RegExp][] = [
    [OFF.bias0 + 4, NaN, /layer 0 biases\[1\] is NaN \(byte 24\)/],
    [OFF.scales0, Infinity, /layer 0 scales\[0\] is Infinity/],
    [OFF.mean0 + 8, -Infinity, /layer 0 rolling_mean\[2\] is -Infinity/],
    [OFF.w0 + 40, NaN, /layer 0 weights\[10\] is NaN/],
    [OFF.w1 + 4 * 239, Infinity, new RegExp(`layer 2 weights\\[239\\] is Infinity \\(byte ${OFF.w1 + 4 * 239}\\)`)],
  ];
  for (const [off, v, re] of cases) {
    const buf = smallWeights();
    new DataView(buf.buffer).setFloat32(off, v, true);
    userError(() => loadDarknetWeights(smallNet(), buf, 'nan.weights'), 'nan.weights', re);
  }
});

test('weights: a negative rolling variance is refused', () => {
  const buf = smallWeights();
  new DataView(buf.buffer).setFloat32(OFF.var0 + 12, -0.5, true);
  userError(() => loadDarknetWeights(smallNet(), buf, 'var.weights'), 'var.weights', 'layer 0 rolling_variance[3]', 'negative');
});

test('weights: values that would overflow float32 when batch norm is folded are refused', () => {
  // variance 0 and a large scale: s = scale / 1e-6; a weight of 1e33 then overflows float32
  const buf = smallWeights();
  const dv = new DataView(buf.buffer);
  dv.setFloat32(OFF.var0, 0, true);
  dv.setFloat32(OFF.scales0, 1e3, true);
  dv.setFloat32(OFF.w0, 1e30, true);
  userError(() => loadDarknetWeights(smallNet(), buf, 'fold.weights'), 'fold.weights', 'layer 0');
  // and a value no trained network has (a flipped exponent bit)
  const buf2 = smallWeights();
  new DataView(buf2.buffer).setFloat32(OFF.w1, 3e37, true);
  userError(() => loadDarknetWeights(smallNet(), buf2, 'huge.weights'), 'huge.weights', 'layer 2 weights[0]', 'implausibly large');
  // a zero variance alone is legitimate (dead filter) and folds to finite numbers
  const buf3 = smallWeights();
  new DataView(buf3.buffer).setFloat32(OFF.var0, 0, true);
  const net = smallNet();
  loadDarknetWeights(net, buf3, 'zero-var.weights');
  foldBatchNorm(net);
  for (const l of net.layers) if (l.kind === 'conv') for (const v of [...l.weights, ...l.biases]) assert.ok(Number.isFinite(v));
});

function writeCfgAndWeights(name: string, weights: Uint8Array | null): { cfg: string; weights: string } {
  const cfg = join(tmp, `${name}.cfg`);
  writeFileSync(cfg, SMALL_CFG);
  const w = join(tmp, `${name}.weights`);
  if (weights) writeFileSync(w, weights);
  return { cfg, weights: w };
}

test('weights files: zero-size, a directory, a missing file (through loadModel)', () => {
  const empty = writeCfgAndWeights('empty', new Uint8Array(0));
  userError(() => loadModel({ model: empty.cfg, weights: empty.weights }), empty.weights, 'empty');
  const dir = join(tmp, 'adir.weights');
  mkdirSync(dir);
  userError(() => loadModel({ model: empty.cfg, weights: dir }), dir, 'not a regular file');
  const missing = join(tmp, 'nosuch.weights');
  userError(() => loadModel({ model: empty.cfg, weights: missing }), missing, 'does not exist');
  // and a good file loads through the same path
  const ok = writeCfgAndWeights('ok', smallWeights());
  const net = loadModel({ model: ok.cfg, weights: ok.weights });
  assert.is(net.layers.length, 4);
});

test('weights: real-size yolov2-tiny-voc synthetic weights, truncated or padded by one float', () => {
  const cfg = join(BUNDLED_CFG_DIR, 'yolov2-tiny-voc.cfg');
  const mk = () => buildDarknetNetwork(parseCfgText(readFileSync(cfg, 'utf8'), cfg), cfg, { size: 64 });
  const buf = syntheticDarknetWeights(mk(), 3);
  assert.is(buf.length, 20 + 4 * 15867885);
  userError(() => loadDarknetWeights(mk(), buf.subarray(0, buf.length - 4), 'voc.weights'), 'voc.weights', 'truncated', 'needs 63471540 bytes');
  const big = new Uint8Array(buf.length + 4);
  big.set(buf);
  userError(() => loadDarknetWeights(mk(), big, 'voc.weights'), 'voc.weights', '4 bytes beyond');
});

// ---------------------------------------------------------------------------------------------
// cfg

const NET = '[net]\nwidth=64\nheight=64\nchannels=3\n';
const CONV = (filters: number, extra = '') => `[convolutional]\nfilters=${filters}\nsize=3\nstride=1\npad=1\nactivation=leaky\n${extra}`;
const build = (text: string, opts = {}): Network => buildDarknetNetwork(parseCfgText(text, 'bad.cfg'), 'bad.cfg', opts);
/** 1-based line number of the first line equal to `line` (after trimming) */
const lineOf = (text: string, line: string, from = 0) => text.split('\n').findIndex((l, i) => i >= from && l.trim() === line) + 1;

test('cfg: unknown section, unknown key, duplicate key name the line', () => {
  let t = NET + CONV(16) + '[shortcut]\nfrom=-3\n';
  userError(() => build(t), `bad.cfg:${lineOf(t, '[shortcut]')}`, 'unsupported section [shortcut]');
  t = NET + CONV(16).replace('filters', 'fliters');
  userError(() => build(t), `bad.cfg:${lineOf(t, 'fliters=16')}`, 'unknown key "fliters" in [convolutional]');
  t = NET + CONV(16) + 'size=5\n';
  userError(() => build(t), `bad.cfg:${lineOf(t, 'size=5')}`, 'duplicate key "size"');
  t = NET + 'width=32\n' + CONV(16);
  userError(() => build(t), 'bad.cfg:5', 'duplicate key "width" in [net]');
  t = NET + CONV(16) + 'activation\n';
  userError(() => build(t), `bad.cfg:${lineOf(t, 'activation')}`, 'expected key=value');
  t = NET + CONV(16) + '=3\n';
  userError(() => build(t), `bad.cfg:${lineOf(t, '=3')}`, 'expected key=value');
});

test('cfg: bad numbers name the line, the section and the key', () => {
  const cases: [string, string, RegExp][] = [
    ['size=3', 'size=3x', /\[convolutional\] size: "3x" is not an integer/],
    ['filters=16', 'filters=-1', /\[convolutional\] filters: -1 is out of range/],
    ['stride=1', 'stride=0', /\[convolutional\] stride: 0 is out of range/],
    ['filters=16', 'filters=', /filters: "" is not an integer/],
    ['filters=16', 'filters=1e3', /filters: "1e3" is not an integer/],
    ['filters=16', 'filters=99999999999999999999999', /filters: .* is out of range/],
    ['size=3', 'size=0x10', /size: "0x10" is not an integer/],
  ];
  for (const [from, to, re] of cases) {
    const t = NET + CONV(16).replace(from, to);
    userError(() => build(t), `bad.cfg:${lineOf(t, to)}`, re);
  }
  const head = '[convolutional]\nfilters=30\nsize=1\nactivation=linear\n[region]\nclasses=1\nnum=5\n';
  let t = NET + head + 'anchors=1,2,x,4,5,6,7,8,9,10\n';
  userError(() => build(t), `bad.cfg:${lineOf(t, 'anchors=1,2,x,4,5,6,7,8,9,10')} [region] anchors`, '"x" is not a number');
  t = NET + head + 'anchors=1,2,Infinity,4,5,6,7,8,9,10\n';
  userError(() => build(t), '[region] anchors', '"Infinity" is not a number');
  t = NET + head + 'anchors=1,2,3\n';
  userError(() => build(t), '[region] anchors', 'expected 10 values for num=5, got 3');
  build(NET + head + 'anchors=1,2,3,4,5,6,7,8,9,10\nthresh=.6\n');
  t = NET.replace('width=64', 'width=64.5') + CONV(16);
  userError(() => build(t), 'bad.cfg:2 [net] width', 'not an integer');
  t = NET.replace('channels=3', 'channels=0') + CONV(16);
  userError(() => build(t), 'bad.cfg:1 [net]', 'must be set and non-zero');
  t = NET + CONV(16).replace('activation=leaky', 'activation=mish');
  userError(() => build(t), '[convolutional] activation', '"mish" is not supported');
});

test('cfg: structure errors (option before a section, first section not [net], [conv, empty)', () => {
  userError(() => build('width=3\n' + NET + CONV(16)), 'bad.cfg:1', 'option before the first [section]');
  userError(() => build('# comment\n\n' + CONV(16) + NET), 'bad.cfg:3', 'first section must be [net]');
  let t = NET + '[conv\nfilters=16\n';
  userError(() => build(t), 'bad.cfg:5', 'malformed section header "[conv"');
  t = NET + '[]\n';
  userError(() => build(t), 'bad.cfg:5', 'unsupported section []');
  userError(() => build(''), 'bad.cfg', 'no sections');
  userError(() => build('# only a comment\n'), 'bad.cfg', 'no sections');
  userError(() => build(NET), 'bad.cfg', 'no layers');
  userError(() => build('\u0000\u0001\u0002garbage\u00ff'), 'bad.cfg:1');
});

test('cfg: routes to missing layers or of different sizes', () => {
  let t = NET + CONV(16) + '[route]\nlayers=-5\n';
  userError(() => build(t), `bad.cfg:${lineOf(t, 'layers=-5')} [route] layers`, 'layer -4 does not exist before layer 1');
  t = NET + CONV(16) + '[route]\nlayers=1\n';
  userError(() => build(t), '[route] layers', 'layer 1 does not exist before layer 1');
  t = NET + CONV(16) + '[route]\nlayers=\n';
  userError(() => build(t), '[route]', 'route needs layers=');
  t = NET + CONV(16) + '[maxpool]\nsize=2\nstride=2\n' + '[route]\nlayers=-1,0\n';
  userError(() => build(t), '[route] layers', 'routed layers differ in size (32x32, 64x64)');
  // a valid route concatenates channels
  const net = build(NET + CONV(16) + CONV(8) + '[route]\nlayers=-1,0\n');
  assert.equal(net.layers[2].outShape, { c: 24, h: 64, w: 64 });
});

test('cfg: region/yolo channel mismatch, groups not dividing channels, output < 1', () => {
  let t = NET + CONV(31) + '[region]\nanchors=1,1,2,2,3,3,4,4,5,5\nclasses=1\nnum=5\n';
  userError(() => build(t), `bad.cfg:${lineOf(t, '[region]')} [region]`, 'input has 31 channels, region needs num*(coords+1+classes) = 30');
  t = NET + CONV(254) + '[yolo]\nmask=0,1,2\nanchors=1,1,2,2,3,3\nclasses=80\nnum=3\n';
  userError(() => build(t), '[yolo]', 'input has 254 channels, yolo needs 3*(5+classes) = 255');
  t = NET + CONV(255) + '[yolo]\nmask=0,1,7\nanchors=1,1,2,2,3,3\nclasses=80\nnum=3\n';
  userError(() => build(t), '[yolo] mask', 'index 7 is outside 0..2');
  t = NET + CONV(16, 'groups=5\n');
  userError(() => build(t), '[convolutional]', 'groups=5 must divide input channels 3 and filters 16');
  t = NET + CONV(16) + CONV(18, 'groups=3\n').replace('filters=18', 'filters=17');
  userError(() => build(t), 'groups=3 must divide');
  t = NET + CONV(16).replace('pad=1', 'pad=0').replace('size=3', 'size=64') + CONV(8).replace('pad=1', 'pad=0');
  userError(() => build(t), `bad.cfg:${lineOf(t, '[convolutional]', 10)} [convolutional]`, 'output would be -1x-1');
  t = NET + '[maxpool]\nsize=64\nstride=64\npadding=0\n' + '[maxpool]\nsize=2\nstride=2\npadding=0\n';
  userError(() => build(t), '[maxpool]', 'output would be 0x0');
});

test('cfg: a shape too large for memory is refused before anything large is allocated', () => {
  const huge = '[net]\nwidth=65536\nheight=65536\nchannels=3\n' + CONV(4096);
  const r = largestAllocation(() => build(huge));
  assert.instance(r.error, UserError, String((r.error as Error)?.stack ?? r.error));
  assert.match((r.error as Error).message, /^bad\.cfg.*GiB/);
  assert.ok(r.floats < 1e6, `allocated ${r.floats} floats before refusing`);
  // huge weights, small activations: 65536 filters of 3x3 over 65536 channels
  const wide = NET.replace(/64/g, '8') + CONV(65536).replace('size=3', 'size=1') + CONV(65536);
  const r2 = largestAllocation(() => build(wide));
  assert.instance(r2.error, UserError, String(r2.error));
  assert.ok(r2.floats < 1e8, `allocated ${r2.floats} floats before refusing`);
  // huge activations made by upsampling, no weights at all
  const up = NET + CONV(64) + '[upsample]\nstride=64\n[upsample]\nstride=64\n';
  const r3 = largestAllocation(() => build(up));
  assert.instance(r3.error, UserError, String(r3.error));
  assert.match((r3.error as Error).message, /bad\.cfg:\d+ \[upsample\]/);
  // the sum over layers counts, not only the largest layer
  const many = '[net]\nwidth=4096\nheight=4096\nchannels=3\n' + Array.from({ length: 40 }, () => CONV(16)).join('');
  const r4 = largestAllocation(() => build(many));
  assert.instance(r4.error, UserError, String(r4.error));
  // and the limit applies through loadModel's --size too (bundled cfgs stay loadable at the maximum size)
  const net = loadModel({ model: 'yolov2-tiny-voc', size: 4096, weightsOptional: true, keepBatchNorm: true });
  assert.is(net.input.w, 4096);
});

test('cfg fixtures in tests/fixtures/bad name the file and line', () => {
  const cases: [string, (string | RegExp)[]][] = [
    ['unknown-key.cfg', [/unknown-key\.cfg:\d+/, 'unknown key "fliters"']],
    ['route-missing.cfg', [/route-missing\.cfg:\d+ \[route\] layers/, 'does not exist']],
    ['huge-shape.cfg', ['huge-shape.cfg', 'GiB']],
    ['region-mismatch.cfg', [/region-mismatch\.cfg:\d+ \[region\]/, 'channels']],
  ];
  for (const [file, parts] of cases) userError(() => loadModel({ model: join(BAD, file), weightsOptional: true }), join(BAD, file), ...parts);
  userError(() => loadModel({ model: join(tmp, 'missing.cfg'), weightsOptional: true }), join(tmp, 'missing.cfg'), 'does not exist');
});

// ---------------------------------------------------------------------------------------------
// face-api manifest

const realManifest = defaultFaceManifest();
const realBin = join(faceApiPackageDir(), 'model', 'tiny_face_detector_model.bin');
interface MWeight { name: string; shape: number[]; dtype: string; quantization?: { dtype: string; scale?: unknown; min?: unknown } }
let faceCase = 0;
/** Copies the real manifest + bin into a fresh folder, lets `mutate` change them; returns the manifest path. */
function faceFixture(mutate: (m: { paths: string[]; weights: MWeight[] }[], bin: Buffer) => Buffer | void, text?: string): string {
  const dir = join(tmp, `face${faceCase++}`);
  mkdirSync(dir);
  const m = JSON.parse(readFileSync(realManifest, 'utf8'));
  let bin: Buffer = readFileSync(realBin);
  bin = mutate(m, bin) ?? bin;
  const file = join(dir, 'tiny_face_detector_model-weights_manifest.json');
  writeFileSync(file, text ?? JSON.stringify(m));
  writeFileSync(join(dir, 'tiny_face_detector_model.bin'), bin);
  return file;
}

test('face manifest: an unmodified copy loads (the fixture builder is sound)', () => {
  const f = faceFixture(() => {});
  const net = loadFaceDetector(f, 416);
  assert.is(net.layers.length, 19);
});

test('face manifest: not JSON, not an array, not groups, not weights', () => {
  let f = faceFixture(() => {}, '{"weights": [\n oops');
  userError(() => loadFaceDetector(f), f, 'not valid JSON');
  f = faceFixture(() => {}, '{"weights": []}');
  userError(() => loadFaceDetector(f), f, 'must be a JSON array');
  f = faceFixture(() => {}, '[null]');
  userError(() => loadFaceDetector(f), `${f} [0]`);
  f = faceFixture(() => {}, '[42, "x"]');
  userError(() => loadFaceDetector(f), `${f} [0]`);
  f = faceFixture(() => {}, '[]');
  userError(() => loadFaceDetector(f), f, 'missing');
  f = faceFixture((m) => void (m[0].weights = 'x' as unknown as MWeight[]));
  userError(() => loadFaceDetector(f), `${f} [0].weights`, 'must be an array');
  f = faceFixture((m) => void (m[0].weights[3] = null as unknown as MWeight));
  userError(() => loadFaceDetector(f), `${f} [0].weights[3]`);
  f = faceFixture((m) => void (m[0].weights[3] = 7 as unknown as MWeight));
  userError(() => loadFaceDetector(f), `${f} [0].weights[3]`);
  f = faceFixture((m) => void (m[0].paths = [] as string[]));
  userError(() => loadFaceDetector(f), `${f} [0].paths`);
  f = faceFixture((m) => void (m[0].paths = [42] as unknown as string[]));
  userError(() => loadFaceDetector(f), `${f} [0].paths`, 'must be an array of file names');
  f = faceFixture((m) => void (m[0].paths = ['nosuch.bin']));
  userError(() => loadFaceDetector(f), 'nosuch.bin', 'does not exist');
});

test('face manifest: weight missing, wrong shape, duplicate', () => {
  // drop conv8/bias (the last 25 bytes) from both the manifest and the bin
  let f = faceFixture((m, bin) => {
    m[0].weights = m[0].weights.filter((w) => w.name !== 'conv8/bias');
    return bin.subarray(0, bin.length - 25);
  });
  userError(() => loadFaceDetector(f), f, 'weight "conv8/bias" is missing');
  f = faceFixture((m) => void (m[0].weights.find((w) => w.name === 'conv0/bias')!.shape = [8, 2]));
  userError(() => loadFaceDetector(f), f, '"conv0/bias"', 'shape [8,2], expected [16]');
  f = faceFixture((m) => void (m[0].weights[1].name = 'conv0/filters'));
  userError(() => loadFaceDetector(f), `${f} [0].weights[1].name`, 'duplicate weight "conv0/filters"');
  for (const shape of [[-1, 16], [1.5], 'x', [3, 3, 3, 16, 'a']]) {
    f = faceFixture((m) => void (m[0].weights[0].shape = shape as number[]));
    userError(() => loadFaceDetector(f), `${f} [0].weights[0].shape`);
  }
  f = faceFixture((m) => void delete (m[0].weights[0] as Partial<MWeight>).name);
  userError(() => loadFaceDetector(f), `${f} [0].weights[0].name`, 'missing');
});

test('face manifest: a huge shape with a short .bin is refused before allocating', () => {
  const f = faceFixture((m) => void (m[0].weights[0].shape = [16384, 16384]));
  const r = largestAllocation(() => readTfjsManifest(f));
  assert.instance(r.error, UserError, String(r.error));
  assert.match((r.error as Error).message, /weights\[0\]/);
  assert.ok(r.floats < 1e7, `allocated ${r.floats} floats before refusing`);
});

test('face manifest: paths pointing outside the folder (../x.bin, absolute) are refused', () => {
  for (const p of ['../x.bin', '../../etc/passwd', '/etc/passwd', realBin, 'sub/../../x.bin', '']) {
    const f = faceFixture((m) => void (m[0].paths = [p]));
    userError(() => loadFaceDetector(f), `${f} [0].paths`);
  }
  // a name that merely starts with two dots stays inside the folder
  const f = faceFixture((m) => void (m[0].paths = ['..model.bin']));
  copyFileSync(realBin, join(f, '..', '..model.bin'));
  assert.is(loadFaceDetector(f).layers.length, 19);
});

test('face manifest: a .bin that disagrees with the manifest (too short, too long)', () => {
  let f = faceFixture((_m, bin) => bin.subarray(0, bin.length - 1));
  userError(() => loadFaceDetector(f), f, 'tiny_face_detector_model.bin', '"conv8/bias"');
  f = faceFixture((_m, bin) => bin.subarray(0, 1000));
  userError(() => loadFaceDetector(f), f, 'tiny_face_detector_model.bin', /holds? 1000 bytes/);
  f = faceFixture((_m, bin) => Buffer.concat([bin, Buffer.alloc(3)]));
  userError(() => loadFaceDetector(f), f, 'tiny_face_detector_model.bin', 'describes 193321 bytes', '193324');
  f = faceFixture((_m, bin) => bin.subarray(0, 0));
  userError(() => loadFaceDetector(f), 'tiny_face_detector_model.bin', 'empty');
});

test('face manifest: unknown dtype, unknown quantization dtype, bad quantization numbers', () => {
  let f = faceFixture((m) => void (m[0].weights[2].dtype = 'int8'));
  userError(() => loadFaceDetector(f), `${f} [0].weights[2].dtype`, '"int8" is not supported');
  for (const qd of ['float16', 'int4', undefined]) {
    f = faceFixture((m) => void (m[0].weights[2].quantization!.dtype = qd as string));
    userError(() => loadFaceDetector(f), `${f} [0].weights[2].quantization.dtype`, 'is not supported');
  }
  for (const scale of ['0.1', null, 'NaN']) {
    f = faceFixture((m) => void (m[0].weights[2].quantization!.scale = scale));
    userError(() => loadFaceDetector(f), `${f} [0].weights[2].quantization`, 'numeric scale and min');
  }
  f = faceFixture((m) => void (m[0].weights[2].quantization = 5 as unknown as MWeight['quantization']));
  userError(() => loadFaceDetector(f), `${f} [0].weights[2].quantization`);
});

test('face manifest: unquantized float32 NaN values are refused', () => {
  // conv0/bias as raw float32: 16 floats = 64 bytes in place of its 16 uint8 bytes
  const f = faceFixture((m, bin) => {
    delete m[0].weights[1].quantization;
    const floats = Buffer.alloc(64);
    floats.writeFloatLE(NaN, 12);
    return Buffer.concat([bin.subarray(0, 432), floats, bin.subarray(448)]);
  });
  userError(() => loadFaceDetector(f), `${f} [0].weights[1]`, '"conv0/bias"', '[3] is NaN');
});

test('face manifest file: directory, missing, empty', () => {
  const dir = join(tmp, 'manifest-dir.json');
  mkdirSync(dir);
  userError(() => loadModel({ model: dir }), dir, 'not a regular file');
  userError(() => loadModel({ model: join(tmp, 'none.json') }), join(tmp, 'none.json'), 'does not exist');
  const empty = join(tmp, 'empty.json');
  writeFileSync(empty, '');
  userError(() => loadModel({ model: empty }), empty, 'empty');
});

// ---------------------------------------------------------------------------------------------
// images

function smallJpeg(w = 48, h = 32): Uint8Array {
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    data[4 * i] = (i * 3) % 256;
    data[4 * i + 1] = (i * 7) % 256;
    data[4 * i + 2] = (i * 11) % 256;
    data[4 * i + 3] = 255;
  }
  return jpeg.encode({ width: w, height: h, data }, 90).data;
}
function smallPng(w = 48, h = 32): Buffer {
  const png = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h * 4; i++) png.data[i] = (i * 5) % 256;
  return PNG.sync.write(png);
}

test('images: a small JPEG and PNG decode (the fixtures are sound)', () => {
  const j = decodeImage(smallJpeg(), 'a.jpg');
  assert.equal([j.width, j.height, j.data.length], [48, 32, 48 * 32 * 3]);
  const p = decodeImage(smallPng(), 'a.png');
  assert.equal([p.width, p.height, p.data.length], [48, 32, 48 * 32 * 3]);
  assert.equal([...p.data.subarray(0, 6)], [0, 5, 10, 20, 25, 30]);
});

test('images: zero-size file, directory, missing file, text file, random bytes', () => {
  const empty = join(tmp, 'empty.jpg');
  writeFileSync(empty, '');
  userError(() => loadImage(empty), empty, 'empty');
  const dir = join(tmp, 'dir.jpg');
  mkdirSync(dir);
  userError(() => loadImage(dir), dir, 'not a regular file');
  userError(() => loadImage(join(tmp, 'nope.png')), join(tmp, 'nope.png'), 'does not exist');
  const text = join(tmp, 'text.jpg');
  writeFileSync(text, 'hello, this is not an image\n');
  userError(() => loadImage(text), text, 'not a JPEG or PNG');
  const rand = mulberry32(3);
  for (let i = 0; i < 20; i++) {
    const bytes = Uint8Array.from({ length: 1 + Math.floor(rand() * 500) }, () => Math.floor(rand() * 256));
    userError(() => decodeImage(bytes, 'random.bin'), 'random.bin');
  }
  // random bytes behind a JPEG or PNG signature
  for (const sig of [[0xff, 0xd8], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]]) {
    for (let i = 0; i < 20; i++) {
      const bytes = Uint8Array.from({ length: 8 + Math.floor(rand() * 500) }, () => Math.floor(rand() * 256));
      bytes.set(sig);
      userError(() => decodeImage(bytes, 'random.img'), 'random.img');
    }
  }
});

test('images: truncated JPEG and PNG at many points say truncated or corrupt', () => {
  const j = smallJpeg();
  for (const cut of [1, 2, 3, 20, 100, 200, 400, Math.floor(j.length / 2), j.length - 10, j.length - 2, j.length - 1]) {
    userError(() => decodeImage(j.subarray(0, cut), 'cut.jpg'), 'cut.jpg', /JPEG|truncated/);
  }
  const p = smallPng();
  for (const cut of [1, 4, 8, 20, 33, 50, Math.floor(p.length / 2), p.length - 12, p.length - 1]) {
    userError(() => decodeImage(p.subarray(0, cut), 'cut.png'), 'cut.png', /PNG|truncated/);
  }
  // through the file path too
  const f = join(tmp, 'cut.jpg');
  writeFileSync(f, j.subarray(0, j.length >> 1));
  userError(() => loadImage(f), f);
});

test('images: a header claiming an enormous image is refused without allocating it', () => {
  // PNG IHDR claiming 20000 x 20000 (400 MP), with a valid CRC so that only the size is wrong
  const p = Buffer.from(smallPng());
  p.writeUInt32BE(20000, 16);
  p.writeUInt32BE(20000, 20);
  p.writeUInt32BE(crc32(p.subarray(12, 29)), 29);
  const r = largestAllocation(() => decodeImage(p, 'huge.png'));
  assert.instance(r.error, UserError, String(r.error));
  assert.match((r.error as Error).message, /^huge\.png: .*(too large|exceeds)/);
  assert.ok(r.floats < 1e8, `allocated ${r.floats * 4} bytes`);
  // JPEG SOF claiming 60000 x 60000
  const j = Buffer.from(smallJpeg());
  let sof = -1;
  for (let i = 2; i < j.length - 1; i++) if (j[i] === 0xff && j[i + 1] === 0xc0) { sof = i; break; }
  assert.ok(sof > 0);
  j.writeUInt16BE(60000, sof + 5);
  j.writeUInt16BE(60000, sof + 7);
  userError(() => decodeImage(j, 'huge.jpg'), 'huge.jpg');
});

test.run();
