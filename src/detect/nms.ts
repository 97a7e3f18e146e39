/**
 * Non-maximum suppression exactly as each source framework does it.
 *
 * - darknet (pjreddie/darknet src/box.c do_nms_sort, nms_comparator, box_iou): boxes are
 *   centre/size in float32, every arithmetic step rounded to float32 (Math.fround) as the C code
 *   does on x86-64; per class, sorted by probability with glibc qsort (a stable merge sort for
 *   this element size), suppression zeroes that class's probability.
 * - face-api (@vladmandic/face-api src/ops/nonMaxSuppression.ts, src/ops/iou.ts): float64,
 *   ascending stable sort and pop from the end, so on equal scores the later index is picked first.
 */

const f = Math.fround;

/** darknet `box`: centre x, y and width, height (relative units after correct_*_boxes). */
export interface DarknetBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** darknet `detection`: one box with its objectness and one probability per class (float). */
export interface DarknetDetection {
  bbox: DarknetBox;
  objectness: number;
  prob: Float32Array;
}

/** box.c overlap(): extent of the overlap of two 1-D segments (negative when disjoint). */
function overlap(x1: number, w1: number, x2: number, w2: number): number {
  const l1 = f(x1 - f(w1 / 2));
  const l2 = f(x2 - f(w2 / 2));
  const left = l1 > l2 ? l1 : l2;
  const r1 = f(x1 + f(w1 / 2));
  const r2 = f(x2 + f(w2 / 2));
  const right = r1 < r2 ? r1 : r2;
  return f(right - left);
}

/** box.c box_iou(): intersection over union in float32, no +1 pixel convention. */
export function darknetIou(a: DarknetBox, b: DarknetBox): number {
  const w = overlap(a.x, a.w, b.x, b.w);
  const h = overlap(a.y, a.h, b.y, b.h);
  const inter = w < 0 || h < 0 ? 0 : f(w * h);
  const union = f(f(f(a.w * a.h) + f(b.w * b.h)) - inter);
  return f(inter / union);
}

/**
 * box.c do_nms_sort(dets, total, classes, thresh), on copies (the input is not modified).
 *
 * 1. Detections with objectness 0 are swapped to the end (this reorders the others exactly as
 *    the C loop does) and take no further part.
 * 2. For each class k in turn, the remaining detections are sorted by prob[k] descending, starting
 *    from the order the previous class's sort left; each detection with prob[k] != 0 zeroes
 *    prob[k] of every later one whose IoU with it is > thresh.
 *
 * nms_comparator returns 0 on equal probabilities and glibc's qsort is a merge sort for
 * 48-byte elements (msort.c, indirect), so ties keep their order: Array.prototype.sort is stable too.
 * The returned array is in darknet's final order (what draw_detections iterates).
 */
export function doNmsSort(dets: readonly DarknetDetection[], classes: number, thresh: number): DarknetDetection[] {
  const out = dets.map((d) => ({ bbox: { ...d.bbox }, objectness: d.objectness, prob: Float32Array.from(d.prob) }));
  const th = f(thresh);
  let k = out.length - 1;
  for (let i = 0; i <= k; ++i) {
    if (out[i].objectness === 0) {
      const swap = out[i];
      out[i] = out[k];
      out[k] = swap;
      --k;
      --i;
    }
  }
  const total = k + 1;
  const live = out.slice(0, total);
  for (let c = 0; c < classes; ++c) {
    live.sort((a, b) => {
      const diff = f(a.prob[c] - b.prob[c]);
      return diff < 0 ? 1 : diff > 0 ? -1 : 0;
    });
    for (let i = 0; i < total; ++i) {
      if (live[i].prob[c] === 0) continue;
      const a = live[i].bbox;
      for (let j = i + 1; j < total; ++j) {
        if (darknetIou(a, live[j].bbox) > th) live[j].prob[c] = 0;
      }
    }
  }
  return live.concat(out.slice(total));
}

/** face-api Box as it holds it: top-left x, y and width, height (float64). */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** face-api ops/iou.ts (isIOU = true): right = x + width, area = width · height, no +1. */
export function faceIou(a: FaceBox, b: FaceBox): number {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/**
 * face-api ops/nonMaxSuppression.ts: indices sorted by score ascending (stable), pop the last,
 * keep the rest whose IoU with the pick is <= iouThreshold; returns the picked indices in pick
 * order. On equal scores the later index is picked first.
 */
export function faceNms(boxes: readonly FaceBox[], scores: readonly number[], iouThreshold: number): number[] {
  let order = scores
    .map((score, boxIndex) => ({ score, boxIndex }))
    .sort((c1, c2) => c1.score - c2.score)
    .map((c) => c.boxIndex);
  const pick: number[] = [];
  while (order.length > 0) {
    const curr = order.pop() as number;
    pick.push(curr);
    order = order.filter((idx) => faceIou(boxes[curr], boxes[idx]) <= iouThreshold);
  }
  return pick;
}
