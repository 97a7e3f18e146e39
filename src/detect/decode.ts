/**
 * Detection heads → boxes in original-image pixels, exactly as each source framework decodes.
 *
 * Input of every function here is the raw output of the conv layer that feeds the head
 * (not yet activated), a Float32Array in C×H×W order of head.inShape.
 *
 * - darknet region (YOLOv2): pjreddie/darknet src/region_layer.c forward_region_layer,
 *   get_region_box, get_region_detections, correct_region_boxes.
 * - darknet yolo (YOLOv3): src/yolo_layer.c forward_yolo_layer, get_yolo_box,
 *   get_yolo_detections, correct_yolo_boxes.
 *   Both then src/box.c do_nms_sort and src/image.c draw_detections (one line per box and class
 *   whose probability is > thresh), as examples/detector.c test_detector runs them with
 *   relative = 1. darknet works in float32: every step is rounded with Math.fround where the
 *   C code stores or computes a float; exp() runs in double as in C.
 * - face-api: @vladmandic/face-api src/tinyYolov2/TinyYolov2Base.ts extractBoxes + detect, and
 *   TinyFaceDetector.locateFaces (FaceDetection); float64 on the float32 outputs.
 *
 * Pixel boxes are not clipped to the image (darknet clips only when drawing or writing VOC
 * results; face-api does not clip).
 */
import { appendAll } from '../util/array.ts';
import type { FaceHeadLayer, HeadLayer, Network, RegionLayer, YoloLayer } from '../model/ir.ts';
import { isHead } from '../model/ir.ts';
import type { DarknetBox, DarknetDetection, FaceBox } from './nms.ts';
import { doNmsSort, faceNms } from './nms.ts';
import type { Detection } from './types.ts';

const f = Math.fround;

export interface DecodeContext {
  /** network input width and height (pixels) */
  netW: number;
  netH: number;
  /** original image width and height (pixels) */
  imageW: number;
  imageH: number;
}

/** darknet activations.h logistic_activate: 1./(1. + exp(-x)) in double, stored as float. */
const logisticF = (x: number): number => f(1 / (1 + Math.exp(-x)));

/** face-api ops/index.ts sigmoid, float64. */
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

function checkRaw(head: HeadLayer, raw: Float32Array, channels: number): void {
  const { c, h, w } = head.inShape;
  if (c !== channels) throw new Error(`${head.name}: head input has ${c} channels, expected ${channels}`);
  if (raw.length !== c * h * w) throw new Error(`${head.name}: raw output has ${raw.length} values, expected ${c}×${h}×${w}`);
}

/**
 * correct_region_boxes / correct_yolo_boxes (identical in pjreddie/darknet) with relative = 1:
 * undo the letterbox. new_w/new_h use darknet's integer arithmetic; the offset is computed in
 * double, the scale factors as float divisions, results stored as float.
 */
export function letterboxCorrect(boxes: DarknetBox[], imageW: number, imageH: number, netW: number, netH: number): void {
  let newW: number;
  let newH: number;
  if (f(netW / imageW) < f(netH / imageH)) {
    newW = netW;
    newH = Math.trunc((imageH * netW) / imageW);
  } else {
    newH = netH;
    newW = Math.trunc((imageW * netH) / imageH);
  }
  const offX = (netW - newW) / 2 / netW;
  const offY = (netH - newH) / 2 / netH;
  const sx = f(newW / netW);
  const sy = f(newH / netH);
  const gx = f(netW / newW);
  const gy = f(netH / newH);
  for (const b of boxes) {
    b.x = f((b.x - offX) / sx);
    b.y = f((b.y - offY) / sy);
    b.w = f(b.w * gx);
    b.h = f(b.h * gy);
  }
}

/**
 * region_layer.c: logistic on x, y and objectness, softmax over the classes (blas.c softmax,
 * float), boxes from get_region_box (anchors in grid cells), objectness zeroed when <= thresh,
 * prob = objectness · class probability kept when > thresh. One detection per anchor and cell,
 * at darknet's index n·w·h + cell. Layout (entry_index): channel = n·(coords+classes+1) + entry.
 */
export function regionDetections(head: RegionLayer, raw: Float32Array, ctx: DecodeContext, threshold: number): DarknetDetection[] {
  const { coords, classes, num, anchors } = head;
  const size = coords + classes + 1;
  checkRaw(head, raw, num * size);
  const { w: lw, h: lh } = head.inShape;
  const wh = lw * lh;
  const th = f(threshold);
  const dets: DarknetDetection[] = [];
  const e = new Float32Array(classes);
  for (let n = 0; n < num; n++) {
    const aw = f(anchors[2 * n]);
    const ah = f(anchors[2 * n + 1]);
    for (let i = 0; i < wh; i++) {
      const row = Math.floor(i / lw);
      const col = i % lw;
      const at = (entry: number): number => raw[(n * size + entry) * wh + i];
      const bbox: DarknetBox = {
        x: f(f(col + logisticF(at(0))) / lw),
        y: f(f(row + logisticF(at(1))) / lh),
        w: f((Math.exp(at(2)) * aw) / lw),
        h: f((Math.exp(at(3)) * ah) / lh),
      };
      const scale = logisticF(at(coords));
      const objectness = scale > th ? scale : 0;
      const prob = new Float32Array(classes);
      if (objectness) {
        // blas.c softmax(): largest first, e = exp(x - largest) in double stored as float, float sum
        let largest = -3.4028234663852886e38;
        for (let j = 0; j < classes; j++) if (at(coords + 1 + j) > largest) largest = at(coords + 1 + j);
        let sum = 0;
        for (let j = 0; j < classes; j++) {
          e[j] = Math.exp(f(at(coords + 1 + j) - largest));
          sum = f(sum + e[j]);
        }
        for (let j = 0; j < classes; j++) {
          const p = f(scale * f(e[j] / sum));
          prob[j] = p > th ? p : 0;
        }
      }
      dets.push({ bbox, objectness, prob });
    }
  }
  letterboxCorrect(
    dets.map((d) => d.bbox),
    ctx.imageW,
    ctx.imageH,
    ctx.netW,
    ctx.netH,
  );
  return dets;
}

/**
 * yolo_layer.c: logistic on x, y, objectness and the class scores (not tw, th); boxes from
 * get_yolo_box (anchors[2·mask[n]] in input pixels, divided by the network size); a cell and
 * anchor yields a detection only when objectness > thresh (yolo_num_detections), in the order
 * cell-major, anchor-minor; prob = objectness · σ(class) kept when > thresh.
 */
export function yoloDetections(head: YoloLayer, raw: Float32Array, ctx: DecodeContext, threshold: number): DarknetDetection[] {
  const { classes, mask, anchors } = head;
  const size = 4 + classes + 1;
  checkRaw(head, raw, mask.length * size);
  const { w: lw, h: lh } = head.inShape;
  const wh = lw * lh;
  const th = f(threshold);
  const dets: DarknetDetection[] = [];
  for (let i = 0; i < wh; i++) {
    const row = Math.floor(i / lw);
    const col = i % lw;
    for (let n = 0; n < mask.length; n++) {
      const at = (entry: number): number => raw[(n * size + entry) * wh + i];
      const objectness = logisticF(at(4));
      if (objectness <= th) continue;
      const bbox: DarknetBox = {
        x: f(f(col + logisticF(at(0))) / lw),
        y: f(f(row + logisticF(at(1))) / lh),
        w: f((Math.exp(at(2)) * f(anchors[2 * mask[n]])) / ctx.netW),
        h: f((Math.exp(at(3)) * f(anchors[2 * mask[n] + 1])) / ctx.netH),
      };
      const prob = new Float32Array(classes);
      for (let j = 0; j < classes; j++) {
        const p = f(objectness * logisticF(at(5 + j)));
        prob[j] = p > th ? p : 0;
      }
      dets.push({ bbox, objectness, prob });
    }
  }
  letterboxCorrect(
    dets.map((d) => d.bbox),
    ctx.imageW,
    ctx.imageH,
    ctx.netW,
    ctx.netH,
  );
  return dets;
}

/** A face-api box before NMS: the relative BoundingBox and its score. */
export interface FaceCandidate {
  /** relative to the padded square input, top-left x, y and width, height as Box holds them */
  box: FaceBox;
  score: number;
}

/**
 * TinyYolov2Base.extractBoxes: reshaped dims = computeReshapedDimensions (round(W·s), round(H·s),
 * s = inputSize / max(W, H)); correction factors max/width and max/height undo the bottom/right
 * padding; score = sigmoid(objectness) kept when strictly > threshold (no filter when the
 * threshold is 0, as `!scoreThreshold` does). Channel = anchor·5 + k. Loop order row, col, anchor.
 */
export function faceCandidates(head: FaceHeadLayer, raw: Float32Array, ctx: DecodeContext, threshold: number): FaceCandidate[] {
  const numBoxes = head.anchors.length / 2;
  checkRaw(head, raw, numBoxes * 5);
  const g = head.inShape.h;
  if (head.inShape.w !== g) throw new Error(`${head.name}: face head grid must be square, got ${head.inShape.h}×${head.inShape.w}`);
  const scale = ctx.netW / Math.max(ctx.imageH, ctx.imageW);
  const width = Math.round(ctx.imageW * scale);
  const height = Math.round(ctx.imageH * scale);
  const inputSize = Math.max(width, height);
  const cfx = inputSize / width;
  const cfy = inputSize / height;
  const gg = g * g;
  const out: FaceCandidate[] = [];
  for (let row = 0; row < g; row++) {
    for (let col = 0; col < g; col++) {
      for (let a = 0; a < numBoxes; a++) {
        const at = (k: number): number => raw[(a * 5 + k) * gg + row * g + col];
        const score = sigmoid(at(4));
        if (threshold && !(score > threshold)) continue;
        const ctX = ((col + sigmoid(at(0))) / g) * cfx;
        const ctY = ((row + sigmoid(at(1))) / g) * cfy;
        const w = ((Math.exp(at(2)) * head.anchors[2 * a]) / g) * cfx;
        const h = ((Math.exp(at(3)) * head.anchors[2 * a + 1]) / g) * cfy;
        const x = ctX - w / 2;
        const y = ctY - h / 2;
        // new BoundingBox(x, y, x + w, y + h): Box stores width = right - left
        out.push({ box: { x, y, width: x + w - x, height: y + h - y }, score });
      }
    }
  }
  return out;
}

/**
 * face-api's pixel box: ObjectDetection rescales the relative box by the image size, then
 * locateFaces builds a FaceDetection from `relativeBox` (rescaled by 1/W, 1/H) which rescales by
 * W, H again; the round trip is kept so that the numbers agree bit for bit.
 */
function facePixels(b: FaceBox, imageW: number, imageH: number): Pick<Detection, 'x' | 'y' | 'w' | 'h'> {
  const rw = 1 / imageW;
  const rh = 1 / imageH;
  return {
    x: b.x * imageW * rw * imageW,
    y: b.y * imageH * rh * imageH,
    w: b.width * imageW * rw * imageW,
    h: b.height * imageH * rh * imageH,
  };
}

/** darknet relative centre box → top-left pixel box (draw_detections' formula, not rounded or clipped). */
function darknetPixels(b: DarknetBox, imageW: number, imageH: number): Pick<Detection, 'x' | 'y' | 'w' | 'h'> {
  return { x: (b.x - b.w / 2) * imageW, y: (b.y - b.h / 2) * imageH, w: b.w * imageW, h: b.h * imageH };
}

/** draw_detections: one Detection per (box, class) whose prob is > thresh, box order then class order. */
function expandDarknet(dets: readonly DarknetDetection[], ctx: DecodeContext, threshold: number, classNames?: string[]): Detection[] {
  const th = f(threshold);
  const out: Detection[] = [];
  for (const d of dets) {
    for (let j = 0; j < d.prob.length; j++) {
      if (d.prob[j] > th) {
        out.push({ ...darknetPixels(d.bbox, ctx.imageW, ctx.imageH), score: d.prob[j], classId: j, className: classNames?.[j] ?? String(j) });
      }
    }
  }
  return out;
}

/**
 * Decodes one head without NMS: every (box, class) above the threshold for darknet heads, every
 * box above the threshold for the face head, in the source's own order.
 */
export function decodeHead(head: HeadLayer, raw: Float32Array, ctx: DecodeContext, threshold: number, classNames?: string[]): Detection[] {
  switch (head.kind) {
    case 'region':
      return expandDarknet(regionDetections(head, raw, ctx, threshold), ctx, threshold, classNames);
    case 'yolo':
      return expandDarknet(yoloDetections(head, raw, ctx, threshold), ctx, threshold, classNames);
    case 'facehead':
      return faceCandidates(head, raw, ctx, threshold).map((c) => ({
        ...facePixels(c.box, ctx.imageW, ctx.imageH),
        score: c.score,
        classId: 0,
        className: 'face',
      }));
  }
}

/**
 * Decodes every head of the network and applies the source's NMS (net.nmsIou):
 * darknet (network.c fill_network_boxes): detections of all heads concatenated in layer order,
 * do_nms_sort over the class count of the last head, then draw_detections' per-class expansion;
 * face-api (TinyYolov2Base.detect): NMS on boxes rescaled to the input size, output in pick order.
 * `outputs` is indexed by layer index; a head reads outputs[head.inputs[0]].
 */
export function detectFromOutputs(
  net: Network,
  outputs: (Float32Array | undefined)[],
  imageW: number,
  imageH: number,
  threshold: number = net.scoreThreshold,
): Detection[] {
  const heads = net.layers.filter(isHead);
  if (heads.length === 0) throw new Error(`${net.name}: the network has no detection head`);
  const ctx: DecodeContext = { netW: net.input.w, netH: net.input.h, imageW, imageH };
  const rawOf = (head: HeadLayer): Float32Array => {
    const raw = outputs[head.inputs[0]];
    if (!raw) throw new Error(`${head.name}: no output for its input layer ${head.inputs[0]}`);
    return raw;
  };
  if (heads.every((h) => h.kind === 'facehead')) {
    const cands = heads.flatMap((h) => faceCandidates(h as FaceHeadLayer, rawOf(h), ctx, threshold));
    const rescaled = cands.map(({ box: b }) => ({ x: b.x * ctx.netW, y: b.y * ctx.netW, width: b.width * ctx.netW, height: b.height * ctx.netW }));
    const picks = faceNms(
      rescaled,
      cands.map((c) => c.score),
      net.nmsIou,
    );
    return picks.map((i) => ({ ...facePixels(cands[i].box, imageW, imageH), score: cands[i].score, classId: 0, className: 'face' }));
  }
  if (heads.some((h) => h.kind === 'facehead')) throw new Error(`${net.name}: face and darknet heads cannot be mixed`);
  const all: DarknetDetection[] = [];
  for (const h of heads) {
    if (h.kind === 'region') appendAll(all, regionDetections(h, rawOf(h), ctx, threshold));
    else if (h.kind === 'yolo') appendAll(all, yoloDetections(h, rawOf(h), ctx, threshold));
  }
  const last = heads[heads.length - 1] as RegionLayer | YoloLayer;
  return expandDarknet(doNmsSort(all, last.classes, net.nmsIou), ctx, threshold, net.classNames);
}
