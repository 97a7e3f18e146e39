/**
 * Fidelity at the operating point: the spiking detector judged where a detector is used, at its
 * score threshold, against the ANN's own detections at that threshold.
 *
 * - Operating-point sets: the ANN's detections with score > threshold (the reference) and the
 *   SNN's with score > threshold (strict `>`, as face-api and darknet keep boxes). Because NMS only
 *   lets a box be suppressed by a higher-scored one, filtering NMS'd candidates taken at a lower
 *   threshold gives exactly the detections NMS at the operating threshold gives, so one decode at
 *   the candidate threshold serves AP and this metric.
 * - Matching: per image and class, greedy by SNN score descending (stable: file order on ties);
 *   each SNN detection takes the unmatched reference box of largest IoU (first on ties), counted
 *   when IoU >= iou (0.5). IoU without the +1 pixel convention (face-api's and COCO's).
 * - precision = TP / |SNN|, recall = TP / |ANN|, F1 = 2 TP / (|SNN| + |ANN|); an empty side counts
 *   as vacuously perfect (no detections: precision 1; nothing to find: recall 1; both empty: F1 1).
 * - Score bias: for every reference detection, the SNN candidate (any score the decode kept) of the
 *   same class with IoU >= iou and the highest score; bias = logit(SNN score) − logit(ANN score),
 *   scores clamped to [1e-9, 1 − 1e-9]. Reference boxes with no such candidate are counted apart
 *   (`unmatchedForBias`): their bias is below what the candidate threshold can show. `worst` is the
 *   bias of largest magnitude, with its sign.
 * Sums run over all images (micro-average): a photo with many faces weighs more.
 */
import { cocoIou, imageKey } from './map.ts';
import type { Detection, ImageDetections } from './types.ts';

export interface FidelityOptions {
  /** the operating score threshold (strict >) */
  threshold: number;
  /** IoU needed for a match (default 0.5, >=) */
  iou?: number;
  /** measure the score bias (default true; false for ground truth, whose boxes have no score) */
  bias?: boolean;
}

export interface Fidelity {
  threshold: number;
  iou: number;
  /** reference (ANN) detections above the threshold */
  reference: number;
  /** SNN detections above the threshold */
  detections: number;
  /** SNN detections matched to a reference detection */
  matched: number;
  precision: number;
  recall: number;
  f1: number;
  /** logit bias of the reference detections that have an SNN candidate at IoU >= iou */
  bias: { boxes: number; unmatchedForBias: number; mean: number | null; worst: number | null };
}

const EPS = 1e-9;
export const logit = (p: number): number => {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
};

function byClass(dets: readonly Detection[], threshold: number): Map<string, Detection[]> {
  const m = new Map<string, Detection[]>();
  for (const d of dets) {
    if (!(d.score > threshold)) continue;
    let a = m.get(d.className);
    if (!a) m.set(d.className, (a = []));
    a.push(d);
  }
  return m;
}

/** The images with only their detections above the threshold (strict >): a detector's operating point. */
export function atThreshold(images: readonly ImageDetections[], threshold: number): ImageDetections[] {
  return images.map((im) => ({ ...im, detections: im.detections.filter((d) => d.score > threshold) }));
}

/**
 * Images are paired by position when the files agree, else by base name without extension (as AP
 * matches them, map.ts imageKey); an image on one side only counts as empty on the other.
 */
function pairImages(reference: readonly ImageDetections[], snn: readonly ImageDetections[]): Array<[Detection[], Detection[]]> {
  const samePositions = reference.length === snn.length && reference.every((r, i) => r.file === snn[i].file);
  if (samePositions) return reference.map((r, i) => [r.detections, snn[i].detections]);
  const byKey = new Map(snn.map((s) => [imageKey(s.file), s.detections]));
  const pairs: Array<[Detection[], Detection[]]> = reference.map((r) => [r.detections, byKey.get(imageKey(r.file)) ?? []]);
  const refKeys = new Set(reference.map((r) => imageKey(r.file)));
  for (const s of snn) if (!refKeys.has(imageKey(s.file))) pairs.push([[], s.detections]);
  return pairs;
}

export function fidelityAtThreshold(reference: readonly ImageDetections[], snn: readonly ImageDetections[], opts: FidelityOptions): Fidelity {
  const thr = opts.threshold;
  const iouMin = opts.iou ?? 0.5;
  let nRef = 0, nSnn = 0, tp = 0;
  let biasSum = 0, biasBoxes = 0, unmatchedForBias = 0;
  let worst: number | null = null;
  for (const [refDets, snnDets] of pairImages(reference, snn)) {
    const refs = byClass(refDets, thr);
    const outs = byClass(snnDets, thr);
    for (const a of refs.values()) nRef += a.length;
    for (const [cls, a] of outs) {
      nSnn += a.length;
      const truth = refs.get(cls) ?? [];
      const taken = new Uint8Array(truth.length);
      const order = a.map((_, i) => i).sort((i, j) => a[j].score - a[i].score || i - j);
      for (const i of order) {
        let best = -1, bestIou = -1;
        for (let k = 0; k < truth.length; k++) {
          if (taken[k]) continue;
          const v = cocoIou(a[i], truth[k]);
          if (v > bestIou) (bestIou = v), (best = k);
        }
        if (best >= 0 && bestIou >= iouMin) {
          taken[best] = 1;
          tp++;
        }
      }
    }
    // score bias against every SNN candidate the decode kept (below the threshold too)
    for (const r of refDets) {
      if (opts.bias === false || !(r.score > thr)) continue;
      let bestScore = -1;
      for (const s of snnDets) if (s.className === r.className && s.score > bestScore && cocoIou(s, r) >= iouMin) bestScore = s.score;
      if (bestScore < 0) {
        unmatchedForBias++;
        continue;
      }
      const b = logit(bestScore) - logit(r.score);
      biasSum += b;
      biasBoxes++;
      if (worst === null || Math.abs(b) > Math.abs(worst)) worst = b;
    }
  }
  return {
    threshold: thr,
    iou: iouMin,
    reference: nRef,
    detections: nSnn,
    matched: tp,
    precision: nSnn ? tp / nSnn : 1,
    recall: nRef ? tp / nRef : 1,
    f1: nRef + nSnn ? (2 * tp) / (nRef + nSnn) : 1,
    bias: { boxes: biasBoxes, unmatchedForBias, mean: biasBoxes ? biasSum / biasBoxes : null, worst },
  };
}

/** One line: "P 0.950 R 0.913 F1 0.931 (21/23 ANN faces, 22 SNN) · logit bias −0.12 mean, −0.80 worst". */
export function formatFidelity(f: Fidelity): string {
  const b = f.bias.mean === null ? 'logit bias n/a' : `logit bias ${fmtSigned(f.bias.mean)} mean, ${fmtSigned(f.bias.worst!)} worst over ${f.bias.boxes} box${f.bias.boxes === 1 ? '' : 'es'}${f.bias.unmatchedForBias ? ` (${f.bias.unmatchedForBias} with no SNN candidate)` : ''}`;
  return `P ${f.precision.toFixed(3)} R ${f.recall.toFixed(3)} F1 ${f.f1.toFixed(3)} at score > ${f.threshold} (${f.matched} of ${f.reference} ANN detections, ${f.detections} SNN) · ${b}`;
}

const fmtSigned = (x: number): string => (x >= 0 ? '+' : '−') + Math.abs(x).toFixed(2);

/** The JSON shape every command writes for a Fidelity (snake_case, as the other report keys). */
export function fidelityJson(f: Fidelity): Record<string, unknown> {
  return {
    threshold: f.threshold,
    iou: f.iou,
    precision: f.precision,
    recall: f.recall,
    f1: f.f1,
    ann_detections: f.reference,
    snn_detections: f.detections,
    matched: f.matched,
    logit_bias_mean: f.bias.mean,
    logit_bias_worst: f.bias.worst,
    bias_boxes: f.bias.boxes,
    bias_unmatched: f.bias.unmatchedForBias,
  };
}
