/**
 * mAP against hand computations (every expected value is derived in the comments from the
 * precision/recall sequence, as voc_eval.py and pycocotools define AP).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { apAgainst, cocoIou, evaluate, imageKey, vocAp, vocIou, type TruthBox, type TruthImage } from '../src/detect/map.ts';
import type { ImageDetections } from '../src/detect/types.ts';

const close = (actual: number | null, expected: number, what = 'value', tol = 1e-9) =>
  assert.ok(actual !== null && Math.abs(actual - expected) <= tol, `${what}: ${actual} ≠ ${expected}`);

type Box = [number, number, number, number];
const tb = (className: string, [x, y, w, h]: Box, extra: Partial<TruthBox> = {}): TruthBox => ({ x, y, w, h, className, ...extra });
const img = (file: string, ...boxes: TruthBox[]): TruthImage => ({ file, boxes });
const dets = (file: string, ...ds: [string, number, Box][]): ImageDetections => ({
  file,
  width: 1000,
  height: 1000,
  detections: ds.map(([className, score, [x, y, w, h]]) => ({ x, y, w, h, score, className, classId: 0 })),
});

const A: Box = [0, 0, 10, 10];
const B: Box = [50, 50, 10, 10];
const FAR: Box = [500, 500, 10, 10];

test('IoU conventions: VOC +1 pixel, COCO none, COCO crowd over detection area', () => {
  // VOC: x1..x2 inclusive → 10×10 = 100 and 10×5 = 50, intersection 50 → .5
  assert.is(vocIou({ x: 0, y: 0, w: 9, h: 9 }, { x: 0, y: 0, w: 9, h: 4 }), 0.5);
  // COCO: 9×9 = 81 and 9×4 = 36 → 36/81
  assert.is(cocoIou({ x: 0, y: 0, w: 9, h: 9 }, { x: 0, y: 0, w: 9, h: 4 }), 36 / 81);
  // crowd: intersection / detection area: a 10×10 detection inside a 100×100 crowd region → 1
  assert.is(cocoIou({ x: 10, y: 10, w: 10, h: 10 }, { x: 0, y: 0, w: 100, h: 100 }, true), 1);
  assert.is(imageKey('/data/VOC/JPEGImages/000001.jpg'), '000001');
  assert.is(imageKey('C:\\x\\a.b.png'), 'a.b');
});

test('vocAp: 11-point and all-point give different known values', () => {
  // TP, FP, TP over 2 truths: rec (.5, .5, 1), prec (1, .5, 2/3)
  const rec = [0.5, 0.5, 1];
  const prec = [1, 0.5, 2 / 3];
  // all-point: envelope (1, 2/3, 2/3) → .5·1 + .5·2/3 = 5/6
  close(vocAp(rec, prec, false), 5 / 6);
  // 11-point: t = 0 … .5 (6 points) → 1; t = .6 … 1 (5 points) → 2/3 → (6 + 10/3)/11 = 28/33
  close(vocAp(rec, prec, true), 28 / 33);
});

test('VOC: TP, FP, TP on one image → voc 5/6, voc07 28/33; COCO 101-point (51 + 50·2/3)/101', () => {
  const truth = [img('a.jpg', tb('cat', A), tb('cat', B))];
  const cand = [dets('a.png', ['cat', 0.9, A], ['cat', 0.8, FAR], ['cat', 0.7, B])];
  close(evaluate(truth, cand, { metric: 'voc' }).map, 5 / 6, 'voc');
  close(evaluate(truth, cand, { metric: 'voc07' }).map, 28 / 33, 'voc07');
  // COCO: IoU 1 for the TPs, so every threshold gives rc (.5, .5, 1), pr (1, .5, 2/3) → envelope (1, 2/3, 2/3);
  // recall points 0 … .50 (51) → 1, .51 … 1 (50) → 2/3 (pr carries + eps in its denominator)
  close(evaluate(truth, cand, { metric: 'coco' }).map, (51 + (50 * 2) / (3 + 2.220446049250313e-16)) / 101, 'coco', 1e-12);
});

test('VOC: a duplicate detection of one truth is a false positive', () => {
  const truth = [img('a', tb('cat', A), tb('cat', B))];
  // the .8 detection repeats A: TP, FP, TP → 5/6 as above (a second TP would give 1)
  const cand = [dets('a', ['cat', 0.9, A], ['cat', 0.8, A], ['cat', 0.7, B])];
  close(evaluate(truth, cand, { metric: 'voc' }).map, 5 / 6);
});

test('VOC: difficult truth is neither TP nor FP and not counted in recall', () => {
  const D: Box = [200, 200, 10, 10];
  const truth = [img('a', tb('cat', A), tb('cat', D, { difficult: true }))];
  // .9 FP, .8 on the difficult box (ignored), .7 TP: tp (0, 0, 1), fp (1, 1, 1), npos 1
  //   rec (0, 0, 1), prec (0, 0, .5) → envelope .5 → AP .5
  //   (difficult as FP: prec ends 1/3 → 1/3; as ordinary truth: 2/3)
  const cand = [dets('a', ['cat', 0.9, FAR], ['cat', 0.8, D], ['cat', 0.7, A])];
  const r = evaluate(truth, cand, { metric: 'voc' });
  close(r.map, 0.5);
  assert.equal([r.perClass[0].truth, r.perClass[0].ignored, r.perClass[0].detections], [1, 1, 3]);
  // COCO: difficult → ignored, the detection on it is dtIg: tps (0,0,1), fps (1,0,0) → rc (0,0,1), pr (0,0,.5) → .5
  close(evaluate(truth, cand, { metric: 'coco' }).map, 1 / (2 + 2.220446049250313e-16), 'coco', 1e-12);
});

test('ties in score keep the detections-file order (VOC) and the image order (COCO)', () => {
  // image x has no cat, image y has one; both detections score .8
  const truth = [img('x'), img('y', tb('cat', A))];
  const onX = dets('x', ['cat', 0.8, A]);
  const onY = dets('y', ['cat', 0.8, A]);
  // FP first: rec (0, 1), prec (0, .5) → .5; TP first: rec (1, 1), prec (1, .5) → 1
  close(evaluate(truth, [onX, onY], { metric: 'voc' }).map, 0.5, 'voc FP first');
  close(evaluate(truth, [onY, onX], { metric: 'voc' }).map, 1, 'voc TP first');
  // pycocotools concatenates per image in image-id order, then a stable sort: truth order decides
  close(evaluate(truth, [onY, onX], { metric: 'coco' }).map, 0.5, 'coco x first', 1e-12);
  close(evaluate([truth[1], truth[0]], [onX, onY], { metric: 'coco' }).map, 1 / (1 + 2.220446049250313e-16), 'coco y first', 1e-12);
});

test('an image without detections lowers recall; a class without truth is excluded from the mean', () => {
  const truth = [img('a', tb('cat', A), tb('cat', B)), img('z', tb('cat', A))];
  const cand = [dets('a', ['cat', 0.9, A], ['cat', 0.8, FAR], ['cat', 0.7, B], ['dog', 0.95, A]), dets('q', ['cat', 0.99, A])];
  // npos 3: rec (1/3, 1/3, 2/3), prec (1, .5, 2/3)
  //   all-point: 1/3·1 + 1/3·2/3 = 5/9; 11-point: t ≤ 1/3 (0, .1, .2, .30000000000000004) → 1,
  //   .4 … .6000000000000001 → 2/3 (3 points), the rest 0 → (4 + 2)/11
  const voc = evaluate(truth, cand, { metric: 'voc' });
  close(voc.map, 5 / 9);
  close(evaluate(truth, cand, { metric: 'voc07' }).map, 6 / 11);
  const dog = voc.perClass.find((c) => c.className === 'dog');
  assert.equal(dog, { className: 'dog', ap: null, truth: 0, ignored: 0, detections: 1 });
  assert.equal(voc.unmatchedImages, ['q'], 'image q has no truth: skipped');
  assert.equal([voc.images, voc.detections, voc.truthBoxes], [2, 4, 3]);
});

test('COCO: crowd truth, partial IoU across thresholds, classes without truth', () => {
  const CROWD: Box = [0, 50, 100, 50];
  const truth = [
    img('1', tb('a', [0, 0, 10, 10]), tb('a', [20, 0, 10, 10]), tb('a', CROWD, { crowd: true })),
    img('2', tb('b', [0, 0, 10, 10])),
  ];
  const cand = [
    // .95 lies inside the crowd region: IoU over its own area = 1 → matched to ignored truth, neither TP nor FP
    dets('1', ['a', 0.95, [10, 60, 10, 10]], ['a', 0.9, [0, 0, 10, 10]], ['a', 0.8, [50, 0, 10, 10]], ['a', 0.7, [20, 0, 10, 10]], ['c', 0.5, [0, 0, 5, 5]]),
    // IoU 72/100 = .72: TP at t = .50 … .70 (5 thresholds), FP at .75 … .95
    dets('2', ['b', 0.9, [0, 0, 10, 7.2]]),
  ];
  const r = evaluate(truth, cand, { metric: 'coco' });
  const eps = 2.220446049250313e-16;
  // a: tp (0,1,1,2), fp (0,0,1,1) → rc (0,.5,.5,1), pr (0,1,.5,2/3) → envelope (1,1,2/3,2/3) → (51 + 50·2/3)/101
  const apA = (51 + (50 * 2) / (3 + eps)) / 101;
  // b: 1 at 5 thresholds (every recall point), 0 at the other 5 → .5
  const apB = (5 * (1 / (1 + eps))) / 10;
  close(r.perClass.find((c) => c.className === 'a')?.ap ?? null, apA, 'a', 1e-12);
  close(r.perClass.find((c) => c.className === 'b')?.ap ?? null, apB, 'b', 1e-12);
  assert.is(r.perClass.find((c) => c.className === 'c')?.ap, null);
  close(r.map, (apA + apB) / 2, 'mean', 1e-12);
  assert.is(r.iou, null);
  assert.is(r.ignoredTruth, 1);
});

test('COCO: at most maxDets detections per image and class', () => {
  const truth = [img('1', tb('a', A), tb('a', B))];
  const cand = [dets('1', ['a', 0.9, A], ['a', 0.8, B])];
  // maxDets 1 keeps only the .9 TP: rc (.5), pr (1) → 51 of 101 recall points at 1
  close(evaluate(truth, cand, { metric: 'coco', maxDets: 1 }).map, 51 / 101 / (1 + 2.220446049250313e-16), 'maxDets 1', 1e-12);
  close(evaluate(truth, cand, { metric: 'coco' }).map, 1 / (1 + 2.220446049250313e-16), 'maxDets 100', 1e-12);
});

test('VOC: IoU must exceed the threshold (strict >), as voc_eval.py', () => {
  const truth = [img('1', tb('a', [0, 0, 9, 9]))];
  // VOC IoU exactly .5 → not a match → FP, AP 0
  const cand = [dets('1', ['a', 0.9, [0, 0, 9, 4]])];
  close(evaluate(truth, cand, { metric: 'voc' }).map, 0);
  close(evaluate(truth, cand, { metric: 'voc', iou: 0.49 }).map, 1);
});

test('apAgainst: reference detections as truth, images matched by base name', () => {
  const ref = [dets('run1/a.jpg', ['cat', 0.6, A], ['cat', 0.55, B]), dets('run1/b.jpg', ['dog', 0.9, A])];
  assert.is(apAgainst(ref, ref).map, 1);
  // candidate: cat A, a miss, cat B; dog A
  const cand = [dets('snn/a.png', ['cat', 0.9, A], ['cat', 0.8, FAR], ['cat', 0.7, B]), dets('snn/b.png', ['dog', 0.3, A])];
  const r = apAgainst(ref, cand, 0.5, 'voc');
  // cat: TP, FP, TP over 2 → 5/6; dog 1 → mean 11/12
  close(r.map, 11 / 12);
  assert.equal(
    r.perClass.map((c) => c.className),
    ['cat', 'dog'],
  );
});

test.run();
