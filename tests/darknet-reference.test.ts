/**
 * neuroemu's darknet path against darknet itself (Debian's libdarknet, pjreddie 2018, through
 * tests/harness/darknet_ref.c): cfg + weights import, BN kept and folded, every layer of the forward
 * pass, the region/yolo head activations, the per-layer BFLOPs darknet prints, and letterbox/resize
 * on decoded pixels. Skips, with the reason printed, when libdarknet or gcc is missing.
 *
 * Weights are seeded synthetic ones (src/model/synthetic.ts) written to a temporary .weights file
 * that both sides read. The input is dog.jpg letterboxed by our own preprocessing (itself checked
 * bit-for-bit against darknet below).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { forwardReference } from '../src/ann/reference.ts';
import { loadImage, type RgbImage } from '../src/image/decode.ts';
import { darknetLetterbox, darknetResize, letterboxGeometry, toDarknetImage } from '../src/image/preprocess.ts';
import type { Layer, Network, RegionLayer, YoloLayer } from '../src/model/ir.ts';
import { loadModel, resolveCfgPath } from '../src/model/load.ts';
import { networkStats } from '../src/model/stats.ts';
import { syntheticDarknetWeights } from '../src/model/synthetic.ts';
import { mulberry32 } from '../src/util/rng.ts';
import {
  DARKNET_SHARE_DIR, darknetAvailable, darknetForward, darknetImageOps, darknetLayerBflops, darknetSkipReason,
  maxAbs, maxAbsDiff, type DarknetForwardResult,
} from './helpers/darknet-ref.ts';

const TOL = 1e-4;
const SEED = 7;
const AVAILABLE = darknetAvailable();
if (!AVAILABLE) console.log(`SKIP darknet-reference: ${darknetSkipReason()}`);
/** a test that needs darknet; prints its wall time so slow comparisons are visible */
const dtest = (name: string, fn: () => void | Promise<void>) => {
  if (!AVAILABLE) return test.skip(name, fn);
  test(name, async () => {
    const t0 = performance.now();
    await fn();
    console.log(`  [${((performance.now() - t0) / 1000).toFixed(2)} s] ${name}`);
  });
};

const DOG = join(DARKNET_SHARE_DIR, 'data', 'dog.jpg');
const tmp = mkdtempSync(join(tmpdir(), 'neuroemu-dkref-test-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

// ---- the WASM engine, when src/ann/engine.ts exists (written separately) ----------------------
type ForwardFn = (net: Network, input: Float32Array) => Promise<Float32Array[]>;
interface EngineModule {
  createAnnEngine(net: Network, kind: 'wasm' | 'reference'): unknown;
}
const ENGINE_PATH = fileURLToPath(new URL('../src/ann/engine.ts', import.meta.url));

let wasmCache: Promise<{ forward?: ForwardFn; why: string }> | undefined;

/**
 * The WASM engine's forward when src/ann/engine.ts exists and can build an engine; otherwise
 * undefined and the reason (printed by the callers). Imported dynamically so this file still runs
 * its other checks while the engine is absent or broken.
 */
function wasmForward(): Promise<{ forward?: ForwardFn; why: string }> {
  wasmCache ??= (async () => {
    if (!existsSync(ENGINE_PATH)) return { why: 'src/ann/engine.ts does not exist' };
    const spec: string = ENGINE_PATH;
    const mod = (await import(spec)) as EngineModule;
    if (typeof mod.createAnnEngine !== 'function') return { why: 'src/ann/engine.ts exports no createAnnEngine' };
    try {
      // a one-layer probe: fails here (not mid-test) when the WASM module is not built
      await mod.createAnnEngine(loadModel({ model: 'yolov2-tiny-voc', size: 32, weights: 'synthetic:1' }), 'wasm');
    } catch (e) {
      return { why: `createAnnEngine(net, 'wasm') failed: ${(e as Error).message}` };
    }
    return {
      why: '',
      forward: async (net, input) => {
        const engine = (await mod.createAnnEngine(net, 'wasm')) as { forward(x: Float32Array): Float32Array[] | Promise<Float32Array[]> };
        return await engine.forward(input);
      },
    };
  })();
  return wasmCache;
}

// ---- darknet head activations (region_layer.c / yolo_layer.c, CPU path) ------------------------
const logistic = (x: number) => 1 / (1 + Math.exp(-x));

/** forward_region_layer: logistic on x, y and objectness; softmax over the classes of each anchor. */
function regionActivate(l: RegionLayer, x: Float32Array): Float32Array {
  const { h, w } = l.inShape;
  const hw = h * w, per = l.coords + 1 + l.classes;
  const out = Float32Array.from(x);
  for (let n = 0; n < l.num; n++) {
    const base = n * per * hw;
    for (let i = 0; i < 2 * hw; i++) out[base + i] = logistic(x[base + i]);
    for (let i = 0; i < hw; i++) out[base + l.coords * hw + i] = logistic(x[base + l.coords * hw + i]);
    for (let p = 0; p < hw; p++) {
      const at = (c: number) => base + (l.coords + 1 + c) * hw + p;
      let largest = -Infinity;
      for (let c = 0; c < l.classes; c++) largest = Math.max(largest, x[at(c)]);
      let sum = 0;
      for (let c = 0; c < l.classes; c++) sum += Math.exp(x[at(c)] - largest);
      for (let c = 0; c < l.classes; c++) out[at(c)] = Math.exp(x[at(c)] - largest) / sum;
    }
  }
  return out;
}

/** forward_yolo_layer: logistic on x, y, objectness and every class score; w, h stay raw. */
function yoloActivate(l: YoloLayer, x: Float32Array): Float32Array {
  const { h, w } = l.inShape;
  const hw = h * w, per = 5 + l.classes;
  const out = Float32Array.from(x);
  for (let n = 0; n < l.mask.length; n++) {
    const base = n * per * hw;
    for (let i = 0; i < 2 * hw; i++) out[base + i] = logistic(x[base + i]);
    for (let i = 4 * hw; i < per * hw; i++) out[base + i] = logistic(x[base + i]);
  }
  return out;
}

const DARKNET_TYPE: Record<Layer['kind'], string> = {
  conv: 'convolutional', maxpool: 'maxpool', route: 'route', upsample: 'upsample', region: 'region', yolo: 'yolo', facehead: '-',
};

interface Comparison {
  /** max |ours - darknet| over conv layers */
  conv: number;
  /** the last conv layer (the detector's raw output) */
  finalConv: number;
  /** max over every non-head layer (conv, maxpool, route, upsample) */
  all: number;
  /** max over the head layers, ours activated as darknet does */
  heads: number;
  /** largest |value| in any conv output (the scale the differences are measured against) */
  scale: number;
  perLayer: string[];
}

function compare(net: Network, ours: Float32Array[], dk: DarknetForwardResult): Comparison {
  assert.is(dk.layers.length, net.layers.length, 'darknet and neuroemu have the same number of layers');
  const r: Comparison = { conv: 0, finalConv: 0, all: 0, heads: 0, scale: 0, perLayer: [] };
  for (const l of net.layers) {
    const d = dk.layers[l.index];
    assert.is(d.type, DARKNET_TYPE[l.kind], `layer ${l.index} type`);
    assert.equal([d.c, d.h, d.w], [l.outShape.c, l.outShape.h, l.outShape.w], `layer ${l.index} (${l.kind}) output shape`);
    let mine = ours[l.index];
    if (l.kind === 'region') mine = regionActivate(l, mine);
    if (l.kind === 'yolo') mine = yoloActivate(l, mine);
    const diff = maxAbsDiff(mine, d.data);
    r.perLayer.push(`${l.index}:${l.kind}=${diff.toExponential(2)}`);
    if (l.kind === 'region' || l.kind === 'yolo') r.heads = Math.max(r.heads, diff);
    else r.all = Math.max(r.all, diff);
    if (l.kind === 'conv') {
      r.conv = Math.max(r.conv, diff);
      r.finalConv = diff;
      r.scale = Math.max(r.scale, maxAbs(d.data));
    }
  }
  return r;
}

function report(label: string, c: Comparison, extra = ''): void {
  console.log(
    `${label}: max|Δ| final conv ${c.finalConv.toExponential(2)}, all conv ${c.conv.toExponential(2)}, ` +
    `all non-head layers ${c.all.toExponential(2)}, heads ${c.heads.toExponential(2)} (conv outputs up to ${c.scale.toFixed(2)})${extra}`,
  );
}

function assertWithin(label: string, c: Comparison): void {
  if (!(c.all <= TOL && c.heads <= TOL)) {
    assert.unreachable(`${label}: max |ours - darknet| = ${Math.max(c.all, c.heads)} > ${TOL}\n  ${c.perLayer.join(' ')}`);
  }
}

// ---- shared fixtures ------------------------------------------------------------------------------
let dogCache: RgbImage | undefined;
const dog = () => (dogCache ??= loadImage(DOG));

/** A seeded synthetic weights file for `model` at `size`, written once. */
function weightsFile(model: string, size: number): string {
  const file = join(tmp, `${model}-${size}-seed${SEED}.weights`);
  if (!existsSync(file)) {
    const shape = loadModel({ model, size, weightsOptional: true, keepBatchNorm: true });
    writeFileSync(file, syntheticDarknetWeights(shape, SEED));
  }
  return file;
}

const darknetRuns = new Map<string, DarknetForwardResult>();
function darknetRun(model: string, size: number, input: Float32Array): DarknetForwardResult {
  const key = `${model}@${size}`;
  let r = darknetRuns.get(key);
  if (!r) {
    r = darknetForward({ cfg: resolveCfgPath(model)!, weights: weightsFile(model, size), input, size });
    darknetRuns.set(key, r);
  }
  return r;
}

function dogInput(size: number): Float32Array {
  return darknetLetterbox(toDarknetImage(dog()), size, size);
}

// ---- tests ----------------------------------------------------------------------------------------

dtest('weights: a synthetic weights file read back equals the synthetic:SEED loader', () => {
  const fromFile = loadModel({ model: 'yolov3-tiny', size: 128, weights: weightsFile('yolov3-tiny', 128), keepBatchNorm: true });
  const direct = loadModel({ model: 'yolov3-tiny', size: 128, weights: `synthetic:${SEED}`, keepBatchNorm: true });
  for (let i = 0; i < fromFile.layers.length; i++) {
    const a = fromFile.layers[i], b = direct.layers[i];
    if (a.kind !== 'conv' || b.kind !== 'conv') continue;
    assert.ok(a.weights.every((v, k) => v === b.weights[k]) && a.biases.every((v, k) => v === b.biases[k]), `layer ${i}`);
    assert.is(!!a.bn, !!b.bn, `layer ${i} has batch norm on both paths or neither`);
    if (a.bn && b.bn) {
      const same = (x: Float32Array, y: Float32Array) => x.every((v, k) => v === y[k]);
      assert.ok(same(a.bn.scales, b.bn.scales) && same(a.bn.mean, b.bn.mean) && same(a.bn.variance, b.bn.variance), `layer ${i} bn`);
    }
  }
});

for (const model of ['yolov2-tiny-voc', 'yolov3-tiny']) {
  for (const engine of ['reference', 'wasm'] as const) {
    for (const keepBatchNorm of [true, false]) {
      const label = `${model} @128, ${engine === 'wasm' ? 'WASM engine' : 'reference'}, BN ${keepBatchNorm ? 'kept separate' : 'folded'}`;
      dtest(`${label}: every layer matches darknet within ${TOL}`, async () => {
        let forward: ForwardFn = async (net, input) => forwardReference(net, input);
        if (engine === 'wasm') {
          const w = await wasmForward();
          if (!w.forward) {
            console.log(`${label}: not checked (${w.why})`);
            return;
          }
          forward = w.forward;
        }
        const input = dogInput(128);
        const dk = darknetRun(model, 128, input);
        const net = loadModel({ model, size: 128, weights: weightsFile(model, 128), keepBatchNorm });
        assert.is(net.bnFolded, !keepBatchNorm);
        assert.is(net.layers.some((l) => l.kind === 'conv' && l.bn !== undefined), keepBatchNorm);
        const t0 = performance.now();
        const ours = await forward(net, input);
        const seconds = (performance.now() - t0) / 1000;
        const c = compare(net, ours, dk);
        report(label, c, `; darknet ${dk.seconds.toFixed(2)} s, ours ${seconds.toFixed(2)} s`);
        assertWithin(label, c);
        if (model === 'yolov3-tiny') {
          // the graph features this model adds over yolov2-tiny: two heads, route, upsample
          assert.equal(net.layers.filter((l) => l.kind === 'yolo').length, 2);
          assert.ok(net.layers.some((l) => l.kind === 'upsample') && net.layers.some((l) => l.kind === 'route' && l.layers.length === 2));
        }
      });
    }
  }
}

dtest(`yolov2-tiny-voc @416 (BN folded): every layer matches darknet within ${TOL}; darknet's BFLOPs equal ours`, async () => {
  const input = dogInput(416);
  const dk = darknetRun('yolov2-tiny-voc', 416, input);
  const net = loadModel({ model: 'yolov2-tiny-voc', size: 416, weights: weightsFile('yolov2-tiny-voc', 416) });
  const { forward, why } = await wasmForward();
  const engine = forward ? 'WASM engine' : `reference (${why})`;
  const t0 = performance.now();
  const ours = forward ? await forward(net, input) : forwardReference(net, input);
  const seconds = (performance.now() - t0) / 1000;
  const c = compare(net, ours, dk);
  report(`yolov2-tiny-voc @416, ${engine}, BN folded`, c, `; darknet ${dk.seconds.toFixed(2)} s, ours ${seconds.toFixed(2)} s`);
  assertWithin('@416', c);

  // darknet's load-time table prints 2·MACs per conv layer as "x.xxx BFLOPs"
  const printed = darknetLayerBflops(dk.log);
  const stats = networkStats(net);
  const convs = stats.layers.filter((l) => l.kind === 'conv');
  assert.is(printed.size, convs.length, 'one BFLOPs figure per conv layer in darknet\'s log');
  for (const l of convs) {
    const ours3 = (2 * l.macs) / 1e9;
    assert.ok(Math.abs(ours3 - printed.get(l.index)!) <= 0.0005 + 1e-9, `layer ${l.index}: ours ${ours3.toFixed(4)} vs darknet ${printed.get(l.index)}`);
  }
  const sum = [...printed.values()].reduce((a, b) => a + b, 0);
  console.log(`yolov2-tiny-voc @416 BFLOPs: darknet's per-layer figures sum to ${sum.toFixed(3)}, ours ${(stats.flops / 1e9).toFixed(3)}`);
});

// ---- preprocessing, bit for bit -------------------------------------------------------------------

function randomImage(w: number, h: number, seed: number): RgbImage {
  const rand = mulberry32(seed);
  return { width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, () => Math.floor(rand() * 256)) };
}

const IMAGE_CASES: Array<{ name: string; img: () => RgbImage; letterbox: [number, number]; resize: [number, number] }> = [
  { name: 'dog.jpg 768x576 → 416x416', img: dog, letterbox: [416, 416], resize: [416, 416] },
  { name: 'dog.jpg → 128x128, resize 333x97', img: dog, letterbox: [128, 128], resize: [333, 97] },
  { name: 'dog.jpg → 320x192 (height-limited), resize up to 1000x800', img: dog, letterbox: [320, 192], resize: [1000, 800] },
  { name: 'synthetic 37x23 → 64x64 (upscale), resize 13x29', img: () => randomImage(37, 23, 11), letterbox: [64, 64], resize: [13, 29] },
  { name: 'synthetic 23x37 (tall) → 416x416, resize 41x7', img: () => randomImage(23, 37, 12), letterbox: [416, 416], resize: [41, 7] },
  { name: 'synthetic 5x3 → 101x77, resize 2x2', img: () => randomImage(5, 3, 13), letterbox: [101, 77], resize: [2, 2] },
  { name: 'synthetic 1x1 → 32x32, resize 5x5', img: () => randomImage(1, 1, 14), letterbox: [32, 32], resize: [5, 5] },
];

for (const cse of IMAGE_CASES) {
  dtest(`preprocess ${cse.name}: toDarknetImage, darknetLetterbox, darknetResize equal darknet's`, () => {
    const img = cse.img();
    const [lw, lh] = cse.letterbox, [rw, rh] = cse.resize;
    const dk = darknetImageOps(img, { w: lw, h: lh }, { w: rw, h: rh });
    const im = toDarknetImage(img);
    const dImage = maxAbsDiff(im.data, dk.image);
    const dLetterbox = maxAbsDiff(darknetLetterbox(im, lw, lh), dk.letterbox);
    const dResize = maxAbsDiff(darknetResize(im, rw, rh).data, dk.resize);
    const g = letterboxGeometry(img.width, img.height, lw, lh);
    console.log(`preprocess ${cse.name}: max|Δ| image ${dImage}, letterbox ${dLetterbox} (placed ${g.newW}x${g.newH} at ${g.dx},${g.dy}), resize ${dResize}`);
    assert.is(dImage, 0, 'px/255 image');
    assert.is(dLetterbox, 0, 'letterbox_image');
    assert.is(dResize, 0, 'resize_image');
  });
}

test.run();
