/**
 * Seeded fuzzing of the parsers (cfg, darknet weights, face-api manifest, JPEG/PNG). Every mutated
 * input must either give a self-consistent result or throw a UserError; any other exception, or
 * an attempt slower than ATTEMPT_LIMIT_MS, is a failure reported with its seed and mutation.
 * Bounded to run in about 20 s; FUZZ_SCALE=10 in the environment runs ten times as many attempts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import * as zlibMod from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { UserError } from '../src/util/errors.ts';
import { mulberry32 } from '../src/util/rng.ts';
import { FUZZ_SCALE, Fuzzer, int, pick, type Rand } from './helpers/fuzzer.ts';
import { buildDarknetNetwork, darknetWeightFloats, loadDarknetWeights, parseCfgText } from '../src/model/darknet.ts';
import { defaultFaceManifest, faceApiPackageDir, faceSamplePhotos, loadFaceDetector } from '../src/model/faceapi.ts';
import { foldBatchNorm } from '../src/model/fold.ts';
import { convOut, shapeSize, type Layer, type Network, type Shape } from '../src/model/ir.ts';
import { BUNDLED_CFG_DIR, loadModel } from '../src/model/load.ts';
import { syntheticDarknetWeights } from '../src/model/synthetic.ts';
import { decodeImage } from '../src/image/decode.ts';
import { parseAxes, validatePoints } from '../src/sweep/space.ts';
import { mergeResults, readResults } from '../src/sweep/results.ts';

const SEED = 20240611;
const SCALE = FUZZ_SCALE;
const tmp = mkdtempSync(join(tmpdir(), 'neuroemu-fuzz-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
// consistency of an accepted network

function eqShape(a: Shape, b: Shape): boolean {
  return a.c === b.c && a.h === b.h && a.w === b.w;
}
const positiveShape = (s: Shape) => [s.c, s.h, s.w].every((v) => Number.isInteger(v) && v >= 1);

/** Throws (a plain Error, i.e. a fuzz failure) unless every layer's shapes and arrays chain. */
function checkNetwork(net: Network): void {
  const bad = (l: Layer, what: string): never => {
    throw new Error(`inconsistent model: layer ${l.index} ${l.kind}: ${what}`);
  };
  if (!positiveShape(net.input)) throw new Error(`inconsistent model: input ${JSON.stringify(net.input)}`);
  if (net.layers.length === 0) throw new Error('inconsistent model: no layers');
  const outOf = (i: number): Shape => (i === -1 ? net.input : net.layers[i].outShape);
  net.layers.forEach((l, i) => {
    if (l.index !== i) bad(l, `index ${l.index}`);
    if (!positiveShape(l.inShape) || !positiveShape(l.outShape)) bad(l, `shapes ${JSON.stringify([l.inShape, l.outShape])}`);
    for (const j of l.inputs) if (!Number.isInteger(j) || j < -1 || j >= i) bad(l, `input ${j}`);
    if (l.kind !== 'route') {
      if (l.inputs.length !== 1 || l.inputs[0] !== i - 1) bad(l, `inputs ${l.inputs}`);
      if (!eqShape(l.inShape, outOf(i - 1))) bad(l, 'inShape is not the previous output');
    }
    switch (l.kind) {
      case 'conv': {
        const { c, h, w } = l.inShape;
        if (!(l.groups >= 1 && c % l.groups === 0 && l.filters % l.groups === 0)) bad(l, `groups ${l.groups}`);
        if (!(l.size >= 1 && l.stride >= 1 && l.pad >= 0)) bad(l, 'size/stride/pad');
        const want = { c: l.filters, h: convOut(h, l.size, l.stride, l.pad), w: convOut(w, l.size, l.stride, l.pad) };
        if (!eqShape(l.outShape, want)) bad(l, `outShape ${JSON.stringify(l.outShape)} != ${JSON.stringify(want)}`);
        if (l.weights.length !== l.filters * (c / l.groups) * l.size * l.size) bad(l, `weights length ${l.weights.length}`);
        if (l.biases.length !== l.filters) bad(l, 'biases length');
        if (l.bn && [l.bn.scales, l.bn.mean, l.bn.variance].some((a) => a.length !== l.filters)) bad(l, 'bn lengths');
        break;
      }
      case 'maxpool': {
        if (l.outShape.c !== l.inShape.c) bad(l, 'channels change');
        // darknet: out = (in + padding - size)/stride + 1 with padBegin = padding/2
        const fits = (n: number, o: number) => [2 * l.padBegin, 2 * l.padBegin + 1].some((p) => Math.floor((n + p - l.size) / l.stride) + 1 === o);
        if (!fits(l.inShape.h, l.outShape.h) || !fits(l.inShape.w, l.outShape.w)) bad(l, 'output size');
        break;
      }
      case 'route': {
        if (l.layers.length === 0 || l.layers.join() !== l.inputs.join()) bad(l, 'layers/inputs');
        const shapes = l.layers.map(outOf);
        if (shapes.some((s) => s.h !== l.outShape.h || s.w !== l.outShape.w)) bad(l, 'routed sizes differ');
        if (shapes.reduce((a, s) => a + s.c, 0) !== l.outShape.c) bad(l, 'channels are not the sum');
        break;
      }
      case 'upsample':
        if (!eqShape(l.outShape, { c: l.inShape.c, h: l.inShape.h * l.stride, w: l.inShape.w * l.stride })) bad(l, 'output size');
        break;
      case 'region':
        if (l.inShape.c !== l.num * (l.coords + 1 + l.classes) || l.anchors.length !== 2 * l.num) bad(l, 'channels/anchors');
        if (!l.anchors.every(Number.isFinite)) bad(l, 'anchors');
        break;
      case 'yolo':
        if (l.inShape.c !== l.mask.length * (5 + l.classes) || !l.mask.every((m) => m >= 0 && 2 * m + 1 < l.anchors.length)) bad(l, 'channels/mask');
        if (!l.anchors.every(Number.isFinite)) bad(l, 'anchors');
        break;
      case 'facehead':
        break;
    }
  });
  // what the limit promises: the accepted network fits in 4 GiB of floats
  let floats = shapeSize(net.input);
  for (const l of net.layers) floats += shapeSize(l.outShape) + (l.kind === 'conv' ? l.weights.length + l.biases.length : 0);
  if (floats > 2 ** 30) throw new Error(`inconsistent model: ${floats} floats accepted`);
}

const allFinite = (net: Network) => {
  for (const l of net.layers) {
    if (l.kind !== 'conv') continue;
    for (const a of [l.weights, l.biases, ...(l.bn ? [l.bn.scales, l.bn.mean, l.bn.variance] : [])]) {
      for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new Error(`accepted a non-finite value: layer ${l.index} [${i}] = ${a[i]}`);
    }
  }
};

// ---------------------------------------------------------------------------------------------
// cfg

const JUNK_LINES = [
  '[conv', '[convolutional]', '[route]', '[maxpool]', '[upsample]', '[yolo]', '[region]', '[shortcut]', '[net]', ']',
  'layers=-99', 'layers=0', 'layers=-1,-3', 'size=3x', 'filters=999999', 'filters=65536', 'stride=0', 'stride=64',
  'groups=3', 'groups=7', 'pad=1', 'padding=63', 'anchors=1,2,x', 'mask=0,9', 'classes=0', 'num=0', '=', '==', 'key',
  'width=65536', 'height=65536', 'channels=4096', 'batch_normalize=1', 'activation=mish', 'scale=2', '\u0000\u0001',
  '\uFFFD\uFFFD', '#comment', ';comment', '   ', 'filters=1e9', 'size=-3', 'coords=5', 'binary=1',
];
const NUMBERS = ['0', '-1', '1', '2', '3', '5', '7', '13', '32', '64', '255', '4096', '65536', '65537', '1e9', '3x', '', 'NaN', '-0', '007', '+2', '0.5', '99999999999999999999'];

/** cumulative weights of the cfg mutations: truncate, bit flip, insert junk, delete, duplicate, number */
const CFG_OPS = [0.1, 0.25, 0.4, 0.55, 0.65, 1];

function mutateCfg(text: string, rand: Rand, maxOps = 3): { text: string; ops: string[] } {
  let lines = text.split('\n');
  const ops: string[] = [];
  const n = 1 + int(rand, maxOps);
  for (let k = 0; k < n; k++) {
    const u = rand();
    const op = CFG_OPS.findIndex((c) => u < c);
    const at = int(rand, lines.length);
    switch (op) {
      case 0: {
        const joined = lines.join('\n');
        const cut = int(rand, joined.length + 1);
        lines = joined.slice(0, cut).split('\n');
        ops.push(`truncate@${cut}`);
        break;
      }
      case 1: {
        const bytes = new TextEncoder().encode(lines.join('\n'));
        if (bytes.length === 0) break;
        const pos = int(rand, bytes.length), bit = int(rand, 8);
        bytes[pos] ^= 1 << bit;
        lines = new TextDecoder().decode(bytes).split('\n');
        ops.push(`flip@${pos}.${bit}`);
        break;
      }
      case 2: {
        const junk = rand() < 0.8 ? pick(rand, JUNK_LINES) : String.fromCharCode(...Array.from({ length: 1 + int(rand, 20) }, () => int(rand, 256)));
        lines.splice(at, 0, junk);
        ops.push(`insert@${at}:${JSON.stringify(junk)}`);
        break;
      }
      case 3:
        ops.push(`delete@${at}:${JSON.stringify(lines[at])}`);
        lines.splice(at, 1);
        break;
      case 4:
        ops.push(`dup@${at}:${JSON.stringify(lines[at])}`);
        lines.splice(at + (rand() < 0.5 ? 1 : int(rand, lines.length - at + 1)), 0, lines[at]);
        break;
      case 5: {
        // replace one number on a line that has numbers (search forward from `at`)
        for (let j = 0; j < lines.length; j++) {
          const li = (at + j) % lines.length;
          const nums = [...lines[li].matchAll(/-?\d+(\.\d+)?/g)];
          if (nums.length === 0 || lines[li].trim().startsWith('#')) continue;
          const m = pick(rand, nums);
          const v = pick(rand, NUMBERS);
          lines[li] = lines[li].slice(0, m.index) + v + lines[li].slice(m.index! + m[0].length);
          ops.push(`number@${li + 1}:${m[0]}->${v}`);
          break;
        }
        break;
      }
    }
  }
  return { text: lines.join('\n'), ops };
}

const BUNDLED = ['yolov2-tiny-voc', 'yolov2-tiny', 'yolov3-tiny'];

test('fuzz cfg: mutated bundled cfgs build a self-consistent network or throw a UserError', () => {
  const rand = mulberry32(SEED);
  const perCfg = 250 * SCALE;
  const total = new Fuzzer(SEED);
  for (const name of BUNDLED) {
    const file = join(BUNDLED_CFG_DIR, `${name}.cfg`);
    const original = readFileSync(file, 'utf8');
    const f = new Fuzzer(SEED);
    checkNetwork(buildDarknetNetwork(parseCfgText(original, file), file));
    for (let i = 0; i < perCfg; i++) {
      const { text, ops } = mutateCfg(original, rand);
      f.attempt(`${name} #${i} [${ops.join(', ')}]`, () => {
        const net = buildDarknetNetwork(parseCfgText(text, 'fuzz.cfg'), 'fuzz.cfg');
        checkNetwork(net);
      });
    }
    f.assertClean(name, 10, 10);
    total.ok += f.ok;
    total.refused += f.refused;
    total.slowestMs = Math.max(total.slowestMs, f.slowestMs);
  }
});

test('fuzz cfg: through loadModel (file on disk, --size, names), fewer attempts', () => {
  const rand = mulberry32(SEED + 1);
  const f = new Fuzzer(SEED);
  for (let i = 0; i < 40 * SCALE; i++) {
    const name = pick(rand, BUNDLED);
    const { text, ops } = mutateCfg(readFileSync(join(BUNDLED_CFG_DIR, `${name}.cfg`), 'utf8'), rand, 1);
    const file = join(tmp, `fuzz${i}.cfg`);
    writeFileSync(file, text);
    const size = pick(rand, [undefined, 32, 64, 96]);
    f.attempt(`${name} #${i} size ${size} [${ops.join(', ')}]`, () => {
      // keepBatchNorm: folding the zero-filled weights of a huge accepted network would only cost time
      checkNetwork(loadModel({ model: file, size, weightsOptional: true, keepBatchNorm: true }));
    });
  }
  f.assertClean('loadModel', 5, 5);
});

// ---------------------------------------------------------------------------------------------
// darknet weights

/** Byte offsets of every array in a darknet weights file for `net` (header 20 bytes). */
function weightRegions(net: Network): { start: number; end: number; what: string }[] {
  const out: { start: number; end: number; what: string }[] = [{ start: 0, end: 20, what: 'header' }];
  let off = 20;
  const add = (n: number, what: string) => {
    out.push({ start: off, end: off + 4 * n, what });
    off += 4 * n;
  };
  for (const l of net.layers) {
    if (l.kind !== 'conv') continue;
    add(l.filters, `${l.index} biases`);
    if (l.bn) for (const w of ['scales', 'mean', 'variance']) add(l.filters, `${l.index} ${w}`);
    add(l.weights.length, `${l.index} weights`);
  }
  return out;
}

function fuzzWeights(label: string, mk: () => Network, iterations: number, seed: number): Fuzzer {
  const rand = mulberry32(seed);
  const buf = syntheticDarknetWeights(mk(), seed);
  const regions = weightRegions(mk());
  assert.is(regions[regions.length - 1].end, buf.length);
  assert.is(buf.length, 20 + 4 * darknetWeightFloats(mk()));
  const f = new Fuzzer(SEED);
  for (let i = 0; i < iterations; i++) {
    const kind = int(rand, 10);
    if (kind < 3) {
      // truncation: anywhere, or inside the header
      const cut = kind === 0 ? int(rand, 24) : int(rand, buf.length);
      f.attempt(`${label} #${i} truncate@${cut}`, () => {
        const net = mk();
        loadDarknetWeights(net, buf.subarray(0, cut), 'fuzz.weights');
        throw new Error(`accepted a file truncated at ${cut} of ${buf.length}`);
      });
      continue;
    }
    // bit flips, in place and undone afterwards; half of them aimed at one array (header, BN stats...)
    const flips: [number, number][] = [];
    const n = 1 + int(rand, 6);
    for (let k = 0; k < n; k++) {
      const r = rand() < 0.5 ? pick(rand, regions) : { start: 0, end: buf.length };
      // bits 23..30 of a float32 are the exponent: flip them often, they make NaN/Inf/huge values
      const pos = r.start + int(rand, r.end - r.start);
      const bit = rand() < 0.5 ? int(rand, 8) : (pos & 3) === 3 ? 6 : 7;
      flips.push([pos, bit]);
    }
    for (const [p, b] of flips) buf[p] ^= 1 << b;
    f.attempt(`${label} #${i} flips ${flips.map(([p, b]) => `${p}.${b}`).join(',')}`, () => {
      const net = mk();
      loadDarknetWeights(net, buf, 'fuzz.weights');
      allFinite(net);
      foldBatchNorm(net);
      allFinite(net);
    });
    for (const [p, b] of flips) buf[p] ^= 1 << b;
  }
  return f;
}

const SMALL_CFG = `[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n[maxpool]\nsize=2\nstride=2\n[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n[convolutional]\nfilters=30\nsize=1\nactivation=linear\n[region]\nanchors=1,1,2,2,3,3,4,4,5,5\nclasses=1\nnum=5\n`;

test('fuzz weights: a small network, many truncations and bit flips → UserError or finite weights', () => {
  const f = fuzzWeights('small', () => buildDarknetNetwork(parseCfgText(SMALL_CFG, 's.cfg'), 's.cfg'), 1500 * SCALE, SEED + 2);
  f.assertClean('small weights', 50, 50);
});

test('fuzz weights: yolov2-tiny-voc synthetic weights (small input size), fewer attempts', () => {
  const cfg = join(BUNDLED_CFG_DIR, 'yolov2-tiny-voc.cfg');
  const text = readFileSync(cfg, 'utf8');
  const f = fuzzWeights('yolov2-tiny-voc', () => buildDarknetNetwork(parseCfgText(text, cfg), cfg, { size: 32 }), 30 * SCALE, SEED + 3);
  f.assertClean('yolov2-tiny-voc weights', 3, 3);
});

// ---------------------------------------------------------------------------------------------
// face-api manifest

test('fuzz face manifest: mutated JSON text and .bin → UserError or a model', () => {
  const rand = mulberry32(SEED + 4);
  const manifestText = readFileSync(defaultFaceManifest(), 'utf8');
  const bin = readFileSync(join(faceApiPackageDir(), 'model', 'tiny_face_detector_model.bin'));
  const f = new Fuzzer(SEED);
  for (let i = 0; i < 60 * SCALE; i++) {
    const dir = join(tmp, `face${i}`);
    mkdirSync(dir);
    let text = manifestText;
    let b: Buffer = Buffer.from(bin);
    const ops: string[] = [];
    for (let k = 1 + int(rand, 2); k > 0; k--) {
      const op = int(rand, 5);
      if (op === 0) {
        const cut = int(rand, text.length);
        text = text.slice(0, cut);
        ops.push(`json-cut@${cut}`);
      } else if (op === 1) {
        // replace a number in the JSON (shapes, scales, mins)
        const nums = [...text.matchAll(/-?\d+(\.\d+)?(e-?\d+)?/g)];
        const m = pick(rand, nums);
        const v = pick(rand, ['0', '-1', '1', '2', '1e308', '16777216', '3.5', '65536', '-0', '"x"', 'null', '[]']);
        text = text.slice(0, m.index) + v + text.slice(m.index! + m[0].length);
        ops.push(`json-num@${m.index}->${v}`);
      } else if (op === 2) {
        const pos = int(rand, text.length);
        const ch = pick(rand, ['"', ',', '[', ']', '{', '}', ':', '../', '\n', 'x']);
        text = text.slice(0, pos) + ch + text.slice(pos + int(rand, 3));
        ops.push(`json-edit@${pos}:${JSON.stringify(ch)}`);
      } else if (op === 3) {
        const cut = int(rand, b.length + 50);
        b = cut <= b.length ? b.subarray(0, cut) : Buffer.concat([b, Buffer.alloc(cut - b.length)]);
        ops.push(`bin-size ${cut}`);
      } else {
        const pos = int(rand, b.length);
        b[pos] ^= 1 << int(rand, 8);
        ops.push(`bin-flip@${pos}`);
      }
    }
    const file = join(dir, 'tiny_face_detector_model-weights_manifest.json');
    writeFileSync(file, text);
    writeFileSync(join(dir, 'tiny_face_detector_model.bin'), b);
    f.attempt(`face #${i} [${ops.join(', ')}]`, () => {
      const net = loadFaceDetector(file, 64);
      checkNetwork(net);
      allFinite(net);
    });
  }
  f.assertClean('face manifest', 3, 10);
});

// ---------------------------------------------------------------------------------------------
// images

function mutateBytes(src: Uint8Array, rand: Rand, protectHead = 0): { bytes: Uint8Array; ops: string[] } {
  let b = Uint8Array.from(src);
  const ops: string[] = [];
  for (let k = 1 + int(rand, 3); k > 0; k--) {
    const op = int(rand, 5);
    const pos = protectHead + int(rand, Math.max(1, b.length - protectHead));
    if (op === 0) {
      b = b.slice(0, pos);
      ops.push(`cut@${pos}`);
    } else if (op === 1 || op === 2) {
      const bit = int(rand, 8);
      if (pos < b.length) b[pos] ^= 1 << bit;
      ops.push(`flip@${pos}.${bit}`);
    } else if (op === 3) {
      if (pos < b.length) b[pos] = pick(rand, [0x00, 0xff, 0xd8, 0xd9, 0xda, 0xc0]);
      ops.push(`set@${pos}`);
    } else {
      const len = 1 + int(rand, 64);
      const dup = rand() < 0.5;
      const chunk = b.slice(pos, pos + len);
      const out = new Uint8Array(b.length + (dup ? chunk.length : -chunk.length));
      out.set(b.subarray(0, pos));
      if (dup) {
        out.set(chunk, pos);
        out.set(b.subarray(pos), pos + chunk.length);
      } else out.set(b.subarray(pos + chunk.length), pos);
      b = out;
      ops.push(`${dup ? 'dup' : 'del'}@${pos}+${len}`);
    }
  }
  return { bytes: b, ops };
}

function checkImage(bytes: Uint8Array, file: string): void {
  const img = decodeImage(bytes, file);
  if (!(Number.isInteger(img.width) && Number.isInteger(img.height) && img.width >= 1 && img.height >= 1)) throw new Error(`decoded ${img.width}x${img.height}`);
  if (img.data.length !== img.width * img.height * 3) throw new Error(`decoded ${img.data.length} bytes for ${img.width}x${img.height}`);
}

/** Re-writes the CRC of every chunk so that mutations reach the decoder instead of the CRC check. */
function fixPngCrcs(b: Uint8Array): Uint8Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = 8;
  while (off + 12 <= b.length) {
    const len = dv.getUint32(off);
    if (off + 12 + len > b.length) break;
    dv.setUint32(off + 8 + len, crc32(b.subarray(off + 4, off + 8 + len)));
    off += 12 + len;
  }
  return b;
}

/** A small crop of a real photo, re-encoded (decoding the 1920x1280 original takes ~100 ms). */
function photoCrop(w: number, h: number): { rgba: Buffer; w: number; h: number } {
  const photo = jpeg.decode(readFileSync(faceSamplePhotos()[0]), { useTArray: true, formatAsRGBA: true });
  const rgba = Buffer.alloc(w * h * 4);
  const x0 = Math.floor((photo.width - w) / 2), y0 = Math.floor((photo.height - h) / 3);
  for (let y = 0; y < h; y++) rgba.set(photo.data.subarray(((y0 + y) * photo.width + x0) * 4, ((y0 + y) * photo.width + x0 + w) * 4), y * w * 4);
  return { rgba, w, h };
}

test('fuzz images: small JPEG and PNG (crops of a real photo), mutated → UserError or a decoded image', () => {
  const rand = mulberry32(SEED + 5);
  const crop = photoCrop(96, 64);
  const jpg = jpeg.encode({ width: crop.w, height: crop.h, data: crop.rgba }, 85).data;
  const png = new PNG({ width: crop.w, height: crop.h });
  crop.rgba.copy(png.data);
  const pngBytes = PNG.sync.write(png);
  checkImage(jpg, 'crop.jpg');
  checkImage(pngBytes, 'crop.png');
  const fj = new Fuzzer(SEED);
  for (let i = 0; i < 400 * SCALE; i++) {
    const { bytes, ops } = mutateBytes(jpg, rand);
    fj.attempt(`jpeg #${i} [${ops.join(', ')}]`, () => checkImage(bytes, 'fuzz.jpg'));
  }
  fj.assertClean('jpeg', 5, 50);
  const fp = new Fuzzer(SEED);
  for (let i = 0; i < 300 * SCALE; i++) {
    const { bytes, ops } = mutateBytes(pngBytes, rand);
    const fixed = rand() < 0.7;
    fp.attempt(`png #${i}${fixed ? ' crc-fixed' : ''} [${ops.join(', ')}]`, () => checkImage(fixed ? fixPngCrcs(bytes) : bytes, 'fuzz.png'));
  }
  // 0 accepted is fine: the file has only IHDR, IDAT and IEND, and the decoder now inflates IDAT
  // itself (zlib's adler32 catches any flipped bit) and checks IHDR's size against it
  fp.assertClean('png', 0, 50);
});

test('images: a truncated PNG, a tiny PNG declaring 10000x10000 and a JPEG without scan data are refused before decoding', () => {
  const crop = photoCrop(32, 16);
  const png = new PNG({ width: crop.w, height: crop.h });
  crop.rgba.copy(png.data);
  const good = PNG.sync.write(png);
  const expectRefused = (bytes: Uint8Array, re: RegExp, what: string) =>
    assert.throws(() => decodeImage(bytes, 'x.png'), (e: unknown) => e instanceof UserError && re.test((e as Error).message), what);
  // cut inside the file: whole chunks missing (no IEND), or the IDAT chunk cut short
  expectRefused(good.subarray(0, good.length - 12), /no IEND chunk/, 'no IEND');
  expectRefused(good.subarray(0, 60), /truncated PNG image/, 'cut in IDAT');
  // IDAT holding 8 of 16 rows, the chunks otherwise well-formed
  const { deflateSync } = zlibMod;
  const rows = 8, raw = Buffer.alloc(rows * (1 + crop.w * 4));
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = (w: number, h: number) => {
    const d = Buffer.alloc(13);
    d.writeUInt32BE(w, 0);
    d.writeUInt32BE(h, 4);
    d[8] = 8; d[9] = 6; // 8-bit RGBA
    return chunk('IHDR', d);
  };
  const sig = good.subarray(0, 8);
  expectRefused(Buffer.concat([sig, ihdr(crop.w, crop.h), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]), /pixel data for 8 of 16 rows/, 'half the rows');
  // 10000 x 10000 declared, one byte of pixel data: refused before any large allocation
  const tiny = Buffer.concat([sig, ihdr(10000, 10000), chunk('IDAT', deflateSync(Buffer.alloc(1))), chunk('IEND', Buffer.alloc(0))]);
  assert.ok(tiny.length < 100);
  expectRefused(tiny, /truncated PNG image/, '10000x10000 in a tiny file');
  // a JPEG cut right after its headers: no scan, no image
  const jpg = Buffer.from(jpeg.encode({ width: crop.w, height: crop.h, data: crop.rgba }, 85).data);
  let sos = 2;
  while (!(jpg[sos] === 0xff && jpg[sos + 1] === 0xda)) sos += 2 + jpg.readUInt16BE(sos + 2);
  assert.throws(() => decodeImage(Buffer.concat([jpg.subarray(0, sos), Buffer.from([0xff, 0xd9])]), 'x.jpg'), /no image data \(no start-of-scan marker\)/);
});

test('fuzz images: the full-size sample photo, truncated and flipped past its headers (few attempts)', () => {
  const rand = mulberry32(SEED + 6);
  const photo = readFileSync(faceSamplePhotos()[0]);
  const f = new Fuzzer(SEED);
  // header flips could legitimately declare a 60-megapixel image (slow, not wrong): keep to the scan data
  let sos = 2;
  while (sos < photo.length - 1 && !(photo[sos] === 0xff && photo[sos + 1] === 0xda)) sos++;
  for (let i = 0; i < 8 * SCALE; i++) {
    const { bytes, ops } = mutateBytes(photo, rand, sos + 20);
    f.attempt(`sample1.jpg #${i} [${ops.join(', ')}]`, () => checkImage(bytes, 'sample1.jpg'));
  }
  assert.is(f.failures.length, 0, f.failures.join('\n'));
});


// ---------------------------------------------------------------------------------------------
// sweep: --vary arguments and results files

test('fuzz sweep --vary: mutated arguments → UserError or axes whose points validate or are refused', () => {
  const rand = mulberry32(SEED + 6);
  const seeds = ['core.neurons=256,512,1024', 'energy.synop_pJ=10:30:5', 'timesteps=64,128', 'noc.multicast=true,false', 'timing.synop_ns=0.5:2:0.5', 'neuron=ibt,if', 'timing.tick.rule=barrier'];
  const junk = ['=', ',', ':', '.', '-', 'e', '1', '0', ' ', 'x', '..', '::', ',,', '1e309', 'NaN', '-1', 'value'];
  const f = new Fuzzer(SEED);
  const fixed = { timesteps: 16, thresholds: null, norm: 'channel', statistic: null, neuron: 'ibt', placement: 'layers' };
  for (let k = 0; k < 300 * SCALE; k++) {
    let a = pick(rand, seeds);
    for (let m = 0, n = 1 + int(rand, 3); m < n; m++) {
      const at = int(rand, a.length + 1);
      a = rand() < 0.5 ? a.slice(0, at) + pick(rand, junk) + a.slice(at) : a.slice(0, at) + a.slice(at + 1 + int(rand, 3));
    }
    f.attempt(`--vary ${JSON.stringify(a)}`, () => {
      const axes = parseAxes([a]);
      assert.ok(axes[0].values.length >= 1);
      if (axes[0].values.length <= 64) validatePoints('loihi', axes, fixed, null);
    });
  }
  f.assertClean('sweep --vary');
});

test('fuzz sweep results files: truncated and mutated CSVs → UserError or rows; merge refuses or accepts cleanly', () => {
  const rand = mulberry32(SEED + 7);
  const good = 'point,sweep,points,status,energy_per_frame_J,latency_frame_s,varied,config\n' +
    [0, 1, 2].map((i) => `${i},abc,3,ok,${1 + i},${2 - i},x=${i},"{""chip"":""loihi"",""seed"":1}"`).join('\n') + '\n';
  const f = new Fuzzer(SEED);
  for (let k = 0; k < 300 * SCALE; k++) {
    let t = good;
    for (let m = 0, n = 1 + int(rand, 3); m < n; m++) {
      const at = int(rand, t.length);
      const r = rand();
      t = r < 0.3 ? t.slice(0, at) : r < 0.6 ? t.slice(0, at) + pick(rand, ['"', ',', '\n', 'x', '""', '\r']) + t.slice(at) : t.slice(0, at) + t.slice(at + 1);
    }
    const file = join(tmp, `fuzz-${k % 4}.csv`);
    writeFileSync(file, t);
    f.attempt(`results ${JSON.stringify(t.slice(0, 60))}`, () => {
      const r = readResults(file, { repair: rand() < 0.5 });
      if (r.rows.length) mergeResults([{ file, results: r }]);
    });
  }
  f.assertClean('sweep results');
});

test('deeply nested JSON (5000 levels) in a chip file, a detections file, ground truth and a thresholds file: a one-line error, exit 2, no stack overflow', async () => {
  const { runBin } = await import('./helpers/cli.ts');
  const dir = mkdtempSync(join(tmpdir(), 'neuroemu-deep-'));
  const deep = join(dir, 'deep.json'), deep2 = join(dir, 'deep2.json');
  const text = '{"name":' + '['.repeat(5000) + ']'.repeat(5000) + '}';
  writeFileSync(deep, text);
  writeFileSync(deep2, text);
  for (const args of [['chips', 'validate', deep], ['run', '--chip', deep, '--timesteps', '8'], ['eval', deep, '--truth', deep2], ['detect', 'x.jpg', '--engine', 'snn', '--timesteps', '8', '--thresholds', deep]]) {
    const r = runBin(...args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.err}`);
    const lines = r.err.split('\n').filter((l) => l.startsWith('neuroemu: '));
    assert.is(lines.length, 1, r.err);
    assert.not.match(r.err, /RangeError|Maximum call stack|\n\s+at /);
  }
  rmSync(dir, { recursive: true, force: true });
});

test('boards and chips too large to lay out are refused before anything allocates: chip file, --board, chip variant of huge tiles', async () => {
  const { runBin } = await import('./helpers/cli.ts');
  const dir = mkdtempSync(join(tmpdir(), 'neuroemu-board-'));
  const base = JSON.parse(readFileSync(new URL('../chips/loihi.json', import.meta.url), 'utf8'));
  const src = base.board?.chips_x?.source ?? Object.keys(base.sources)[0];
  const big = { ...base, board: { chips_x: { value: 10000, source: src }, chips_y: { value: 10000, source: src } } };
  writeFileSync(join(dir, 'big.json'), JSON.stringify(big));
  const tiles = { ...base, chip: { ...base.chip, tiles_x: { ...base.chip.tiles_x, value: 1e9 }, tiles_y: { ...base.chip.tiles_y, value: 1e9 } } };
  writeFileSync(join(dir, 'tiles.json'), JSON.stringify(tiles));
  for (const [args, re] of [
    [['chips', 'validate', join(dir, 'big.json')], /100,000,000 chips exceeds the 65,536/],
    [['chips', 'validate', join(dir, 'tiles.json')], /routers per chip exceeds|must be|expected/],
    [['map', '--chip', 'loihi', '--board', '100000x100000', '--size', '128'], /10,000,000,000 chips exceeds/],
  ] as const) {
    const r = runBin(...args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.err}`);
    const lines = r.err.split('\n').filter((l) => l.startsWith('neuroemu: '));
    assert.is(lines.length, 1, r.err);
    assert.match(lines[0], re);
    assert.not.match(r.err, /RangeError|Invalid typed array|\n\s+at /);
  }
  rmSync(dir, { recursive: true, force: true });
});

test('a model whose outputs overflow (a manifest scale of 1e30) is refused naming the layer, not run into null boxes', async () => {
  const { runBin } = await import('./helpers/cli.ts');
  const { copyFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'neuroemu-nonfinite-'));
  const src = new URL('../node_modules/@vladmandic/face-api/model/', import.meta.url).pathname;
  const manifest = JSON.parse(readFileSync(join(src, 'tiny_face_detector_model-weights_manifest.json'), 'utf8'));
  manifest[0].weights[2].quantization.scale = 1e30; // conv1/depthwise_filter
  writeFileSync(join(dir, 'm.json'), JSON.stringify(manifest));
  copyFileSync(join(src, 'tiny_face_detector_model.bin'), join(dir, 'tiny_face_detector_model.bin'));
  const photo = new URL('../node_modules/@vladmandic/face-api/demo/sample1.jpg', import.meta.url).pathname;
  const r = runBin('detect', photo, '--model', join(dir, 'm.json'), '--json', join(dir, 'd.json'));
  assert.is(r.code, 2, r.err);
  const lines = r.err.split('\n').filter((l) => l.startsWith('neuroemu: '));
  assert.is(lines.length, 1, r.err);
  assert.match(lines[0], /layer \d+ \(\w+\).*not finite/);
  rmSync(dir, { recursive: true, force: true });
});

test('checkFiniteParameters: a NaN or infinite weight or bias names its layer, tensor and index', async () => {
  const { loadModel, checkFiniteParameters } = await import('../src/model/load.ts');
  const net = loadModel({ model: 'face', size: 128 });
  const conv = net.layers.find((l) => l.kind === 'conv' && l.name.startsWith('conv2'))!;
  if (conv.kind !== 'conv') throw new Error('no conv');
  conv.biases[5] = Infinity;
  assert.throws(() => checkFiniteParameters(net), (e: unknown) => e instanceof UserError && new RegExp(`layer ${conv.index} \\(${conv.name.replace('/', '\\/')}\\) biases\\[5\\]: Infinity is not a finite number`).test(e.message));
});

test('face manifests: a .bin reached through a symlink out of the folder, a .bin listed 2000 times, and more .bin bytes than described are refused before reading', async () => {
  const { symlinkSync, copyFileSync } = await import('node:fs');
  const { readTfjsManifest } = await import('../src/model/faceapi.ts');
  const dir = mkdtempSync(join(tmpdir(), 'neuroemu-manifest-'));
  const src = new URL('../node_modules/@vladmandic/face-api/model/', import.meta.url).pathname;
  const manifest = JSON.parse(readFileSync(join(src, 'tiny_face_detector_model-weights_manifest.json'), 'utf8'));
  symlinkSync(join(src, 'tiny_face_detector_model.bin'), join(dir, 'link.bin'));
  copyFileSync(join(src, 'tiny_face_detector_model.bin'), join(dir, 'b.bin'));
  const write = (name: string, paths: string[]) => {
    writeFileSync(join(dir, name), JSON.stringify([{ ...manifest[0], paths }]));
    return join(dir, name);
  };
  const refused = (file: string, re: RegExp) => assert.throws(() => readTfjsManifest(file), (e: unknown) => e instanceof UserError && re.test((e as Error).message) && !(e as Error).message.includes('\n'), String(re));
  refused(write('link.json', ['link.bin']), /is a link to .*outside the manifest's folder/);
  refused(write('many.json', Array(2000).fill('b.bin')), /add up to more than 256 MiB \(2000 paths\): refused before reading/);
  refused(write("twice.json", ["b.bin", "b.bin"]), /the manifest describes 193321 bytes but its .bin files \(b.bin, b.bin\) hold 386642/);
  assert.is(readTfjsManifest(write('ok.json', ['b.bin'])).size, manifest[0].weights.length);
  rmSync(dir, { recursive: true, force: true });
});

test('eval: 200,000 invalid detections get one line naming the first; 250,000 valid ones are scored', async () => {
  const { runBin } = await import('./helpers/cli.ts');
  const dir = mkdtempSync(join(tmpdir(), 'neuroemu-many-'));
  const file = (name: string, dets: unknown[]) => {
    const f = join(dir, name);
    writeFileSync(f, JSON.stringify({ model: 'face', engine: 'ann', size: 416, images: [{ file: 'a.jpg', width: 100, height: 100, detections: dets }] }));
    return f;
  };
  const rand = mulberry32(SEED + 9);
  const good = Array.from({ length: 250_000 }, () => ({ x: rand() * 90, y: rand() * 90, w: 5, h: 5, score: rand(), class: 'face' }));
  const bad = Array.from({ length: 200_000 }, () => ({ x: 1, y: 1, w: -5, h: 2, score: 0.5, class: 'face' }));
  const truth = file('truth.json', good.slice(0, 50));
  const r1 = runBin('eval', file('bad.json', bad), '--truth', truth);
  assert.is(r1.code, 2, r1.err);
  assert.match(r1.err, /^neuroemu: .*bad\.json: images\[0\]\.detections\[0\]\.w: must not be negative\n$/);
  const r2 = runBin('eval', file('good.json', good), '--truth', truth);
  assert.is(r2.code, 0, r2.err);
  assert.match(r2.out, /250000/);
  rmSync(dir, { recursive: true, force: true });
});

test.run();
