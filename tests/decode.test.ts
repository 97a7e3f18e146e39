/**
 * Decoding and NMS against hand computations: hand-built raw head tensors whose logits give round
 * activations (σ(0) = .5, σ(ln 9) = .9, e^(ln 2) = 2, softmax(ln 3, 0) = (.75, .25)), so every
 * expected box and score below is worked out in the comments from darknet's and face-api's
 * formulas, not taken from the code under test.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeHead, detectFromOutputs, letterboxCorrect, yoloDetections, type DecodeContext } from '../src/detect/decode.ts';
import { darknetIou, doNmsSort, faceIou, faceNms, type DarknetDetection } from '../src/detect/nms.ts';
import type { Detection } from '../src/detect/types.ts';
import type { FaceHeadLayer, HeadLayer, Network, RegionLayer, YoloLayer } from '../src/model/ir.ts';

const close = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} ≠ ${expected} (±${tol})`);

function box(d: Detection, x: number, y: number, w: number, h: number, tol = 1e-4) {
  close(d.x, x, tol, 'x');
  close(d.y, y, tol, 'y');
  close(d.w, w, tol, 'w');
  close(d.h, h, tol, 'h');
}

/** A C×H×W tensor of zeros with set(channel, row, col, value). */
function tensor(c: number, h: number, w: number) {
  const data = new Float32Array(c * h * w);
  return { data, set: (ch: number, row: number, col: number, v: number) => void (data[ch * h * w + row * w + col] = v) };
}

function net(head: HeadLayer, format: 'darknet' | 'face-api', classNames?: string[], nmsIou = 0.45, input = 64): Network {
  return {
    name: 'tiny',
    source: 'test',
    format,
    input: { c: 3, h: input, w: input },
    preprocess: format === 'darknet' ? { kind: 'darknet-letterbox' } : { kind: 'face-api', meanRgb: [0, 0, 0] },
    layers: [head],
    classNames,
    nmsIou,
    scoreThreshold: 0.5,
    bnFolded: true,
  };
}

// ---------------------------------------------------------------------------------------------
// YOLOv2 region head: 2×2 grid, one anchor (1, 1) in grid cells, 2 classes, 7 channels.
const regionHead: RegionLayer = {
  kind: 'region', index: 1, name: 'region', inputs: [0],
  inShape: { c: 7, h: 2, w: 2 }, outShape: { c: 7, h: 2, w: 2 },
  anchors: [1, 1], classes: 2, coords: 4, num: 1,
};

test('region: logistic x/y/obj, softmax classes, letterbox on a tall image (else branch)', () => {
  const t = tensor(7, 2, 2);
  // cell row 1, col 0: tx = ty = 0 → σ = .5; tw = ln 2 → e^tw = 2; th = 0; obj ln 9 → .9; classes (ln 3, 0) → (.75, .25)
  t.set(2, 1, 0, Math.log(2));
  t.set(4, 1, 0, Math.log(9));
  t.set(5, 1, 0, Math.log(3));
  // every other cell: obj logit 0 → σ = .5, not > .5: no detection (darknet's strict >)
  const ctx: DecodeContext = { netW: 64, netH: 64, imageW: 64, imageH: 128 };
  const dets = decodeHead(regionHead, t.data, ctx, 0.5, ['cat', 'dog']);
  // grid box: x = (0 + .5)/2 = .25, y = (1 + .5)/2 = .75, w = 2·1/2 = 1, h = 1·1/2 = .5
  // 64/64 = 1 is not < 64/128 = .5 → new_h = 64, new_w = 64·64/128 = 32:
  //   x' = (.25 − (64−32)/2/64)/(32/64) = 0, w' = 1·64/32 = 2, y' = .75, h' = .5
  // pixels: x = (0 − 1)·64 = −64, y = (.75 − .25)·128 = 64, w = 2·64 = 128, h = .5·128 = 64
  // prob: .9·.75 = .675 kept; .9·.25 = .225 dropped
  assert.is(dets.length, 1);
  box(dets[0], -64, 64, 128, 64);
  close(dets[0].score, 0.675, 1e-6, 'score');
  assert.is(dets[0].classId, 0);
  assert.is(dets[0].className, 'cat');
});

test('region: the second class wins when its softmax share times objectness passes', () => {
  const t = tensor(7, 2, 2);
  t.set(4, 0, 1, Math.log(9)); // obj .9
  t.set(6, 0, 1, Math.log(3)); // classes (0, ln 3) → (.25, .75)
  const dets = decodeHead(regionHead, t.data, { netW: 64, netH: 64, imageW: 64, imageH: 64 }, 0.5);
  assert.is(dets.length, 1);
  assert.is(dets[0].classId, 1);
  assert.is(dets[0].className, '1'); // no names: the id as a string
  // square image: no letterbox. x = (1 + .5)/2 = .75, y = .25, w = h = 1/2; pixels x = (.75 − .25)·64 = 32, y = 0, w = h = 32
  box(dets[0], 32, 0, 32, 32);
});

// ---------------------------------------------------------------------------------------------
// YOLOv3 yolo head: 2×2 grid, mask [1] of anchors (10,20) (32,16) in input pixels, one class.
const yoloHead: YoloLayer = {
  kind: 'yolo', index: 1, name: 'yolo', inputs: [0],
  inShape: { c: 6, h: 2, w: 2 }, outShape: { c: 6, h: 2, w: 2 },
  anchors: [10, 20, 32, 16], mask: [1], classes: 1,
};

function yoloTensor() {
  const t = tensor(6, 2, 2);
  const logit = (p: number) => Math.log(p / (1 - p));
  // (row 0, col 0): obj .6, class .9 → prob .54 > .5 kept
  t.set(4, 0, 0, logit(0.6));
  t.set(5, 0, 0, Math.log(9));
  // (row 0, col 1): obj .6, class .5 → prob .3: a detection for NMS, but nothing drawn
  t.set(4, 0, 1, logit(0.6));
  // (row 1, col 0): obj .45 <= .5 → no detection at all, whatever the class says
  t.set(4, 1, 0, logit(0.45));
  t.set(5, 1, 0, 20);
  // (row 1, col 1): th = ln 2, obj .9, class .9 → prob .81
  t.set(3, 1, 1, Math.log(2));
  t.set(4, 1, 1, Math.log(9));
  t.set(5, 1, 1, Math.log(9));
  // every other cell has obj logit 0 → σ = .5, not > .5
  return t.data;
}

test('yolo: threshold on objectness first, then on obj·σ(class); integer letterbox on a wide image', () => {
  const ctx: DecodeContext = { netW: 64, netH: 64, imageW: 100, imageH: 30 };
  // yolo_num_detections: cells (0,0), (0,1), (1,1) have obj > .5, in cell order
  assert.is(yoloDetections(yoloHead, yoloTensor(), ctx, 0.5).length, 3);
  const dets = decodeHead(yoloHead, yoloTensor(), ctx, 0.5, ['thing']);
  assert.is(dets.length, 2);
  // letterbox: 64/100 = .64 < 64/30 → new_w = 64, new_h = (30·64)/100 = 1920/100 = 19 (integer division, not 19.2)
  //   y' = (y − (64−19)/2/64)/(19/64) = (y − .3515625)/.296875, h' = h·64/19; x and w unchanged
  // (0,0): x = .25, y = .25, w = 32/64 = .5 (tw = 0, anchor 32), h = 16/64 = .25
  //   y' = (.25 − .3515625)/.296875 = −6.5/19, h' = 16/19
  //   pixels: x = (.25 − .25)·100 = 0, w = 50, y = (−6.5/19 − 8/19)·30 = −14.5·30/19, h = 16·30/19
  box(dets[0], 0, (-14.5 * 30) / 19, 50, (16 * 30) / 19);
  close(dets[0].score, 0.54, 1e-6, 'score (0,0)');
  // (1,1): x = y = (1 + .5)/2 = .75, w = .5, h = 2·16/64 = .5
  //   y' = (.75 − .3515625)/.296875 = 25.5/19, h' = 32/19
  //   pixels: x = (.75 − .25)·100 = 50, w = 50, y = (25.5/19 − 16/19)·30 = 15, h = 32·30/19
  box(dets[1], 50, 15, 50, (32 * 30) / 19);
  close(dets[1].score, 0.81, 1e-6, 'score (1,1)');
  assert.is(dets[1].className, 'thing');
});

test('yolo: detectFromOutputs runs do_nms_sort (sorted by prob) and uses net.scoreThreshold', () => {
  const outputs: (Float32Array | undefined)[] = [yoloTensor()];
  const dets = detectFromOutputs(net(yoloHead, 'darknet', ['thing']), outputs, 100, 30);
  // the two drawn boxes do not overlap (x 0..50 and 50..100): both kept, highest prob first
  assert.equal(
    dets.map((d) => Math.round(d.score * 100)),
    [81, 54],
  );
  // a higher threshold drops the .54 box (prob is compared with thresh again when drawing)
  assert.is(detectFromOutputs(net(yoloHead, 'darknet'), outputs, 100, 30, 0.6).length, 1);
});

test('letterboxCorrect: darknet correct_region_boxes with relative = 1', () => {
  // 640×480 into 416×416: 416/640 = .65 < 416/480 → new_w = 416, new_h = 480·416/640 = 312
  const b = [{ x: 0.5, y: 0.5, w: 0.25, h: 0.75 }];
  letterboxCorrect(b, 640, 480, 416, 416);
  // y' = (.5 − 52/416)/(312/416) = .5 (centre stays), h' = .75·416/312 = 1
  close(b[0].x, 0.5, 1e-7, 'x');
  close(b[0].y, 0.5, 1e-7, 'y');
  close(b[0].w, 0.25, 1e-7, 'w');
  close(b[0].h, 1, 1e-7, 'h');
});

// ---------------------------------------------------------------------------------------------
// face-api head: 2×2 grid, the five TinyFaceDetector anchors, channel = anchor·5 + k.
const FACE_ANCHORS = [1.603231, 2.094468, 6.041143, 7.080126, 2.882459, 3.518061, 4.266906, 5.178857, 9.041765, 10.66308];
const faceHead: FaceHeadLayer = {
  kind: 'facehead', index: 1, name: 'face', inputs: [0],
  inShape: { c: 25, h: 2, w: 2 }, outShape: { c: 25, h: 2, w: 2 },
  anchors: FACE_ANCHORS,
};

function faceTensor() {
  const t = tensor(25, 2, 2);
  // anchor 0 at row 0, col 1: tx = ty = tw = th = 0, objectness ln 3 → score .75
  t.set(0 * 5 + 4, 0, 1, Math.log(3));
  // anchor 4 at row 1, col 1: tx = ln 3 → σ = .75, ty = −ln 3 → .25, tw = ln .5, th = 0, objectness ln 4 → .8
  t.set(4 * 5 + 0, 1, 1, Math.log(3));
  t.set(4 * 5 + 1, 1, 1, -Math.log(3));
  t.set(4 * 5 + 2, 1, 1, Math.log(0.5));
  t.set(4 * 5 + 4, 1, 1, Math.log(4));
  // everything else: objectness 0 → σ = .5, not > .5
  return t.data;
}

test('face: extractBoxes with the bottom-padding correction, boxes in original pixels', () => {
  // 200×100 at inputSize 64: scale .32 → reshaped 64×32; cfx = 64/64 = 1, cfy = 64/32 = 2
  const dets = decodeHead(faceHead, faceTensor(), { netW: 64, netH: 64, imageW: 200, imageH: 100 }, 0.5);
  assert.is(dets.length, 2); // loop order row, col, anchor
  // anchor 0: ctX = (1 + .5)/2·1 = .75, ctY = (0 + .5)/2·2 = .5, w = 1.603231/2 = .8016155, h = 2.094468/2·2 = 2.094468
  //   x = .75 − .40080775 = .34919225, y = .5 − 1.047234 = −.547234 → ×(200, 100)
  box(dets[0], 69.83845, -54.7234, 160.3231, 209.4468, 1e-5);
  close(dets[0].score, 0.75, 1e-7, 'score');
  // anchor 4: ctX = (1 + .75)/2 = .875, ctY = (1 + .25)/2·2 = 1.25, w = .5·9.041765/2 = 2.26044125, h = 10.66308
  //   x = .875 − 1.130220625 = −.255220625, y = 1.25 − 5.33154 = −4.08154 → ×(200, 100)
  box(dets[1], -51.044125, -408.154, 452.08825, 1066.308, 1e-4);
  close(dets[1].score, 0.8, 1e-7, 'score');
  assert.is(dets[1].className, 'face');
  assert.is(dets[1].classId, 0);
});

test('face: detectFromOutputs applies NMS 0.4 and returns pick order (highest score first)', () => {
  // the anchor-4 box contains the anchor-0 box: IoU = (.8016·2.0945)/(2.2604·10.663) ≈ .07 < .4, both kept
  const dets = detectFromOutputs(net(faceHead, 'face-api', undefined, 0.4), [faceTensor()], 200, 100);
  assert.is(dets.length, 2);
  close(dets[0].score, 0.8, 1e-7, 'first pick');
  close(dets[1].score, 0.75, 1e-7, 'second pick');
});

// ---------------------------------------------------------------------------------------------
// NMS ordering

test('faceNms: equal scores → the later index is picked first; IoU exactly 0.4 is kept', () => {
  const boxes = [
    { x: 0, y: 0, width: 10, height: 10 },
    { x: 100, y: 100, width: 10, height: 10 },
    { x: 1, y: 0, width: 10, height: 10 },
  ];
  // IoU(0, 2) = 90/110 ≈ .82 > .4. Ascending stable sort: (.8,1) (.9,0) (.9,2); pop → 2 first; 0 suppressed
  assert.equal(faceNms(boxes, [0.9, 0.8, 0.9], 0.4), [2, 1]);
  // 10×10 inside 10×25: IoU = 100/250 = .4, not > .4 → kept
  const b2 = [
    { x: 0, y: 0, width: 10, height: 10 },
    { x: 0, y: 0, width: 10, height: 25 },
  ];
  assert.is(faceIou(b2[0], b2[1]), 0.4);
  assert.equal(faceNms(b2, [0.9, 0.5], 0.4), [0, 1]);
});

const det = (x: number, obj: number, ...prob: number[]): DarknetDetection => ({
  bbox: { x, y: 0.5, w: 0.2, h: 0.2 },
  objectness: obj,
  prob: Float32Array.from(prob),
});

test('darknet box_iou: centre/size boxes, float', () => {
  // (.5,.5,1,1) and (1,.5,1,1): overlap .5 × 1, union 1.5 → 1/3
  close(darknetIou({ x: 0.5, y: 0.5, w: 1, h: 1 }, { x: 1, y: 0.5, w: 1, h: 1 }), 1 / 3, 1e-7, 'iou');
  assert.is(darknetIou({ x: 0, y: 0, w: 1, h: 1 }, { x: 5, y: 0, w: 1, h: 1 }), 0);
});

test('do_nms_sort: ties keep their order (glibc merge sort), the first suppresses the second', () => {
  const out = doNmsSort([det(0.5, 0.9, 0.7), det(0.5, 0.9, 0.7)], 1, 0.45);
  assert.is(out[0].prob[0], Math.fround(0.7));
  assert.is(out[1].prob[0], 0);
});

test('do_nms_sort: each class sorts from the order the previous class left', () => {
  // A (.6, .7), B (.9, .7), same box. Class 0 sorts to [B, A] and zeroes A's class 0;
  // class 1 ties at .7 and starts from [B, A], so B suppresses A (from the input order A would win)
  const a = det(0.5, 0.9, 0.6, 0.7);
  const b = det(0.5, 0.9, 0.9, 0.7);
  const out = doNmsSort([a, b], 2, 0.45);
  assert.equal(Array.from(out[0].prob), [Math.fround(0.9), Math.fround(0.7)]);
  assert.equal(Array.from(out[1].prob), [0, 0]);
  assert.equal(Array.from(a.prob), [Math.fround(0.6), Math.fround(0.7)], 'input not modified');
});

test('do_nms_sort: objectness-0 detections are swapped to the end, reordering the rest', () => {
  // [Z(obj 0), A, B, C], all one box, A/B/C tie at .7. The swap loop puts C where Z was: [C, A, B | Z];
  // the stable sort keeps C first, so C survives and A, B are suppressed
  const z = det(0.5, 0, 0);
  const c = { ...det(0.5, 0.9, 0.7), bbox: { x: 0.5, y: 0.5, w: 0.2, h: 0.21 } }; // C marked by its height
  const out = doNmsSort([z, det(0.5, 0.9, 0.7), det(0.5, 0.9, 0.7), c], 1, 0.45);
  assert.is(out[0].bbox.h, 0.21);
  assert.equal(
    out.map((d) => d.prob[0]),
    [Math.fround(0.7), 0, 0, 0],
  );
  assert.is(out[3].objectness, 0);
  // boxes separated: nothing suppressed, order by prob (.8 before .7 before .6), zero-objectness last
  const sep = doNmsSort([det(0.1, 0.9, 0.6), z, det(0.5, 0.9, 0.8), det(0.9, 0.9, 0.7)], 1, 0.45);
  assert.equal(
    sep.map((d) => d.bbox.x),
    [0.5, 0.9, 0.1, 0.5],
  );
});

test.run();
