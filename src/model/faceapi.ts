/**
 * face-api TinyFaceDetector import (@vladmandic/face-api 1.7.15: src/tinyYolov2/TinyYolov2Base.ts
 * runMobilenet, src/tinyFaceDetector/const.ts, tfjs-core io_utils.decodeWeight).
 *
 * The network: conv0 (3x3 'valid') + leaky, maxPool 2/2 'same', then five depthwise-separable
 * blocks (zero pad 1, depthwise 3x3, pointwise 1x1, bias, leaky) each followed by maxPool 2/2
 * ('same'; the last one 2/1), then conv8 1x1 'valid' (linear). In the IR a separable block is two
 * conv layers: a depthwise conv (groups = channels, linear, zero bias) and a pointwise conv.
 */
import { checkJsonDepth } from '../util/json.ts';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { describeThrown, fail } from '../util/errors.ts';
import type { ConvLayer, Layer, Network, Shape } from './ir.ts';
import { convOut } from './ir.ts';
import { readFileChecked } from './darknet.ts';

/** src/tinyFaceDetector/const.ts */
export const FACE_ANCHORS = [1.603231, 2.094468, 6.041143, 7.080126, 2.882459, 3.518061, 4.266906, 5.178857, 9.041765, 10.66308];
export const FACE_MEAN_RGB: [number, number, number] = [117.001, 114.697, 97.404];
export const FACE_DEFAULT_SIZE = 416;

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

/** Folder of the npm package's models and sample photos. */
export function faceApiPackageDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@vladmandic/face-api/package.json'));
}

export function defaultFaceManifest(): string {
  return join(faceApiPackageDir(), 'model', 'tiny_face_detector_model-weights_manifest.json');
}

export function faceSamplePhotos(): string[] {
  const dir = join(faceApiPackageDir(), 'demo');
  return [1, 2, 3, 4, 5, 6].map((i) => join(dir, `sample${i}.jpg`)).filter((f) => existsSync(f));
}

/** The most .bin bytes one manifest group may list (the face detector's is 189 kB). */
const MAX_MANIFEST_BYTES = 256 * 2 ** 20;

/** Reads a tfjs weights manifest and its .bin shards; returns the dequantized tensors by name. */
export function readTfjsManifest(manifestFile: string): Map<string, { shape: number[]; data: Float32Array }> {
  let manifest: unknown;
  const text = readFileChecked(manifestFile).toString('utf8');
  try {
    checkJsonDepth(text, manifestFile);
    manifest = JSON.parse(text);
  } catch (e) {
    fail(manifestFile, `not valid JSON (${describeThrown(e)})`);
  }
  if (!Array.isArray(manifest)) fail(manifestFile, 'a weights manifest must be a JSON array of {paths, weights} groups');
  if (manifest.length === 0) fail(manifestFile, 'the manifest has no weight groups: weights are missing');
  const dir = dirname(resolve(manifestFile));
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  manifest.forEach((group: unknown, gi: number) => {
    const where = `${manifestFile} [${gi}]`;
    if (typeof group !== 'object' || group === null || Array.isArray(group)) fail(where, 'must be an object {paths, weights}');
    const g = group as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(g.paths) || !g.paths.every((p) => typeof p === 'string')) fail(`${where}.paths`, 'must be an array of file names');
    if (g.paths.length === 0) fail(`${where}.paths`, 'names no .bin file');
    if (!Array.isArray(g.weights)) fail(`${where}.weights`, 'must be an array');
    const parts: Buffer[] = [];
    // the folder and every .bin by their real paths (a symlink must not lead outside the folder),
    // and their sizes summed before anything is read (a manifest listing one .bin 2000 times)
    let realDir: string;
    try {
      realDir = realpathSync(dir);
    } catch {
      realDir = dir;
    }
    const outside = (p: string, full: string) => {
      const rel = relative(realDir, full);
      return isAbsolute(p) || rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
    };
    const files: string[] = [];
    let total = 0;
    for (const p of g.paths as string[]) {
      if (p === '') fail(`${where}.paths`, 'an empty file name');
      const full = resolve(dir, p);
      if (outside(p, full)) fail(`${where}.paths`, `"${p}" points outside the manifest's folder`);
      let real = full;
      try {
        real = realpathSync(full);
      } catch {
        // missing: readFileChecked names it below
      }
      if (outside(p, real)) fail(`${where}.paths`, `"${p}" is a link to ${real}, outside the manifest's folder`);
      try {
        total += statSync(real).size;
      } catch {
        // missing: readFileChecked names it below
      }
      if (total > MAX_MANIFEST_BYTES) fail(`${where}.paths`, `the .bin files listed add up to more than ${MAX_MANIFEST_BYTES / 2 ** 20} MiB (${g.paths.length} paths): refused before reading`);
      files.push(real);
    }
    // the bytes the tensors describe, when every entry is well-formed (else the loop below says what is wrong)
    const described = (g.weights as unknown[]).reduce<number | null>((acc, w0) => {
      const w = w0 as Partial<ManifestWeight> | null;
      if (acc === null || !w || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0)) return null;
      const q = w.quantization as { dtype?: unknown } | undefined | null;
      const bytes = q ? (q.dtype === 'uint8' ? 1 : q.dtype === 'uint16' ? 2 : NaN) : 4;
      return Number.isNaN(bytes) ? null : acc + bytes * w.shape.reduce((a, b) => a * b, 1);
    }, 0);
    const listed = g.paths as string[];
    const binNames = `.bin file${listed.length > 1 ? 's' : ''} (${listed.length > 3 ? `${listed.slice(0, 3).join(', ')}, … ${listed.length} files` : listed.join(', ')})`;
    if (described !== null && total > described) fail(where, `the manifest describes ${described} bytes but its ${binNames} hold ${total}: the .bin is too long for the manifest (refused before reading)`);
    for (const f of files) parts.push(readFileChecked(f));
    const bin = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    let off = 0;
    (g.weights as unknown[]).forEach((w0, wi) => {
      const wf = `${where}.weights[${wi}]`;
      if (typeof w0 !== 'object' || w0 === null || Array.isArray(w0)) fail(wf, 'must be an object {name, shape, dtype}');
      const w = w0 as Partial<ManifestWeight>;
      if (typeof w.name !== 'string' || w.name === '') fail(`${wf}.name`, 'missing');
      const shape = w.shape;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0 && d < 1 << 24)) fail(`${wf}.shape`, 'must be an array of non-negative integers');
      const n = shape.reduce((a, b) => a * b, 1);
      if (n > 1 << 28) fail(`${wf}.shape`, `${n} values is too large`);
      if (w.dtype !== 'float32') fail(`${wf}.dtype`, `"${w.dtype}" is not supported (float32)`);
      const q = w.quantization as unknown;
      let bytes = 4, scale = 1, min = 0;
      if (q !== undefined && q !== null) {
        const qq = q as { dtype?: unknown; scale?: unknown; min?: unknown };
        if (typeof q !== 'object' || Array.isArray(q)) fail(`${wf}.quantization`, 'must be an object {dtype, scale, min}');
        if (qq.dtype !== 'uint8' && qq.dtype !== 'uint16') fail(`${wf}.quantization.dtype`, `"${qq.dtype}" is not supported (uint8, uint16)`);
        if (typeof qq.scale !== 'number' || typeof qq.min !== 'number' || !Number.isFinite(qq.scale) || !Number.isFinite(qq.min)) fail(`${wf}.quantization`, 'needs numeric scale and min');
        bytes = qq.dtype === 'uint8' ? 1 : 2;
        scale = qq.scale;
        min = qq.min;
      }
      // the .bin must hold the tensor before anything is allocated for it
      if (off + bytes * n > bin.length) {
        fail(wf, `weight "${w.name}" needs bytes ${off}..${off + bytes * n} but the ${binNames} hold ${bin.length} bytes: the .bin is too short for the manifest`);
      }
      const data = new Float32Array(n);
      if (bytes === 4) for (let i = 0; i < n; i++) data[i] = bin.readFloatLE(off + 4 * i);
      // tfjs io_utils.decodeWeight: v * scale + min in float64, stored as float32
      else if (bytes === 1) for (let i = 0; i < n; i++) data[i] = bin[off + i] * scale + min;
      else for (let i = 0; i < n; i++) data[i] = bin.readUInt16LE(off + 2 * i) * scale + min;
      for (let i = 0; i < n; i++) {
        if (!Number.isFinite(data[i])) fail(wf, `weight "${w.name}" value [${i}] is ${data[i]} (byte ${off + bytes * i} of the ${binNames})`);
      }
      off += bytes * n;
      if (tensors.has(w.name)) fail(`${wf}.name`, `duplicate weight "${w.name}"`);
      tensors.set(w.name, { shape, data });
    });
    if (off !== bin.length) fail(where, `the manifest describes ${off} bytes but its ${binNames} hold ${bin.length}: the .bin is too long for the manifest`);
  });
  return tensors;
}

function take(t: Map<string, { shape: number[]; data: Float32Array }>, name: string, shape: number[], file: string): Float32Array {
  const x = t.get(name);
  if (!x) fail(file, `weight "${name}" is missing: not a TinyFaceDetector manifest`);
  if (x.shape.join(',') !== shape.join(',')) fail(file, `weight "${name}" has shape [${x.shape}], expected [${shape}]`);
  return x.data;
}

/** HWIO (TF conv2d) → OIHW (IR) */
function hwioToOihw(src: Float32Array, k: number, cin: number, cout: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) {
    out[((o * cin + i) * k + y) * k + x] = src[((y * k + x) * cin + i) * cout + o];
  }
  return out;
}

export function loadFaceDetector(manifestFile: string = defaultFaceManifest(), inputSize: number = FACE_DEFAULT_SIZE): Network {
  if (!Number.isInteger(inputSize) || inputSize < 32 || inputSize > 4096) fail('--size', `${inputSize} must be an integer in 32..4096 for the face detector`);
  const t = readTfjsManifest(manifestFile);
  const layers: Layer[] = [];
  let shape: Shape = { c: 3, h: inputSize, w: inputSize };
  const push = (l: Layer) => {
    layers.push(l);
    shape = l.outShape;
  };
  const conv = (name: string, filters: number, size: number, pad: number, groups: number, act: 'leaky' | 'linear', weights: Float32Array, biases: Float32Array | undefined): void => {
    const h = convOut(shape.h, size, 1, pad), w = convOut(shape.w, size, 1, pad);
    if (h < 1 || w < 1) fail('--size', `${inputSize} is too small for the face detector`);
    const l: ConvLayer = {
      kind: 'conv', index: layers.length, name, inputs: [layers.length - 1], inShape: shape, outShape: { c: filters, h, w },
      filters, size, stride: 1, pad, groups, activation: act, leakySlope: 0.1, weights, biases: biases ?? new Float32Array(0),
    };
    if (!biases) {
      l.biases = new Float32Array(filters);
      l.noBias = true;
    }
    push(l);
  };
  const pool = (name: string, stride: number) => {
    // tf.maxPool 'same' with a 2x2 window: extra padding only at the bottom/right; equals darknet's rule
    const h = Math.ceil(shape.h / stride), w = Math.ceil(shape.w / stride);
    push({ kind: 'maxpool', index: layers.length, name, inputs: [layers.length - 1], inShape: shape, outShape: { c: shape.c, h, w }, size: 2, stride, padBegin: 0 });
  };
  conv('conv0', 16, 3, 0, 1, 'leaky', hwioToOihw(take(t, 'conv0/filters', [3, 3, 3, 16], manifestFile), 3, 3, 16), take(t, 'conv0/bias', [16], manifestFile));
  pool('pool0', 2);
  const sizes = [16, 32, 64, 128, 256, 512];
  for (let b = 1; b <= 5; b++) {
    const cin = sizes[b - 1], cout = sizes[b];
    const dw = take(t, `conv${b}/depthwise_filter`, [3, 3, cin, 1], manifestFile);
    const pw = take(t, `conv${b}/pointwise_filter`, [1, 1, cin, cout], manifestFile);
    const bias = take(t, `conv${b}/bias`, [cout], manifestFile);
    // depthwise [3,3,cin,1] is HWIO with groups = cin: per channel a 3x3 kernel
    conv(`conv${b}/depthwise`, cin, 3, 1, cin, 'linear', depthwiseToOihw(dw, cin), undefined);
    conv(`conv${b}/pointwise`, cout, 1, 0, 1, 'leaky', hwioToOihw(pw, 1, cin, cout), bias);
    pool(`pool${b}`, b === 5 ? 1 : 2);
  }
  conv('conv8', 25, 1, 0, 1, 'linear', hwioToOihw(take(t, 'conv8/filters', [1, 1, 512, 25], manifestFile), 1, 512, 25), take(t, 'conv8/bias', [25], manifestFile));
  const last = layers[layers.length - 1];
  layers.push({ kind: 'facehead', index: layers.length, name: 'facehead', inputs: [last.index], inShape: last.outShape, outShape: last.outShape, anchors: FACE_ANCHORS });
  return {
    name: 'face',
    source: manifestFile,
    format: 'face-api',
    input: { c: 3, h: inputSize, w: inputSize },
    preprocess: { kind: 'face-api', meanRgb: FACE_MEAN_RGB },
    layers,
    classNames: ['face'],
    nmsIou: 0.4,
    scoreThreshold: 0.5,
    bnFolded: true,
  };
}

/** depthwise filter [3][3][c][1] → OIHW [c][1][3][3] */
function depthwiseToOihw(src: Float32Array, c: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) for (let i = 0; i < c; i++) out[(i * 3 + y) * 3 + x] = src[(y * 3 + x) * c + i];
  return out;
}
