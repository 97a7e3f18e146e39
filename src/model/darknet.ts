/**
 * darknet .cfg + .weights import (pjreddie/darknet src/parser.c semantics) into the graph IR.
 * Strict where darknet is lenient: unknown sections or keys and malformed numbers are errors
 * naming the file and line, so a typo never silently becomes a different network.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { endianness } from 'node:os';
import { basename } from 'node:path';
import { fail } from '../util/errors.ts';
import type { Activation, ConvLayer, Layer, Network, Shape } from './ir.ts';
import { convOut, shapeSize } from './ir.ts';
import { checkAllocation, MAX_ABS_WEIGHT, MAX_FILE_BYTES } from './limits.ts';

export interface CfgSection {
  type: string;
  line: number;
  options: Map<string, { value: string; line: number }>;
}

/** Keys darknet reads (or that its shipped cfgs carry for training) per section; anything else is an error. */
const KNOWN_KEYS: Record<string, string[]> = {
  net: ['batch', 'subdivisions', 'width', 'height', 'channels', 'momentum', 'decay', 'angle', 'saturation', 'exposure',
    'hue', 'learning_rate', 'burn_in', 'max_batches', 'policy', 'steps', 'scales', 'power', 'gamma', 'step', 'max_crop',
    'min_crop', 'aspect', 'inputs', 'time_steps', 'notruth', 'adam', 'b1', 'b2', 'eps', 'random', 'flip', 'center',
    'clip', 'seq_scale', 'rate', 'exp', 'lr_steps'],
  convolutional: ['batch_normalize', 'filters', 'size', 'stride', 'pad', 'padding', 'groups', 'activation', 'binary',
    'xnor', 'flipped', 'dot'],
  maxpool: ['size', 'stride', 'padding'],
  region: ['anchors', 'bias_match', 'classes', 'coords', 'num', 'softmax', 'jitter', 'rescore', 'object_scale',
    'noobject_scale', 'class_scale', 'coord_scale', 'absolute', 'thresh', 'random', 'tree', 'map', 'log', 'sqrt',
    'background', 'max'],
  yolo: ['mask', 'anchors', 'classes', 'num', 'jitter', 'ignore_thresh', 'truth_thresh', 'random', 'max', 'map'],
  route: ['layers'],
  upsample: ['stride', 'scale'],
};
const SECTION_ALIASES: Record<string, string> = { network: 'net', conv: 'convolutional', max: 'maxpool' };

/** read_cfg: whitespace is stripped from every line; '#' and ';' start comments; '[' a section. */
export function parseCfgText(text: string, file: string): CfgSection[] {
  const sections: CfgSection[] = [];
  const lines = text.split(/\r\n?|\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].replace(/[\s\0]+/g, '');
    if (line === '' || line[0] === '#' || line[0] === ';') continue;
    if (line[0] === '[') {
      if (!line.endsWith(']')) fail(`${file}:${lineNo}`, `malformed section header "${lines[i].trim()}"`);
      const raw = line.slice(1, -1).toLowerCase();
      const type = SECTION_ALIASES[raw] ?? raw;
      if (!(type in KNOWN_KEYS)) {
        fail(`${file}:${lineNo}`, `unsupported section [${raw}] (supported: ${Object.keys(KNOWN_KEYS).join(', ')})`);
      }
      sections.push({ type, line: lineNo, options: new Map() });
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) fail(`${file}:${lineNo}`, `expected key=value or [section], got "${lines[i].trim().slice(0, 60)}"`);
    if (sections.length === 0) fail(`${file}:${lineNo}`, 'option before the first [section]');
    const key = line.slice(0, eq).toLowerCase();
    const sec = sections[sections.length - 1];
    if (!KNOWN_KEYS[sec.type].includes(key)) fail(`${file}:${lineNo}`, `unknown key "${key}" in [${sec.type}]`);
    if (sec.options.has(key)) fail(`${file}:${lineNo}`, `duplicate key "${key}" in [${sec.type}]`);
    sec.options.set(key, { value: line.slice(eq + 1), line: lineNo });
  }
  if (sections.length === 0) fail(file, 'no sections: not a darknet cfg');
  if (sections[0].type !== 'net') fail(`${file}:${sections[0].line}`, 'first section must be [net]');
  return sections;
}

class Opts {
  constructor(private sec: CfgSection, private file: string) {}
  private where(key: string): string {
    const o = this.sec.options.get(key);
    return `${this.file}:${o ? o.line : this.sec.line} [${this.sec.type}] ${key}`;
  }
  has(key: string): boolean {
    return this.sec.options.has(key);
  }
  int(key: string, def: number | undefined, min = -Infinity, max = Infinity): number {
    const o = this.sec.options.get(key);
    if (!o) {
      if (def === undefined) fail(`${this.file}:${this.sec.line} [${this.sec.type}]`, `missing required key "${key}"`);
      return def;
    }
    if (!/^[+-]?\d+$/.test(o.value)) fail(this.where(key), `"${o.value}" is not an integer`);
    const v = Number(o.value);
    if (v < min || v > max) fail(this.where(key), `${v} is out of range [${min}, ${max}]`);
    return v;
  }
  float(key: string, def: number): number {
    const o = this.sec.options.get(key);
    if (!o) return def;
    const v = Number(o.value);
    if (o.value === '' || !Number.isFinite(v)) fail(this.where(key), `"${o.value}" is not a number`);
    return v;
  }
  str(key: string, def: string): string {
    return this.sec.options.get(key)?.value ?? def;
  }
  floatList(key: string): number[] {
    const o = this.sec.options.get(key);
    if (!o) return [];
    return o.value.split(',').filter((s) => s !== '').map((s) => {
      const v = Number(s);
      if (!Number.isFinite(v)) fail(this.where(key), `"${s}" is not a number`);
      return v;
    });
  }
  intList(key: string): number[] {
    const o = this.sec.options.get(key);
    if (!o) return [];
    return o.value.split(',').filter((s) => s !== '').map((s) => {
      if (!/^[+-]?\d+$/.test(s)) fail(this.where(key), `"${s}" is not an integer`);
      return Number(s);
    });
  }
  fail(key: string, what: string): never {
    return fail(this.where(key), what);
  }
}

function activationOf(o: Opts): Activation {
  const a = o.str('activation', 'logistic');
  if (a === 'leaky' || a === 'linear' || a === 'relu') return a;
  return o.fail('activation', `activation "${a}" is not supported (leaky, linear, relu)`);
}

export interface DarknetImportOptions {
  /** override the [net] width and height (square input) */
  size?: number;
  /** fold batch norm into conv weights and biases (default true) */
  foldBatchNorm?: boolean;
  /** class names (e.g. from voc.names), index = class id */
  classNames?: string[];
}

/**
 * Builds the IR with shapes resolved. Weight arrays are allocated zero-filled; loadDarknetWeights
 * fills them.
 */
export function buildDarknetNetwork(sections: CfgSection[], file: string, opts: DarknetImportOptions = {}): Network {
  const netOpts = new Opts(sections[0], file);
  let width = netOpts.int('width', 0, 0, 1 << 16);
  let height = netOpts.int('height', 0, 0, 1 << 16);
  const channels = netOpts.int('channels', 0, 0, 1 << 16);
  if (opts.size !== undefined) width = height = opts.size;
  if (!width || !height || !channels) fail(`${file}:${sections[0].line} [net]`, 'width, height and channels must be set and non-zero');
  const input: Shape = { c: channels, h: height, w: width };
  const layers: Layer[] = [];
  let prev: Shape = input;
  let totalFloats = shapeSize(input);
  checkAllocation(`${file}:${sections[0].line} [net]`, totalFloats);
  for (let s = 1; s < sections.length; s++) {
    const sec = sections[s];
    const o = new Opts(sec, file);
    const index = layers.length;
    const name = `${index} ${sec.type}`;
    const inputs = [index - 1];
    const here = `${file}:${sec.line} [${sec.type}]`;
    let layer: Layer;
    switch (sec.type) {
      case 'convolutional': {
        const filters = o.int('filters', 1, 1, 1 << 16);
        const size = o.int('size', 1, 1, 64);
        const stride = o.int('stride', 1, 1, 64);
        const padFlag = o.int('pad', 0, 0, 1);
        const pad = padFlag ? Math.floor(size / 2) : o.int('padding', 0, 0, 64);
        const groups = o.int('groups', 1, 1, 1 << 16);
        if (o.int('binary', 0) || o.int('xnor', 0)) fail(here, 'binary/xnor convolutions are not supported');
        if (prev.c % groups || filters % groups) fail(here, `groups=${groups} must divide input channels ${prev.c} and filters ${filters}`);
        const outW = convOut(prev.w, size, stride, pad);
        const outH = convOut(prev.h, size, stride, pad);
        if (outW < 1 || outH < 1) fail(here, `output would be ${outH}x${outW} from input ${prev.h}x${prev.w}`);
        const bnFlag = o.int('batch_normalize', 0, 0, 1) === 1;
        const nWeights = filters * (prev.c / groups) * size * size;
        totalFloats += nWeights + filters * 4;
        // refused before the weight arrays (or, downstream, the activations) are allocated
        checkAllocation(here, totalFloats + filters * outH * outW);
        const conv: ConvLayer = {
          kind: 'conv', index, name, inputs, inShape: prev, outShape: { c: filters, h: outH, w: outW },
          filters, size, stride, pad, groups, activation: activationOf(o), leakySlope: 0.1,
          weights: new Float32Array(nWeights), biases: new Float32Array(filters),
        };
        if (bnFlag) {
          conv.bn = { scales: new Float32Array(filters), mean: new Float32Array(filters), variance: new Float32Array(filters), eps: 0.000001 };
        }
        layer = conv;
        break;
      }
      case 'maxpool': {
        const stride = o.int('stride', 1, 1, 64);
        const size = o.int('size', stride, 1, 64);
        const padding = o.int('padding', size - 1, 0, 64);
        // make_maxpool_layer: out = (w + padding - size)/stride + 1; window offset -padding/2
        const outW = Math.floor((prev.w + padding - size) / stride) + 1;
        const outH = Math.floor((prev.h + padding - size) / stride) + 1;
        if (outW < 1 || outH < 1) fail(here, `output would be ${outH}x${outW}`);
        layer = { kind: 'maxpool', index, name, inputs, inShape: prev, outShape: { c: prev.c, h: outH, w: outW }, size, stride, padBegin: Math.floor(padding / 2) };
        break;
      }
      case 'route': {
        const refs = o.intList('layers');
        if (refs.length === 0) fail(here, 'route needs layers=');
        const abs = refs.map((r) => (r < 0 ? index + r : r));
        for (const a of abs) if (a < 0 || a >= index) o.fail('layers', `layer ${a} does not exist before layer ${index}`);
        const shapes = abs.map((a) => layers[a].outShape);
        for (const sh of shapes) if (sh.h !== shapes[0].h || sh.w !== shapes[0].w) o.fail('layers', `routed layers differ in size (${shapes.map((x) => `${x.h}x${x.w}`).join(', ')})`);
        const c = shapes.reduce((acc, sh) => acc + sh.c, 0);
        layer = { kind: 'route', index, name, inputs: abs, inShape: shapes[0], outShape: { c, h: shapes[0].h, w: shapes[0].w }, layers: abs };
        break;
      }
      case 'upsample': {
        const stride = o.int('stride', 2, 1, 64);
        if (o.has('scale') && o.float('scale', 1) !== 1) o.fail('scale', 'scaled upsample is not supported');
        layer = { kind: 'upsample', index, name, inputs, inShape: prev, outShape: { c: prev.c, h: prev.h * stride, w: prev.w * stride }, stride };
        break;
      }
      case 'region': {
        const classes = o.int('classes', 20, 1, 100000);
        const coords = o.int('coords', 4, 4, 4);
        const num = o.int('num', 1, 1, 1000);
        const anchors = o.floatList('anchors');
        if (anchors.length !== 2 * num) o.fail('anchors', `expected ${2 * num} values for num=${num}, got ${anchors.length}`);
        if (prev.c !== num * (coords + 1 + classes)) fail(here, `input has ${prev.c} channels, region needs num*(coords+1+classes) = ${num * (coords + 1 + classes)}`);
        layer = { kind: 'region', index, name, inputs, inShape: prev, outShape: prev, anchors, classes, coords, num };
        break;
      }
      case 'yolo': {
        const classes = o.int('classes', 20, 1, 100000);
        const total = o.int('num', 1, 1, 1000);
        const anchors = o.floatList('anchors');
        if (anchors.length !== 2 * total) o.fail('anchors', `expected ${2 * total} values for num=${total}, got ${anchors.length}`);
        let mask = o.intList('mask');
        if (mask.length === 0) mask = Array.from({ length: total }, (_, i) => i);
        for (const m of mask) if (m < 0 || m >= total) o.fail('mask', `index ${m} is outside 0..${total - 1}`);
        if (prev.c !== mask.length * (4 + 1 + classes)) fail(here, `input has ${prev.c} channels, yolo needs ${mask.length}*(5+classes) = ${mask.length * (5 + classes)}`);
        layer = { kind: 'yolo', index, name, inputs, inShape: prev, outShape: prev, anchors, mask, classes };
        break;
      }
      default:
        fail(here, `unsupported section [${sec.type}] in a network body`);
    }
    layers.push(layer);
    prev = layer.outShape;
    totalFloats += shapeSize(prev);
    checkAllocation(here, totalFloats);
  }
  if (layers.length === 0) fail(file, 'the network has no layers');
  const net: Network = {
    name: basename(file).replace(/\.cfg$/, ''),
    source: file,
    format: 'darknet',
    input,
    preprocess: { kind: 'darknet-letterbox' },
    layers,
    classNames: opts.classNames,
    nmsIou: 0.45,
    scoreThreshold: 0.5,
    bnFolded: false,
  };
  return net;
}

/** Bytes the weights file must have for this network, header excluded. */
export function darknetWeightFloats(net: Network): number {
  let n = 0;
  for (const l of net.layers) if (l.kind === 'conv') n += l.biases.length + (l.bn ? 3 * l.filters : 0) + l.weights.length;
  return n;
}

/**
 * load_weights: int32 major, minor, revision; `seen` is uint64 when major*10+minor >= 2, else
 * int32; then per conv layer biases, [scales, rolling mean, rolling variance], weights (float32 LE).
 * Beyond darknet: the file must be exactly as long as the cfg says, every value finite and of a
 * magnitude a trained network can have, every variance non-negative, and folding batch norm
 * (fold.ts, float64 then float32) must stay finite, so a corrupt file never becomes a model.
 */
export function loadDarknetWeights(net: Network, buf: Uint8Array, file: string): { major: number; minor: number; revision: number; seen: number } {
  if (net.bnFolded) throw new Error('loadDarknetWeights: the network already has batch norm folded');
  if (buf.length < 12) fail(file, `truncated: ${buf.length} bytes is shorter than the darknet weights header`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const major = dv.getInt32(0, true);
  const minor = dv.getInt32(4, true);
  const revision = dv.getInt32(8, true);
  if (major < 0 || major > 1000 || minor < 0 || minor > 1000) fail(file, `implausible header version ${major}.${minor}: not a darknet weights file`);
  const wide = major * 10 + minor >= 2;
  const headerBytes = wide ? 20 : 16;
  if (buf.length < headerBytes) fail(file, `truncated: ${buf.length} bytes is shorter than the ${headerBytes}-byte darknet ${major}.${minor} weights header`);
  const seen = wide ? Number(dv.getBigUint64(12, true)) : dv.getInt32(12, true);
  const need = darknetWeightFloats(net) * 4;
  const have = buf.length - headerBytes;
  if (have < need) fail(file, `truncated: the network needs ${need} bytes of weights after the ${headerBytes}-byte header, the file has ${have}`);
  if (have > need) fail(file, `${have - need} bytes beyond the ${need} the network needs: weights do not match the cfg`);
  const littleEndian = endianness() === 'LE';
  let off = headerBytes;
  const read = (dst: Float32Array, what: string, layer: ConvLayer) => {
    const start = off;
    if (littleEndian) new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(buf.subarray(off, off + dst.byteLength));
    else for (let i = 0; i < dst.length; i++) dst[i] = dv.getFloat32(off + 4 * i, true);
    off += dst.byteLength;
    for (let i = 0; i < dst.length; i++) {
      const v = dst[i];
      if (v >= -MAX_ABS_WEIGHT && v <= MAX_ABS_WEIGHT) continue;
      const where = `layer ${layer.index} ${what}[${i}]`;
      if (!Number.isFinite(v)) fail(file, `${where} is ${v} (byte ${start + 4 * i}): corrupt weights`);
      fail(file, `${where} is ${v} (byte ${start + 4 * i}): implausibly large for a trained network (|value| > ${MAX_ABS_WEIGHT}), corrupt weights`);
    }
  };
  for (const l of net.layers) {
    if (l.kind !== 'conv') continue;
    read(l.biases, 'biases', l);
    if (l.bn) {
      read(l.bn.scales, 'scales', l);
      read(l.bn.mean, 'rolling_mean', l);
      read(l.bn.variance, 'rolling_variance', l);
      for (let i = 0; i < l.filters; i++) if (l.bn.variance[i] < 0) fail(file, `layer ${l.index} rolling_variance[${i}] is negative (${l.bn.variance[i]})`);
    }
    read(l.weights, 'weights', l);
    if (l.bn) checkFoldable(l, file);
  }
  return { major, minor, revision, seen };
}

/** Refuses batch-norm statistics whose folding (fold.ts) would overflow float32. */
function checkFoldable(l: ConvLayer, file: string): void {
  const bn = l.bn!;
  const per = l.weights.length / l.filters;
  for (let f = 0; f < l.filters; f++) {
    const s = bn.scales[f] / (Math.sqrt(bn.variance[f]) + bn.eps);
    let maxAbs = 0;
    for (let i = f * per; i < (f + 1) * per; i++) maxAbs = Math.max(maxAbs, Math.abs(l.weights[i]));
    if (!Number.isFinite(Math.fround(maxAbs * s)) || !Number.isFinite(Math.fround(l.biases[f] - bn.mean[f] * s))) {
      fail(file, `layer ${l.index} filter ${f}: folding batch norm (scale ${bn.scales[f]}, rolling_variance ${bn.variance[f]}, |weight| up to ${maxAbs}) overflows float32, corrupt weights`);
    }
  }
}

/** Reads a whole regular file; a missing, empty, special or oversized file is a UserError naming it. */
export function readFileChecked(file: string): Buffer {
  const why = (e: unknown): string => {
    const code = (e as NodeJS.ErrnoException)?.code;
    if (code === 'ENOENT') return 'does not exist';
    if (code === 'ENOTDIR') return 'does not exist (a parent is not a folder)';
    if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
    if (code === 'EISDIR') return 'not a regular file (a directory)';
    return `cannot read (${code ?? (e instanceof Error ? e.message : String(e))})`;
  };
  let st: Stats;
  try {
    st = statSync(file);
  } catch (e) {
    fail(file, why(e));
  }
  if (st.isDirectory()) fail(file, 'not a regular file (a directory)');
  if (!st.isFile()) fail(file, 'not a regular file');
  if (st.size === 0) fail(file, 'file is empty');
  if (st.size > MAX_FILE_BYTES) fail(file, `${(st.size / 2 ** 30).toFixed(1)} GiB is too large (limit ${MAX_FILE_BYTES / 2 ** 30} GiB)`);
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    fail(file, why(e));
  }
  if (buf.length === 0) fail(file, 'file is empty');
  return buf;
}

export function loadDarknet(cfgFile: string, weightsFile: string | undefined, opts: DarknetImportOptions = {}): Network {
  const text = readFileChecked(cfgFile).toString('utf8');
  const net = buildDarknetNetwork(parseCfgText(text, cfgFile), cfgFile, opts);
  if (weightsFile) {
    loadDarknetWeights(net, readFileChecked(weightsFile), weightsFile);
    net.source = `${cfgFile} + ${weightsFile}`;
  }
  return net;
}
