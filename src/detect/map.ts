/**
 * Average precision, implemented as each reference does it.
 *
 * - 'voc07': PASCAL VOC2007 11-point interpolation; 'voc': VOC2010+ area under the monotone
 *   precision envelope. Both follow py-faster-rcnn lib/datasets/voc_eval.py (voc_eval, voc_ap),
 *   the Python port of the VOC devkit that darknet's reval_voc.py uses:
 *   - per class, all detections over all images sorted by score descending; numpy's default
 *     argsort is not stable, so the order of equal scores is not defined there: we keep the
 *     detections-file order (image order, then order in the image) — a stable sort;
 *   - a detection matches the ground truth box of its image with the largest IoU (first on
 *     ties, np.argmax), counted when IoU > threshold (strict, as voc_eval.py; the MATLAB devkit
 *     uses >=); that box difficult → neither TP nor FP; already taken → FP (duplicate);
 *   - IoU with the devkit's +1 pixel convention: width = xmax − xmin + 1 (inclusive pixel
 *     indices); boxes here are x1 = x, x2 = x + w, which is how darknet's voc_label.py stores VOC
 *     boxes (x1 = xmin − 1, x2 = xmax − 1) and how its `valid` output gives them back (+1);
 *   - the 11 recall points are np.arange(0., 1.1, 0.1), i.e. i·0.1 (0.30000000000000004 …).
 * - 'coco': AP@[.5:.95] as pycocotools COCOeval (evaluateImg, accumulate, summarize) with
 *   areaRng 'all' and maxDets 100: per image and category, detections sorted by score (stable
 *   merge sort), at most 100 kept; ground truth ignored (crowd, or here VOC difficult) sorted last;
 *   greedy matching at each of the 10 IoU thresholds (np.linspace(.5, .95, 10)) with IoU >= t,
 *   crowd boxes matchable many times with IoU = intersection / detection area; detections matched
 *   to ignored truth are neither TP nor FP; precision envelope sampled at the 101 recall points
 *   np.linspace(0, 1, 101) with searchsorted 'left'. No +1 pixel in COCO's IoU (maskApi.c bbIou).
 *
 * Classes with no (non-ignored) ground truth have ap = null and are excluded from the mean, as
 * pycocotools excludes its -1 entries; voc_eval would divide by zero.
 */
import { fail } from '../util/errors.ts';
import type { ImageDetections } from './types.ts';

export type Metric = 'voc07' | 'voc' | 'coco';

export const METRICS: readonly Metric[] = ['voc07', 'voc', 'coco'];

/** One ground-truth box in original-image pixels, x/y the top-left corner (0-based). */
export interface TruthBox {
  x: number;
  y: number;
  w: number;
  h: number;
  className: string;
  /** VOC difficult: ignored (a detection on it is neither TP nor FP; not counted in recall) */
  difficult?: boolean;
  /** COCO iscrowd: ignored, and in COCO matchable by many detections (IoU over detection area) */
  crowd?: boolean;
  /** COCO annotation area (segment area), used only for the 'all' area range; default w·h */
  area?: number;
}

export interface TruthImage {
  /** the image's file name or path; images are matched by imageKey() */
  file: string;
  width?: number;
  height?: number;
  boxes: TruthBox[];
}

export interface ClassAP {
  className: string;
  /** null when the class has no non-ignored ground truth (excluded from the mean) */
  ap: number | null;
  /** non-ignored ground-truth boxes */
  truth: number;
  /** ignored ground-truth boxes (difficult or crowd) */
  ignored: number;
  /** detections of this class counted (COCO: after the 100-per-image limit) */
  detections: number;
}

export interface EvalOptions {
  metric?: Metric;
  /** IoU threshold for the VOC metrics (default 0.5); COCO always averages .50:.95 */
  iou?: number;
  /** COCO detections kept per image and class (default 100) */
  maxDets?: number;
  /** class order of the report; classes not listed follow in order of first appearance */
  classNames?: string[];
}

export interface EvalResult {
  metric: Metric;
  /** the VOC IoU threshold; null for COCO (.50:.95) */
  iou: number | null;
  /** mean of the per-class APs that are not null; null when no class has ground truth */
  map: number | null;
  perClass: ClassAP[];
  /** images evaluated (the ground-truth images) */
  images: number;
  /** detections on evaluated images */
  detections: number;
  /** ground-truth boxes, ignored ones included */
  truthBoxes: number;
  /** ground-truth boxes ignored (difficult or crowd) */
  ignoredTruth: number;
  /** detection images with no ground-truth entry: skipped */
  unmatchedImages: string[];
}

/** Images are matched by base name without extension: "dir/000001.jpg" → "000001". */
export function imageKey(file: string): string {
  const base = file.replace(/\\/g, '/').split('/').pop() ?? file;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/** voc_eval.py IoU with the +1 pixel convention, on boxes x1 = x, x2 = x + w. */
export function vocIou(a: { x: number; y: number; w: number; h: number }, b: { x: number; y: number; w: number; h: number }): number {
  const iw = Math.max(Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x) + 1, 0);
  const ih = Math.max(Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y) + 1, 0);
  const inter = iw * ih;
  const uni = (a.w + 1) * (a.h + 1) + (b.w + 1) * (b.h + 1) - inter;
  return inter / uni;
}

/** pycocotools maskApi.c bbIou: no +1; for a crowd truth the union is the detection's area. */
export function cocoIou(d: { x: number; y: number; w: number; h: number }, g: { x: number; y: number; w: number; h: number }, crowd = false): number {
  const w = Math.min(d.x + d.w, g.x + g.w) - Math.max(d.x, g.x);
  if (w <= 0) return 0;
  const h = Math.min(d.y + d.h, g.y + g.h) - Math.max(d.y, g.y);
  if (h <= 0) return 0;
  const i = w * h;
  const da = d.w * d.h;
  return i / (crowd ? da : da + g.w * g.h - i);
}

/** voc_eval.py voc_ap(rec, prec, use_07_metric). */
export function vocAp(rec: readonly number[], prec: readonly number[], use07: boolean): number {
  if (use07) {
    let ap = 0;
    for (let i = 0; i <= 10; i++) {
      const t = i * 0.1; // np.arange(0., 1.1, 0.1)
      let p = 0;
      let any = false;
      for (let k = 0; k < rec.length; k++) {
        if (rec[k] >= t) {
          p = any ? Math.max(p, prec[k]) : prec[k];
          any = true;
        }
      }
      ap += p / 11;
    }
    return ap;
  }
  const mrec = [0, ...rec, 1];
  const mpre = [0, ...prec, 0];
  for (let i = mpre.length - 1; i > 0; i--) mpre[i - 1] = Math.max(mpre[i - 1], mpre[i]);
  let ap = 0;
  for (let i = 0; i + 1 < mrec.length; i++) if (mrec[i + 1] !== mrec[i]) ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
  return ap;
}

const EPS = 2.220446049250313e-16; // np.finfo(np.float64).eps == np.spacing(1)

interface Indexed {
  img: number;
  score: number;
  box: { x: number; y: number; w: number; h: number };
}

const ignoredBox = (b: TruthBox): boolean => Boolean(b.difficult || b.crowd);

/** voc_eval for one class; returns null AP when npos = 0. */
function vocClass(cls: string, truth: TruthImage[], dets: Indexed[], iou: number, use07: boolean): number | null {
  const gts = truth.map((im) => im.boxes.filter((b) => b.className === cls));
  const taken = gts.map((g) => g.map(() => false));
  let npos = 0;
  for (const g of gts) for (const b of g) if (!ignoredBox(b)) npos++;
  const sorted = dets.slice().sort((a, b) => b.score - a.score); // stable
  const tp: number[] = [];
  const fp: number[] = [];
  let ctp = 0;
  let cfp = 0;
  for (const d of sorted) {
    const g = gts[d.img];
    let ovmax = -Infinity;
    let jmax = -1;
    for (let j = 0; j < g.length; j++) {
      const ov = vocIou(d.box, g[j]);
      if (ov > ovmax) {
        ovmax = ov;
        jmax = j;
      }
    }
    if (ovmax > iou) {
      if (!ignoredBox(g[jmax])) {
        if (!taken[d.img][jmax]) {
          ctp++;
          taken[d.img][jmax] = true;
        } else cfp++;
      }
    } else cfp++;
    tp.push(ctp);
    fp.push(cfp);
  }
  if (npos === 0) return null;
  const rec = tp.map((t) => t / npos);
  const prec = tp.map((t, k) => t / Math.max(t + fp[k], EPS));
  return vocAp(rec, prec, use07);
}

/** np.linspace(.5, .95, 10) and np.linspace(0, 1, 101), value for value. */
const IOU_THRS = Array.from({ length: 10 }, (_, i) => (i === 9 ? 0.95 : i * ((0.95 - 0.5) / 9) + 0.5));
const REC_THRS = Array.from({ length: 101 }, (_, i) => (i === 100 ? 1 : i * 0.01));
const AREA_MAX = 1e5 ** 2;

/** COCOeval.evaluateImg + accumulate for one category; returns [AP or null, detections counted]. */
function cocoClass(cls: string, truth: TruthImage[], detsByImg: Indexed[][], maxDets: number): [number | null, number] {
  const T = IOU_THRS.length;
  const scores: number[] = [];
  const matched: boolean[][] = IOU_THRS.map(() => []);
  const ignored: boolean[][] = IOU_THRS.map(() => []);
  let npig = 0;
  for (let im = 0; im < truth.length; im++) {
    const g0 = truth[im].boxes.filter((b) => b.className === cls);
    const dt0 = detsByImg[im];
    if (g0.length === 0 && dt0.length === 0) continue;
    const gIgn0 = g0.map((b) => ignoredBox(b) || (b.area ?? b.w * b.h) > AREA_MAX);
    const gOrder = g0.map((_, i) => i).sort((a, b) => Number(gIgn0[a]) - Number(gIgn0[b])); // stable
    const gt = gOrder.map((i) => g0[i]);
    const gtIg = gOrder.map((i) => gIgn0[i]);
    const crowd = gt.map((b) => Boolean(b.crowd));
    const dt = dt0
      .slice()
      .sort((a, b) => b.score - a.score)
      .slice(0, maxDets);
    npig += gtIg.filter((x) => !x).length;
    const ious = dt.map((d) => gt.map((g, j) => cocoIou(d.box, g, crowd[j])));
    for (let t = 0; t < T; t++) {
      const gtm = gt.map(() => -1);
      for (let di = 0; di < dt.length; di++) {
        let best = Math.min(IOU_THRS[t], 1 - 1e-10);
        let m = -1;
        for (let gi = 0; gi < gt.length; gi++) {
          if (gtm[gi] >= 0 && !crowd[gi]) continue;
          if (m > -1 && !gtIg[m] && gtIg[gi]) break;
          if (ious[di][gi] < best) continue;
          best = ious[di][gi];
          m = gi;
        }
        if (m === -1) {
          // unmatched detections outside the area range are ignored (never for 'all' in practice)
          matched[t].push(false);
          ignored[t].push(dt[di].box.w * dt[di].box.h > AREA_MAX);
        } else {
          gtm[m] = di;
          matched[t].push(true);
          ignored[t].push(gtIg[m]);
        }
      }
    }
    for (const d of dt) scores.push(d.score);
  }
  if (npig === 0) return [null, scores.length];
  const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a]); // stable merge sort
  let sum = 0;
  for (let t = 0; t < T; t++) {
    const pr: number[] = [];
    const rc: number[] = [];
    let tp = 0;
    let fp = 0;
    for (const i of order) {
      if (!ignored[t][i]) {
        if (matched[t][i]) tp++;
        else fp++;
      }
      rc.push(tp / npig);
      pr.push(tp / (fp + tp + EPS));
    }
    for (let i = pr.length - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
    let k = 0;
    for (const r of REC_THRS) {
      while (k < rc.length && rc[k] < r) k++; // searchsorted(rc, r, 'left'); rc is non-decreasing
      if (k >= rc.length) break; // pycocotools: IndexError, remaining points stay 0
      sum += pr[k];
    }
  }
  return [sum / (T * REC_THRS.length), scores.length];
}

/**
 * Scores `candidate` against `truth`. Images are matched by imageKey(); the evaluated images are
 * the ground-truth images (truth images without detections count as misses); detections on images
 * absent from the truth are skipped and listed in unmatchedImages. Classes are matched by name.
 */
export function evaluate(truth: readonly TruthImage[], candidate: readonly ImageDetections[], opts: EvalOptions = {}): EvalResult {
  const metric = opts.metric ?? 'voc07';
  const iou = opts.iou ?? 0.5;
  const maxDets = opts.maxDets ?? 100;
  const timgs = truth.slice();
  const index = new Map<string, number>();
  timgs.forEach((im, i) => {
    const key = imageKey(im.file);
    if (index.has(key)) fail('ground truth', `two images share the base name ${key} (${timgs[index.get(key) as number].file}, ${im.file})`);
    index.set(key, i);
  });
  const seen = new Set<string>();
  const unmatchedImages: string[] = [];
  const names: string[] = [...(opts.classNames ?? [])];
  const known = new Set(names);
  const addName = (n: string) => {
    if (!known.has(n)) {
      known.add(n);
      names.push(n);
    }
  };
  for (const im of timgs) for (const b of im.boxes) addName(b.className);
  // per class, detections in file order (image order, then order within the image)
  const byClass = new Map<string, Indexed[]>();
  let detections = 0;
  for (const im of candidate) {
    const key = imageKey(im.file);
    if (seen.has(key)) fail('detections', `two images share the base name ${key}`);
    seen.add(key);
    const ti = index.get(key);
    if (ti === undefined) {
      unmatchedImages.push(im.file);
      continue;
    }
    for (const d of im.detections) {
      addName(d.className);
      let list = byClass.get(d.className);
      if (!list) byClass.set(d.className, (list = []));
      list.push({ img: ti, score: d.score, box: { x: d.x, y: d.y, w: d.w, h: d.h } });
      detections++;
    }
  }
  const perClass: ClassAP[] = names.map((cls) => {
    const dets = byClass.get(cls) ?? [];
    let truthN = 0;
    let ignored = 0;
    for (const im of timgs) for (const b of im.boxes) if (b.className === cls) ignoredBox(b) ? ignored++ : truthN++;
    if (metric === 'coco') {
      const byImg: Indexed[][] = timgs.map(() => []);
      for (const d of dets) byImg[d.img].push(d);
      const [ap, n] = cocoClass(cls, timgs, byImg, maxDets);
      return { className: cls, ap, truth: truthN, ignored, detections: n };
    }
    return { className: cls, ap: vocClass(cls, timgs, dets, iou, metric === 'voc07'), truth: truthN, ignored, detections: dets.length };
  });
  const aps = perClass.map((c) => c.ap).filter((a): a is number => a !== null);
  let truthBoxes = 0;
  let ignoredTruth = 0;
  for (const im of timgs) for (const b of im.boxes) ignoredBox(b) ? ignoredTruth++ : truthBoxes++;
  return {
    metric,
    iou: metric === 'coco' ? null : iou,
    map: aps.length ? aps.reduce((a, b) => a + b, 0) / aps.length : null,
    perClass,
    images: timgs.length,
    detections,
    truthBoxes: truthBoxes + ignoredTruth,
    ignoredTruth,
    unmatchedImages,
  };
}

/** Another detections list as ground truth: every box non-difficult, scores unused. */
export function truthFromDetections(reference: readonly ImageDetections[]): TruthImage[] {
  return reference.map((im) => ({
    file: im.file,
    width: im.width,
    height: im.height,
    boxes: im.detections.map((d) => ({ x: d.x, y: d.y, w: d.w, h: d.h, className: d.className })),
  }));
}

/**
 * AP of `candidate` (e.g. the spiking network's detections) judged against `reference` (e.g. the
 * ANN's detections on the same images), images matched by base name. metric 'voc07' or 'voc'
 * uses `iou`; 'coco' ignores it and averages IoU .50:.95.
 */
export function apAgainst(
  reference: readonly ImageDetections[],
  candidate: readonly ImageDetections[],
  iou = 0.5,
  metric: Metric = 'voc',
): EvalResult {
  return evaluate(truthFromDetections(reference), candidate, { metric, iou });
}
