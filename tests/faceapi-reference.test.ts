/**
 * Independent truth for the face detector: our pipeline (src/image decode + preprocess,
 * src/model/faceapi.ts weights/IR, src/ann/reference.ts forward pass, src/detect/decode.ts) against
 * the real @vladmandic/face-api 1.7.15 TinyFaceDetector running on tfjs 4.22.0's pure-JS 'cpu'
 * backend (approach (a): face-api's own code — NetInput.toBatchTensor, forwardInput/runMobilenet,
 * extractBoxes, nonMaxSuppression, loadFromDisk — see tests/helpers/faceapi-ref.ts).
 *
 * Both sides start from the same decoded RGB bytes (src/image/decode.ts loadImage, jpeg-js), which
 * face-api gets as tf.tensor3d(rgb, [H,W,3], 'int32'), its documented node input.
 *
 * Per sample photo (face-api's demo/sample1..6.jpg) and input size 416, 320, 224:
 *   1. our preprocessed input = face-api's normalized batch tensor (NHWC→CHW), max abs ≤ 1e-5
 *   2. our conv8 output (the layer feeding the facehead) = face-api's [1,g,g,25], max abs ≤ 2e-4 (the issue asks 2e-3; we measure ~5e-5, and a 1% change of one conv3 weight moves conv8 by 7.4e-4, which 2e-3 would miss)
 *   3. detections (score > 0.5, NMS 0.4): same count and order, boxes ≤ 0.5 px, scores ≤ 1e-4
 * Measured maxima are printed. If src/ann/engine.ts exists, its WASM forward is held to the
 * same conv8 bound.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FACE_API_DIR, nhwcToChw, runFaceApi, type FaceApiResult } from './helpers/faceapi-ref.ts';
import { loadImage, type RgbImage } from '../src/image/decode.ts';
import { preprocess } from '../src/image/preprocess.ts';
import { loadModel } from '../src/model/load.ts';
import type { Network } from '../src/model/ir.ts';
import { forwardReference } from '../src/ann/reference.ts';
import type { Detection } from '../src/detect/types.ts';

const SIZES = [416, 320, 224] as const;
const SAMPLES = [1, 2, 3, 4, 5, 6].map((i) => join(FACE_API_DIR, 'demo', `sample${i}.jpg`)).filter((f) => existsSync(f));
const TOL = { input: 1e-5, conv8: 2e-4, box: 0.5, score: 1e-4 };
const SRC = join(fileURLToPath(import.meta.url), '..', '..', 'src');

type DetectFn = (net: Network, outputs: (Float32Array | undefined)[], imageW: number, imageH: number, threshold?: number) => Detection[];
let detectFromOutputs: DetectFn | undefined;
if (existsSync(join(SRC, 'detect', 'decode.ts'))) ({ detectFromOutputs } = (await import('../src/detect/decode.ts')) as { detectFromOutputs: DetectFn });

interface Case {
  name: string;
  img: RgbImage;
  net: Network;
  conv8Index: number;
  /** our input and, of all layer outputs, only conv8's (the rest dropped to keep memory down) */
  ours: { input: Float32Array; outputs: (Float32Array | undefined)[] };
  theirs: FaceApiResult;
}

const images = new Map<string, RgbImage>();
const image = (file: string): RgbImage => {
  let img = images.get(file);
  if (!img) images.set(file, (img = loadImage(file)));
  return img;
};
const nets = new Map<number, Network>();

const cases = new Map<number, Promise<Case[]>>();
function casesFor(size: number): Promise<Case[]> {
  let p = cases.get(size);
  if (!p) {
    p = (async () => {
      let net = nets.get(size);
      if (!net) nets.set(size, (net = loadModel({ model: 'face', size })));
      const conv8Index = net.layers.findIndex((l) => l.name === 'conv8');
      assert.ok(conv8Index > 0, 'conv8 layer');
      const out: Case[] = [];
      for (const file of SAMPLES) {
        const img = image(file);
        const input = preprocess(net, img);
        const outputs: (Float32Array | undefined)[] = forwardReference(net, input).map((o, i) => (i === conv8Index ? o : undefined));
        const theirs = await runFaceApi(img.data, img.width, img.height, size, 0.5);
        out.push({ name: file.split('/').pop()!, img, net, conv8Index, ours: { input, outputs }, theirs });
      }
      return out;
    })();
    cases.set(size, p);
  }
  return p;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): { max: number; at: number } {
  assert.is(a.length, b.length, 'lengths');
  let max = 0, at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= max)) {
      max = d;
      at = i;
    }
  }
  return { max, at };
}

const fmt = (x: number) => x.toExponential(2);

test('face-api reference: the samples are there', () => {
  assert.ok(SAMPLES.length >= 3, `face-api demo photos under ${FACE_API_DIR}/demo`);
});

for (const size of SIZES) {
  test(`face-api ${size}: preprocessed input equals face-api's normalized batch tensor (≤ ${TOL.input})`, async () => {
    let worst = 0;
    const per: string[] = [];
    for (const c of await casesFor(size)) {
      const theirs = nhwcToChw(c.theirs.input, size, size, 3);
      const { max, at } = maxAbsDiff(c.ours.input, theirs);
      per.push(`${c.name} ${fmt(max)}`);
      worst = Math.max(worst, max);
      const plane = size * size;
      assert.ok(max <= TOL.input, `${c.name} @${size}: input differs by ${max} at c=${Math.floor(at / plane)} y=${Math.floor((at % plane) / size)} x=${at % size} (ours ${c.ours.input[at]}, face-api ${theirs[at]})`);
    }
    console.log(`  [${size}] input max |Δ| = ${fmt(worst)}   (${per.join(', ')})`);
  });

  test(`face-api ${size}: conv8 output agrees with face-api (≤ ${TOL.conv8})`, async () => {
    let worst = 0, worstRel = 0;
    const per: string[] = [];
    for (const c of await casesFor(size)) {
      const g = c.theirs.grid;
      const ours = c.ours.outputs[c.conv8Index]!;
      const shape = c.net.layers[c.conv8Index].outShape;
      assert.equal([shape.c, shape.h, shape.w], [25, g, g], `${c.name} @${size}: conv8 shape`);
      const theirs = nhwcToChw(c.theirs.conv8, g, g, 25);
      const { max, at } = maxAbsDiff(ours, theirs);
      let peak = 0;
      for (const v of theirs) peak = Math.max(peak, Math.abs(v));
      per.push(`${c.name} ${fmt(max)}`);
      worst = Math.max(worst, max);
      worstRel = Math.max(worstRel, max / peak);
      assert.ok(max <= TOL.conv8, `${c.name} @${size}: conv8 differs by ${max} at ch=${Math.floor(at / (g * g))} y=${Math.floor((at % (g * g)) / g)} x=${at % g} (ours ${ours[at]}, face-api ${theirs[at]})`);
    }
    console.log(`  [${size}] conv8 max |Δ| = ${fmt(worst)} (relative to the largest |value| ${fmt(worstRel)})   (${per.join(', ')})`);
  });

  test(`face-api ${size}: detections agree with face-api's locateFaces (count, boxes ≤ ${TOL.box} px, scores ≤ ${TOL.score})`, async () => {
    if (!detectFromOutputs) throw new Error('src/detect/decode.ts (detectFromOutputs) is missing');
    let worstBox = 0, worstScore = 0, total = 0;
    const per: string[] = [];
    for (const c of await casesFor(size)) {
      const ours = detectFromOutputs(c.net, c.ours.outputs, c.img.width, c.img.height, 0.5);
      const theirs = c.theirs.detections;
      const show = (d: { x: number; y: number; w: number; h: number; score: number }) => `(${d.x.toFixed(1)},${d.y.toFixed(1)} ${d.w.toFixed(1)}×${d.h.toFixed(1)} ${d.score.toFixed(4)})`;
      assert.is(ours.length, theirs.length, `${c.name} @${size}: ${ours.length} detections, face-api ${theirs.length}: ours ${ours.map(show).join(' ')} | face-api ${theirs.map(show).join(' ')}`);
      per.push(`${c.name} ${theirs.length}`);
      total += theirs.length;
      theirs.forEach((t, i) => {
        const o = ours[i];
        const dBox = Math.max(Math.abs(o.x - t.x), Math.abs(o.y - t.y), Math.abs(o.w - t.w), Math.abs(o.h - t.h));
        const dScore = Math.abs(o.score - t.score);
        worstBox = Math.max(worstBox, dBox);
        worstScore = Math.max(worstScore, dScore);
        assert.ok(dBox <= TOL.box, `${c.name} @${size} detection ${i}: box off by ${dBox} px: ours ${show(o)}, face-api ${show(t)}`);
        assert.ok(dScore <= TOL.score, `${c.name} @${size} detection ${i}: score off by ${dScore}: ours ${o.score}, face-api ${t.score}`);
        assert.is(o.classId, 0);
        assert.is(o.className, 'face');
      });
    }
    console.log(`  [${size}] detections: ${total} (${per.join(', ')}); box max |Δ| = ${fmt(worstBox)} px, score max |Δ| = ${fmt(worstScore)}`);
  });
}

// The WASM engine, if it is there, against the same face-api outputs.
const ENGINE = join(SRC, 'ann', 'engine.ts');
if (existsSync(ENGINE)) {
  test('face-api: the WASM engine conv8 output agrees with face-api (≤ 2e-4)', async () => {
    type Engine = { forward(input: Float32Array): Float32Array[] | Promise<Float32Array[]>; dispose?(): void };
    const mod = (await import(ENGINE)) as { createAnnEngine: (net: Network, kind: 'wasm' | 'reference') => Engine | Promise<Engine> };
    for (const size of SIZES) {
      let worst = 0;
      const engine = await mod.createAnnEngine(nets.get(size) ?? loadModel({ model: 'face', size }), 'wasm');
      try {
        for (const c of await casesFor(size)) {
          const outs = await engine.forward(c.ours.input);
          const g = c.theirs.grid;
          const { max } = maxAbsDiff(outs[c.conv8Index], nhwcToChw(c.theirs.conv8, g, g, 25));
          worst = Math.max(worst, max);
          assert.ok(max <= TOL.conv8, `${c.name} @${size}: wasm conv8 differs from face-api by ${max}`);
        }
      } finally {
        engine.dispose?.();
      }
      console.log(`  [${size}] wasm engine conv8 max |Δ| vs face-api = ${fmt(worst)}`);
    }
  });
}

test.run();
