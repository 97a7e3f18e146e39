/**
 * The converted-network file (.snn): one file, exact, compact, versioned.
 *
 * Layout (all integers little-endian):
 *   bytes 0..8    magic "NEUROSNN"
 *   bytes 8..12   uint32 formatVersion (SNN_FORMAT_VERSION)
 *   bytes 12..16  uint32 byte length H of the JSON header
 *   bytes 16..16+H  JSON header (UTF-8), then zero padding to a multiple of 8
 *   then the blob: float32 little-endian arrays, back to back, blobBytes long; the file ends there.
 *
 * The header is the SnnNetwork with every Float32Array replaced by {"$f32": [byteOffset, length]}
 * (offsets into the blob) and every non-finite number by {"$num": "Infinity"}; plus
 * `blobBytes` and `blobSha256` (the blob's sha256, so a flipped bit is caught, not just a
 * truncation).
 *
 * The source ANN (`ann`): when the SnnNetwork has an `annSpec` (the CLI's --model/--weights/
 * --size/--names), the header stores that spec, the ANN's structure without its arrays
 * (`{"$len": n}` in their place) and a fingerprint (sha256 of the ANN's canonical encoding, its
 * `source` string excluded); loadSnn re-imports the ANN with loadModel and refuses the file if the
 * fingerprint differs (the model's weights changed since conversion). Without an annSpec the ANN is
 * embedded in the blob, arrays included, so the file stands alone.
 *
 * Versions: 1 (what `convert` writes) and 2, written when some conv layer carries the fixed-point
 * fields `gridStep` / `membraneClamp` (a network quantized by src/convert/quantize.ts), so that a
 * reader that knows only version 1 refuses it rather than running it as float. A version-1 file
 * with those fields is refused too.
 *
 * Saving the same network twice gives identical bytes (keys in insertion order, no timestamps).
 * Errors in a file are UserErrors naming the file and the field.
 */
import { checkJsonDepth } from '../util/json.ts';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { isHead, convOut } from '../model/ir.ts';
import type { Layer, Network, Shape } from '../model/ir.ts';
import { loadModel } from '../model/load.ts';
import { readFileChecked } from '../model/darknet.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { UserError, describeThrown, fail } from '../util/errors.ts';
import type { SnnLayer, SnnNetwork, SnnSettings } from './snn-ir.ts';
import { formatVersionFor, SNN_FORMAT_VERSION, SNN_FORMAT_VERSION_BURST, SNN_FORMAT_VERSION_DYNAMICS, SNN_FORMAT_VERSION_FIXED, SNN_FORMAT_VERSION_SIGMA_DELTA, sigmaDeltaProblem } from './snn-ir.ts';
import { validateSettings } from './convert.ts';

export const SNN_MAGIC = 'NEUROSNN';
const PREFIX_BYTES = 16;
const LITTLE_ENDIAN = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

// ------------------------------------------------------------------------------------------
// encoding

class BlobWriter {
  readonly parts: Uint8Array[] = [];
  bytes = 0;
  add(a: Float32Array): number {
    const off = this.bytes;
    let bytes: Uint8Array;
    if (LITTLE_ENDIAN) bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    else {
      bytes = new Uint8Array(a.byteLength);
      const dv = new DataView(bytes.buffer);
      for (let i = 0; i < a.length; i++) dv.setFloat32(4 * i, a[i], true);
    }
    this.parts.push(bytes);
    this.bytes += a.byteLength;
    return off;
  }
}

/** JSON-able form of a value; arrays go to `blob` (or become {$len} when blob is null). */
function encode(v: unknown, blob: BlobWriter | null): Json {
  if (v instanceof Float32Array) return blob ? { $f32: [blob.add(v), v.length] } : { $len: v.length };
  if (ArrayBuffer.isView(v)) throw new Error('snn-file: only Float32Array arrays can be stored');
  if (typeof v === 'number') return Number.isFinite(v) ? v : { $num: String(v) };
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map((x) => encode(x, blob));
  if (typeof v === 'object') {
    const o: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) o[k] = encode(x, blob);
    return o;
  }
  throw new Error(`snn-file: cannot store a ${typeof v}`);
}

/** sha256 of the ANN's canonical encoding (structure JSON + arrays), `source` excluded */
export function annFingerprint(net: Network): string {
  const { source: _source, ...rest } = net;
  const blob = new BlobWriter();
  const json = JSON.stringify(encode(rest, blob));
  const h = createHash('sha256').update(json);
  for (const p of blob.parts) h.update(p);
  return h.digest('hex');
}

export function encodeSnn(snn: SnnNetwork): Buffer {
  // the .snn format has no leak field yet: a LIF network (an imported NIR graph) would lose it
  const leaky = snn.layers.find((l) => l.kind === 'conv' && l.leak);
  if (leaky) fail(`layer ${leaky.index} (${leaky.name})`, 'has a membrane leak (LIF), which the .snn format cannot hold yet');
  const cuba = snn.layers.find((l) => l.kind === 'conv' && l.synapse);
  if (cuba) fail(`layer ${cuba.index} (${cuba.name})`, 'has a synaptic current (CubaLIF), which the .snn format cannot hold yet');
  const version = Math.max(snn.formatVersion, formatVersionFor(snn));
  const blob = new BlobWriter();
  const { ann, annSpec, ...rest } = snn;
  const annJson: Json = annSpec
    ? { storage: 'spec', fingerprint: annFingerprint(ann), network: encode(ann, null) }
    : { storage: 'embedded', network: encode(ann, blob) };
  const body = encode(rest, blob) as { [k: string]: Json };
  const sha = createHash('sha256');
  for (const p of blob.parts) sha.update(p);
  const header: { [k: string]: Json } = {
    blobBytes: blob.bytes,
    blobSha256: sha.digest('hex'),
    ...body,
    // after the body: the network's own formatVersion field must not override the one written
    formatVersion: version,
    ...(annSpec ? { annSpec: encode(annSpec, null) } : {}),
    ann: annJson,
  };
  // the header's own checksum, over its text without this field (appended last, so a reader that
  // drops it and re-serializes gets the same text): a flipped bit in a threshold is caught
  header.headerSha256 = createHash('sha256').update(JSON.stringify(header)).digest('hex');
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(PREFIX_BYTES);
  prefix.write(SNN_MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(version, 8);
  prefix.writeUInt32LE(json.length, 12);
  const pad = Buffer.alloc((8 - ((PREFIX_BYTES + json.length) % 8)) % 8);
  return Buffer.concat([prefix, json, pad, ...blob.parts]);
}

/** Writes the network to `file` (temp file + rename). */
export function saveSnn(file: string, snn: SnnNetwork): void {
  writeFileAtomic(file, encodeSnn(snn));
}

// ------------------------------------------------------------------------------------------
// decoding and validation

/** true when the file starts with the .snn magic (for commands that take --model FILE) */
export function isSnnFile(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const b = Buffer.alloc(8);
    return readSync(fd, b, 0, 8, 0) === 8 && b.toString('latin1') === SNN_MAGIC;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

class Reader {
  constructor(readonly file: string, readonly blob: Buffer) {}

  fail(path: string, what: string): never {
    fail(`${this.file}: ${path}`, what);
  }

  /** reverses encode(); $len placeholders become empty arrays (spec storage) */
  decode(v: unknown, path: string): unknown {
    if (Array.isArray(v)) return v.map((x, i) => this.decode(x, `${path}[${i}]`));
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && keys[0] === '$f32') return this.f32(o.$f32, path);
      if (keys.length === 1 && keys[0] === '$num') {
        if (o.$num === 'Infinity') return Infinity;
        if (o.$num === '-Infinity') return -Infinity;
        this.fail(path, `${JSON.stringify(o.$num)} is not a number`);
      }
      if (keys.length === 1 && keys[0] === '$len') return new Float32Array(0);
      const out: Record<string, unknown> = {};
      for (const k of keys) out[k] = this.decode(o[k], path ? `${path}.${k}` : k);
      return out;
    }
    return v;
  }

  f32(ref: unknown, path: string): Float32Array {
    if (!Array.isArray(ref) || ref.length !== 2 || !ref.every((x) => Number.isSafeInteger(x) && x >= 0)) this.fail(path, 'array reference must be [byteOffset, length]');
    const [off, len] = ref as [number, number];
    if (off % 4 !== 0) this.fail(path, `byte offset ${off} is not a multiple of 4`);
    if (off + 4 * len > this.blob.length) this.fail(path, `bytes ${off}..${off + 4 * len} lie beyond the ${this.blob.length}-byte data block (file truncated?)`);
    const out = new Float32Array(len);
    const src = this.blob.subarray(off, off + 4 * len);
    if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(src);
    else for (let i = 0; i < len; i++) out[i] = src.readFloatLE(4 * i);
    return out;
  }
}

/** field checks; each names the file and the field */
class Check {
  constructor(readonly r: Reader) {}
  obj(v: unknown, path: string): Record<string, unknown> {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.r.fail(path, 'must be an object');
    return v as Record<string, unknown>;
  }
  arr(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.r.fail(path, 'must be an array');
    return v;
  }
  str(v: unknown, path: string): string {
    if (typeof v !== 'string') this.r.fail(path, 'must be a string');
    return v;
  }
  int(v: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.r.fail(path, `${JSON.stringify(v)} must be an integer in ${min}..${max}`);
    return v;
  }
  pos(v: unknown, path: string, allowInf = false): number {
    if (typeof v !== 'number' || !(v > 0) || (!allowInf && !Number.isFinite(v))) this.r.fail(path, `${String(v)} must be a positive number`);
    return v;
  }
  shape(v: unknown, path: string): Shape {
    const o = this.obj(v, path);
    return { c: this.int(o.c, `${path}.c`, 1), h: this.int(o.h, `${path}.h`, 1), w: this.int(o.w, `${path}.w`, 1) };
  }
  f32(v: unknown, path: string, len: number): Float32Array {
    if (!(v instanceof Float32Array)) this.r.fail(path, 'must be a float32 array');
    if (v.length !== len) this.r.fail(path, `has ${v.length} values, expected ${len}`);
    return v;
  }
}

const sameShape = (a: Shape, b: Shape) => a.c === b.c && a.h === b.h && a.w === b.w;
const fmtShape = (s: Shape) => `${s.c}x${s.h}x${s.w}`;

function checkSettings(c: Check, v: unknown, version: number): SnnSettings {
  const s = c.obj(v, 'settings') as unknown as SnnSettings;
  validateSettings(s, `${c.r.file}: settings`);
  for (const k of ['vInit', 'readoutStart'] as const) {
    if ((s[k] ?? 0) > 0 && version < SNN_FORMAT_VERSION_DYNAMICS) c.r.fail(`settings.${k}`, `${s[k]} needs format version ${SNN_FORMAT_VERSION_DYNAMICS}, the file says ${version}`);
  }
  if ((s.burst ?? 1) > 1 && version < SNN_FORMAT_VERSION_BURST) c.r.fail('settings.burst', `${s.burst} needs format version ${SNN_FORMAT_VERSION_BURST}, the file says ${version}`);
  return s;
}

/** structural checks of an ANN stored in (or re-imported for) a file */
function checkAnn(c: Check, v: unknown, arrays: boolean): Network {
  const n = c.obj(v, 'ann.network');
  c.str(n.name, 'ann.network.name');
  c.shape(n.input, 'ann.network.input');
  c.obj(n.preprocess, 'ann.network.preprocess');
  if (typeof n.nmsIou !== 'number') c.r.fail('ann.network.nmsIou', 'must be a number');
  if (typeof n.scoreThreshold !== 'number') c.r.fail('ann.network.scoreThreshold', 'must be a number');
  if (n.classNames !== undefined) c.arr(n.classNames, 'ann.network.classNames').forEach((x, i) => c.str(x, `ann.network.classNames[${i}]`));
  const layers = c.arr(n.layers, 'ann.network.layers');
  if (layers.length === 0) c.r.fail('ann.network.layers', 'is empty');
  layers.forEach((l0, i) => {
    const p = `ann.network.layers[${i}]`;
    const l = c.obj(l0, p);
    if (l.index !== i) c.r.fail(`${p}.index`, `${JSON.stringify(l.index)} must be ${i}`);
    if (!['conv', 'maxpool', 'route', 'upsample', 'region', 'yolo', 'facehead'].includes(l.kind as string)) c.r.fail(`${p}.kind`, `unknown kind ${JSON.stringify(l.kind)}`);
    const inS = c.shape(l.inShape, `${p}.inShape`), outS = c.shape(l.outShape, `${p}.outShape`);
    c.arr(l.inputs, `${p}.inputs`).forEach((x, k) => c.int(x, `${p}.inputs[${k}]`, -1, i - 1));
    if (l.kind === 'conv' && arrays) {
      const groups = c.int(l.groups, `${p}.groups`, 1), size = c.int(l.size, `${p}.size`, 1);
      if (inS.c % groups) c.r.fail(`${p}.groups`, `${groups} does not divide ${inS.c} input channels`);
      c.f32(l.weights, `${p}.weights`, outS.c * (inS.c / groups) * size * size);
      c.f32(l.biases, `${p}.biases`, outS.c);
    }
  });
  return n as unknown as Network;
}

function checkLayers(c: Check, v: unknown, ann: Network, version: number): SnnLayer[] {
  const layers = c.arr(v, 'layers');
  if (layers.length === 0) c.r.fail('layers', 'is empty');
  const out: SnnLayer[] = [];
  layers.forEach((l0, i) => {
    const p = `layers[${i}]`;
    const l = c.obj(l0, p);
    if (l.index !== i) c.r.fail(`${p}.index`, `${JSON.stringify(l.index)} must be ${i}`);
    c.str(l.name, `${p}.name`);
    c.int(l.source, `${p}.source`, 0, ann.layers.length - 1);
    const inputs = c.arr(l.inputs, `${p}.inputs`).map((x, k) => c.int(x, `${p}.inputs[${k}]`, -1, i - 1));
    const inS = c.shape(l.inShape, `${p}.inShape`), outS = c.shape(l.outShape, `${p}.outShape`);
    const lambda = c.f32(l.lambda, `${p}.lambda`, outS.c);
    for (let k = 0; k < lambda.length; k++) if (!(lambda[k] > 0) || !Number.isFinite(lambda[k])) c.r.fail(`${p}.lambda[${k}]`, `${lambda[k]} must be positive`);
    const shapeOf = (j: number) => (j < 0 ? ann.input : out[j].outShape);
    if (l.kind !== 'route') {
      if (inputs.length !== 1) c.r.fail(`${p}.inputs`, `a ${String(l.kind)} layer has one input`);
      if (!sameShape(shapeOf(inputs[0]), inS)) c.r.fail(`${p}.inShape`, `${fmtShape(inS)} but its input gives ${fmtShape(shapeOf(inputs[0]))}`);
    }
    switch (l.kind) {
      case 'conv': {
        const size = c.int(l.size, `${p}.size`, 1, 64), stride = c.int(l.stride, `${p}.stride`, 1, 64);
        const pad = c.int(l.pad, `${p}.pad`, 0, 64), groups = c.int(l.groups, `${p}.groups`, 1);
        if (inS.c % groups || outS.c % groups) c.r.fail(`${p}.groups`, `${groups} does not divide ${inS.c} → ${outS.c} channels`);
        if (convOut(inS.h, size, stride, pad) !== outS.h || convOut(inS.w, size, stride, pad) !== outS.w) c.r.fail(`${p}.outShape`, `${fmtShape(outS)} does not follow from ${fmtShape(inS)}, size ${size}, stride ${stride}, pad ${pad}`);
        for (const [k, a] of [['weights', c.f32(l.weights, `${p}.weights`, outS.c * (inS.c / groups) * size * size)], ['biases', c.f32(l.biases, `${p}.biases`, outS.c)]] as const) {
          // a NaN or an overflowing value would run silently and poison every spike downstream
          for (let j = 0; j < a.length; j++) if (!(Math.abs(a[j]) <= MAX_FINITE_PARAM)) c.r.fail(`${p}.${k}[${j}]`, `${a[j]} is not a finite number of sane size (|x| ≤ ${MAX_FINITE_PARAM})`);
        }
        if (!['if', 'ibt', 'signed', 'integrate'].includes(l.rule as string)) c.r.fail(`${p}.rule`, `unknown rule ${JSON.stringify(l.rule)}`);
        c.pos(l.vthPos, `${p}.vthPos`);
        c.pos(l.vthNeg, `${p}.vthNeg`, true);
        if (l.reset !== 'subtract' && l.reset !== 'zero') c.r.fail(`${p}.reset`, `unknown reset ${JSON.stringify(l.reset)}`);
        const sd = sigmaDeltaProblem(l);
        if (sd) c.r.fail(`${p}.sigmaDelta`, sd);
        if (l.sigmaDelta && version < SNN_FORMAT_VERSION_SIGMA_DELTA) c.r.fail(`${p}.sigmaDelta`, `sigma-delta neurons need format version ${SNN_FORMAT_VERSION_SIGMA_DELTA}, the file says ${version}`);
        for (const k of ['gridStep', 'membraneClamp'] as const) {
          if (l[k] === undefined) continue;
          if (version < SNN_FORMAT_VERSION_FIXED) c.r.fail(`${p}.${k}`, `fixed-point fields need format version ${SNN_FORMAT_VERSION_FIXED}, the file says ${version}`);
          const a = c.f32(l[k], `${p}.${k}`, outS.c);
          for (let j = 0; j < a.length; j++) if (!(a[j] > 0) || (k === 'gridStep' && !Number.isFinite(a[j]))) c.r.fail(`${p}.${k}[${j}]`, `${a[j]} must be a positive number`);
        }
        break;
      }
      case 'maxpool': {
        const size = c.int(l.size, `${p}.size`, 1, 64), stride = c.int(l.stride, `${p}.stride`, 1, 64);
        c.int(l.padBegin, `${p}.padBegin`, 0, size);
        if (l.rule !== undefined && l.rule !== 'gate' && l.rule !== 'max') c.r.fail(`${p}.rule`, `${JSON.stringify(l.rule)} is not one of gate, max`);
        if (l.rule === 'max' && version < SNN_FORMAT_VERSION_DYNAMICS) c.r.fail(`${p}.rule`, `the max-count pool needs format version ${SNN_FORMAT_VERSION_DYNAMICS}, the file says ${version}`);
        if (outS.c !== inS.c || outS.h < 1 || outS.h > inS.h || outS.w > inS.w) c.r.fail(`${p}.outShape`, `${fmtShape(outS)} is not a pooling of ${fmtShape(inS)}`);
        break;
      }
      case 'upsample': {
        const stride = c.int(l.stride, `${p}.stride`, 1, 64);
        if (!sameShape(outS, { c: inS.c, h: inS.h * stride, w: inS.w * stride })) c.r.fail(`${p}.outShape`, `${fmtShape(outS)} is not ${fmtShape(inS)} upsampled ×${stride}`);
        break;
      }
      case 'route': {
        const ls = c.arr(l.layers, `${p}.layers`).map((x, k) => c.int(x, `${p}.layers[${k}]`, 0, i - 1));
        if (ls.length === 0 || ls.join() !== inputs.join()) c.r.fail(`${p}.layers`, 'must list the same layers as inputs');
        let ch = 0;
        for (const j of ls) {
          const s = shapeOf(j);
          if (s.h !== outS.h || s.w !== outS.w) c.r.fail(`${p}.layers`, `layer ${j} is ${fmtShape(s)}, the route is ${fmtShape(outS)}`);
          ch += s.c;
        }
        if (ch !== outS.c) c.r.fail(`${p}.outShape`, `${outS.c} channels but its inputs give ${ch}`);
        break;
      }
      default:
        c.r.fail(`${p}.kind`, `unknown kind ${JSON.stringify(l.kind)}`);
    }
    out.push(l as unknown as SnnLayer);
  });
  return out;
}

function checkReadouts(c: Check, v: unknown, ann: Network, layers: SnnLayer[]): SnnNetwork['readouts'] {
  const rs = c.arr(v, 'readouts');
  if (rs.length === 0) c.r.fail('readouts', 'is empty');
  return rs.map((r0, i) => {
    const p = `readouts[${i}]`;
    const r = c.obj(r0, p);
    const head = c.int(r.head, `${p}.head`, 0, ann.layers.length - 1);
    const layer = c.int(r.layer, `${p}.layer`, 0, layers.length - 1);
    const h = ann.layers[head] as Layer;
    if (!isHead(h)) c.r.fail(`${p}.head`, `ANN layer ${head} (${h.kind}) is not a detection head`);
    const l = layers[layer];
    if (l.kind !== 'conv' || l.rule !== 'integrate') c.r.fail(`${p}.layer`, `SNN layer ${layer} is not an integrating conv`);
    if (!sameShape(l.outShape, h.inShape)) c.r.fail(`${p}.layer`, `SNN layer ${layer} is ${fmtShape(l.outShape)}, head ${head} reads ${fmtShape(h.inShape)}`);
    return { head, layer };
  });
}

/** the largest |weight| or |bias| a .snn file may hold: far above any normalized network, far below float32 overflow */
const MAX_FINITE_PARAM = 1e30;

/** Decodes and validates a .snn file's bytes (`file` names it in errors). */
export function decodeSnn(buf: Buffer, file: string): SnnNetwork {
  if (buf.length < PREFIX_BYTES) fail(file, `${buf.length} bytes is too short for a .snn file (truncated?)`);
  if (buf.subarray(0, 8).toString('latin1') !== SNN_MAGIC) fail(file, 'not a neuroemu .snn file (magic bytes "NEUROSNN" missing)');
  const version = buf.readUInt32LE(8);
  if (version < SNN_FORMAT_VERSION || version > SNN_FORMAT_VERSION_SIGMA_DELTA) fail(`${file}: formatVersion`, `${version} is not supported (this neuroemu reads versions ${SNN_FORMAT_VERSION} to ${SNN_FORMAT_VERSION_SIGMA_DELTA})`);
  const hLen = buf.readUInt32LE(12);
  if (PREFIX_BYTES + hLen > buf.length) fail(`${file}: header`, `${hLen} bytes announced but the file has ${buf.length - PREFIX_BYTES} after the prefix (truncated?)`);
  let header: unknown;
  try {
    const text = buf.subarray(PREFIX_BYTES, PREFIX_BYTES + hLen).toString('utf8');
    checkJsonDepth(text, "header");
    header = JSON.parse(text);
  } catch (e) {
    fail(`${file}: header`, `not valid JSON (${describeThrown(e)})`);
  }
  const blobStart = PREFIX_BYTES + hLen + ((8 - ((PREFIX_BYTES + hLen) % 8)) % 8);
  const r0: Reader = new Reader(file, Buffer.alloc(0));
  const c0 = new Check(r0);
  const h = c0.obj(header, 'header');
  const { headerSha256, ...unsigned } = h;
  if (headerSha256 !== undefined) {
    if (headerSha256 !== createHash('sha256').update(JSON.stringify(unsigned)).digest('hex')) r0.fail('headerSha256', 'the header does not match its checksum (file corrupted)');
  } else if (version >= SNN_FORMAT_VERSION_DYNAMICS) r0.fail('headerSha256', `missing: every file of version ${SNN_FORMAT_VERSION_DYNAMICS} or later carries the header's checksum`);
  if (h.formatVersion !== version) r0.fail('formatVersion', `${JSON.stringify(h.formatVersion)} in the header, ${version} in the prefix`);
  const blobBytes = c0.int(h.blobBytes, 'blobBytes', 0);
  if (buf.length < blobStart + blobBytes) r0.fail('blobBytes', `${blobBytes} bytes of arrays announced, the file holds ${Math.max(0, buf.length - blobStart)} (truncated)`);
  if (buf.length > blobStart + blobBytes) r0.fail('blobBytes', `${buf.length - blobStart - blobBytes} bytes of unexpected data after the arrays`);
  const blob = buf.subarray(blobStart, blobStart + blobBytes);
  const sha = createHash('sha256').update(blob).digest('hex');
  if (h.blobSha256 !== sha) r0.fail('blobSha256', 'the array data does not match its checksum (file corrupted)');

  const r: Reader = new Reader(file, blob);
  const c: Check = new Check(r);
  const settings = checkSettings(c, r.decode(h.settings, 'settings'), version);
  const calib = c.obj(r.decode(h.calibration, 'calibration'), 'calibration');
  const images = c.arr(calib.images, 'calibration.images').map((x, i) => c.str(x, `calibration.images[${i}]`));
  if (calib.statistic !== 'max' && !(typeof calib.statistic === 'number' && calib.statistic > 0 && calib.statistic <= 100)) r.fail('calibration.statistic', `${JSON.stringify(calib.statistic)} must be "max" or a percentile`);
  if (calib.note !== undefined) c.str(calib.note, 'calibration.note');
  if (calib.hashes !== undefined) {
    const hs = c.arr(calib.hashes, 'calibration.hashes');
    if (hs.length !== images.length) r.fail('calibration.hashes', `${hs.length} hashes for ${images.length} images`);
    hs.forEach((x, i) => c.str(x, `calibration.hashes[${i}]`));
  }

  // the source ANN
  const annH = c.obj(h.ann, 'ann');
  let ann: Network;
  let annSpec: SnnNetwork['annSpec'];
  if (annH.storage === 'embedded') {
    ann = checkAnn(c, r.decode(annH.network, 'ann.network'), true);
  } else if (annH.storage === 'spec') {
    const spec = c.obj(r.decode(h.annSpec, 'annSpec'), 'annSpec');
    const model = c.str(spec.model, 'annSpec.model');
    if (spec.weights !== undefined) c.str(spec.weights, 'annSpec.weights');
    if (spec.size !== undefined) c.int(spec.size, 'annSpec.size', 32, 4096);
    if (spec.names !== undefined) c.str(spec.names, 'annSpec.names');
    annSpec = spec as SnnNetwork['annSpec'];
    const stored = checkAnn(c, r.decode(annH.network, 'ann.network'), false);
    try {
      ann = loadModel({ model, weights: annSpec!.weights, size: annSpec!.size, names: annSpec!.names });
    } catch (e) {
      if (e instanceof UserError) r.fail('annSpec', `cannot re-import the source model: ${e.message}`);
      throw e;
    }
    if (ann.layers.length !== stored.layers.length || !sameShape(ann.input, stored.input)) r.fail('annSpec', `re-imported model ${model} has a different structure than at conversion`);
    if (annFingerprint(ann) !== annH.fingerprint) r.fail('ann.fingerprint', `the source model (${model}${annSpec!.weights ? `, weights ${annSpec!.weights}` : ''}) changed since conversion: its weights or structure differ`);
  } else {
    r.fail('ann.storage', `${JSON.stringify(annH.storage)} must be "spec" or "embedded"`);
  }

  const layers = checkLayers(c, r.decode(h.layers, 'layers'), ann, version);
  const readouts = checkReadouts(c, r.decode(h.readouts, 'readouts'), ann, layers);
  const snn: SnnNetwork = {
    formatVersion: version,
    settings,
    calibration: calib as SnnNetwork['calibration'],
    ann,
    layers,
    readouts,
  };
  if (annSpec) snn.annSpec = annSpec;
  return snn;
}

/** Reads and validates a .snn file (see the module comment); a bad file is a UserError. */
export function loadSnn(file: string): SnnNetwork {
  return decodeSnn(readFileChecked(file), file);
}
