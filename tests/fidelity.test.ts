/**
 * Operating-point fidelity (src/detect/fidelity.ts) against hand computations: every expected
 * count, ratio and logit below is worked out in the comments.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fidelityAtThreshold, logit } from '../src/detect/fidelity.ts';
import type { ImageDetections } from '../src/detect/types.ts';

type Box = [number, number, number, number];
const dets = (file: string, ...ds: [number, Box, string?][]): ImageDetections => ({
  file,
  width: 1000,
  height: 1000,
  detections: ds.map(([score, [x, y, w, h], className]) => ({ x, y, w, h, score, className: className ?? 'face', classId: 0 })),
});
const close = (a: number | null, b: number, what: string, tol = 1e-12) => assert.ok(a !== null && Math.abs(a - b) <= tol, `${what}: ${a} ≠ ${b}`);

const A: Box = [0, 0, 10, 10];
const A_SHIFT: Box = [2, 0, 10, 10]; // IoU with A: 8·10 / (200 − 80) = 80/120 = 0.667
const A_HALF: Box = [5, 0, 10, 10]; // IoU with A: 50 / 150 = 0.333 (no match)
const B: Box = [100, 100, 20, 20];

test('identical detections: P = R = F1 = 1, zero bias', () => {
  const ann = [dets('x.jpg', [0.9, A], [0.7, B])];
  const f = fidelityAtThreshold(ann, ann, { threshold: 0.5 });
  assert.equal([f.reference, f.detections, f.matched, f.precision, f.recall, f.f1], [2, 2, 2, 1, 1, 1]);
  assert.equal([f.bias.boxes, f.bias.mean, f.bias.worst, f.bias.unmatchedForBias], [2, 0, 0, 0]);
});

test('one miss, one false positive, one low candidate: hand counts and logits', () => {
  // ANN at > 0.5: A (0.9), B (0.8), and a 0.4 box that is below the threshold and never counts.
  const ann = [dets('x.jpg', [0.9, A], [0.8, B], [0.4, [300, 300, 10, 10]])];
  // SNN: A_SHIFT at 0.6 (matches A, IoU 0.667), B only at 0.2 (a candidate, not a detection),
  // and a false positive far away at 0.7.
  const snn = [dets('x.jpg', [0.6, A_SHIFT], [0.2, B], [0.7, [600, 600, 10, 10]])];
  const f = fidelityAtThreshold(ann, snn, { threshold: 0.5 });
  // |ANN| = 2, |SNN| = 2 (0.6, 0.7), TP = 1 → P = R = 1/2, F1 = 2·1/(2+2) = 0.5
  assert.equal([f.reference, f.detections, f.matched], [2, 2, 1]);
  close(f.precision, 0.5, 'precision');
  close(f.recall, 0.5, 'recall');
  close(f.f1, 0.5, 'f1');
  // bias: A ← 0.6: ln(0.6/0.4) − ln(0.9/0.1) = 0.405465 − 2.197225 = −1.791759
  //       B ← 0.2: ln(0.2/0.8) − ln(0.8/0.2) = −1.386294 − 1.386294 = −2.772589
  const bA = Math.log(1.5) - Math.log(9), bB = Math.log(0.25) - Math.log(4);
  close(bA, -1.791759469228055, 'bA', 1e-12);
  assert.is(f.bias.boxes, 2);
  close(f.bias.mean, (bA + bB) / 2, 'mean bias');
  close(f.bias.worst, bB, 'worst bias');
  assert.is(f.bias.unmatchedForBias, 0);
});

test('IoU below 0.5 is no match; a box with no candidate is counted apart from the bias', () => {
  const ann = [dets('x.jpg', [0.9, A], [0.8, B])];
  const snn = [dets('x.jpg', [0.95, A_HALF])];
  const f = fidelityAtThreshold(ann, snn, { threshold: 0.5 });
  // TP 0 of |ANN| 2, |SNN| 1: P 0, R 0, F1 0; neither ANN box has a candidate at IoU >= .5
  assert.equal([f.matched, f.precision, f.recall, f.f1], [0, 0, 0, 0]);
  assert.equal([f.bias.boxes, f.bias.mean, f.bias.worst, f.bias.unmatchedForBias], [0, null, null, 2]);
});

test('greedy by SNN score: the higher-scored duplicate takes the box, the other is a false positive', () => {
  const ann = [dets('x.jpg', [0.9, A])];
  // two SNN boxes on A: A itself at 0.6 and A_SHIFT at 0.8 → 0.8 matches first, 0.6 is an FP
  const snn = [dets('x.jpg', [0.6, A], [0.8, A_SHIFT])];
  const f = fidelityAtThreshold(ann, snn, { threshold: 0.5 });
  assert.equal([f.matched, f.detections], [1, 2]);
  close(f.precision, 0.5, 'precision');
  close(f.recall, 1, 'recall');
  close(f.f1, 2 / 3, 'f1');
  // the bias takes the best-scored candidate on the box: 0.8 → ln 4 − ln 9
  close(f.bias.mean, Math.log(4) - Math.log(9), 'bias');
});

test('classes never match across; threshold is strict; images pair by file; micro-average', () => {
  const ann = [dets('a.jpg', [0.9, A, 'dog']), dets('b.jpg', [0.5, B], [0.75, A])];
  // a.jpg: the SNN box is a cat on the dog box → FP + miss. b.jpg: 0.5 is not > 0.5 (excluded on
  // both sides); A at 0.75 matched exactly. Order of images differs: paired by file.
  const snn = [dets('b.jpg', [0.75, A], [0.5, B]), dets('a.jpg', [0.9, A, 'cat'])];
  const f = fidelityAtThreshold(ann, snn, { threshold: 0.5 });
  // |ANN| = 2 (dog, A), |SNN| = 2 (cat, A), TP = 1 → P = R = F1 = 0.5
  assert.equal([f.reference, f.detections, f.matched], [2, 2, 1]);
  close(f.f1, 0.5, 'f1');
  assert.equal([f.bias.boxes, f.bias.unmatchedForBias, f.bias.mean], [1, 1, 0]);
});

test('empty sides are vacuously perfect: no ANN detections and none from the SNN → F1 1', () => {
  const ann = [dets('x.jpg', [0.3, A])];
  const snn = [dets('x.jpg', [0.2, A])];
  const f = fidelityAtThreshold(ann, snn, { threshold: 0.5 });
  assert.equal([f.reference, f.detections, f.precision, f.recall, f.f1], [0, 0, 1, 1, 1]);
  const g = fidelityAtThreshold(ann, snn, { threshold: 0.25 }); // ANN has A, SNN has none above .25
  assert.equal([g.reference, g.detections, g.precision, g.recall, g.f1], [1, 0, 1, 0, 0]);
  close(g.bias.mean, logit(0.2) - logit(0.3), 'bias below the threshold still measured');
});

test('logit clamps probabilities of 0 and 1 instead of giving infinities', () => {
  assert.ok(Number.isFinite(logit(1)) && Number.isFinite(logit(0)));
  close(logit(0.5), 0, 'logit(.5)');
});

test.run();
