/**
 * Network input exactly as each source framework makes it. Output: float32, C×H×W.
 */
import type { Network } from '../model/ir.ts';
import type { RgbImage } from './decode.ts';

const f = Math.fround;

/** darknet image: float32 planes C×H×W in [0,1] (load_image_color: pixel/255). */
export interface DarknetImage {
  w: number;
  h: number;
  c: number;
  data: Float32Array;
}

export function toDarknetImage(img: RgbImage): DarknetImage {
  const { width: w, height: h } = img;
  const data = new Float32Array(3 * w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < 3; k++) {
    data[k * w * h + y * w + x] = f(img.data[3 * (y * w + x) + k] / 255);
  }
  return { w, h, c: 3, data };
}

/** pjreddie/darknet src/image.c resize_image, float32 arithmetic step by step. */
export function darknetResize(im: DarknetImage, w: number, h: number): DarknetImage {
  const resized = new Float32Array(w * h * im.c);
  const part = new Float32Array(w * im.h * im.c);
  const wScale = f((im.w - 1) / (w - 1));
  const hScale = f((im.h - 1) / (h - 1));
  const get = (d: Float32Array, W: number, H: number, x: number, y: number, k: number) => d[k * W * H + y * W + x];
  for (let k = 0; k < im.c; k++) {
    for (let r = 0; r < im.h; r++) {
      for (let c = 0; c < w; c++) {
        let val: number;
        if (c === w - 1 || im.w === 1) val = get(im.data, im.w, im.h, im.w - 1, r, k);
        else {
          const sx = f(c * wScale);
          const ix = Math.trunc(sx);
          const dx = f(sx - ix);
          val = f(f(f(1 - dx) * get(im.data, im.w, im.h, ix, r, k)) + f(dx * get(im.data, im.w, im.h, ix + 1, r, k)));
        }
        part[k * w * im.h + r * w + c] = val;
      }
    }
  }
  for (let k = 0; k < im.c; k++) {
    for (let r = 0; r < h; r++) {
      const sy = f(r * hScale);
      const iy = Math.trunc(sy);
      const dy = f(sy - iy);
      for (let c = 0; c < w; c++) resized[k * w * h + r * w + c] = f(f(1 - dy) * get(part, w, im.h, c, iy, k));
      if (r === h - 1 || im.h === 1) continue;
      for (let c = 0; c < w; c++) {
        const i = k * w * h + r * w + c;
        resized[i] = f(resized[i] + f(dy * get(part, w, im.h, c, iy + 1, k)));
      }
    }
  }
  return { w, h, c: im.c, data: resized };
}

/** Where the letterboxed image sits inside the network input. */
export interface Letterbox {
  newW: number;
  newH: number;
  dx: number;
  dy: number;
}

/** darknet letterbox_image geometry (integer arithmetic as in C). */
export function letterboxGeometry(imW: number, imH: number, netW: number, netH: number): Letterbox {
  let newW = imW, newH = imH;
  if (f(netW / imW) < f(netH / imH)) {
    newW = netW;
    newH = Math.trunc((imH * netW) / imW);
  } else {
    newH = netH;
    newW = Math.trunc((imW * netH) / imH);
  }
  return { newW, newH, dx: Math.trunc((netW - newW) / 2), dy: Math.trunc((netH - newH) / 2) };
}

/** darknet letterbox_image: resize keeping aspect ratio, embed centred in a 0.5-filled canvas. */
export function darknetLetterbox(im: DarknetImage, netW: number, netH: number): Float32Array {
  const g = letterboxGeometry(im.w, im.h, netW, netH);
  const resized = darknetResize(im, g.newW, g.newH);
  const out = new Float32Array(3 * netW * netH).fill(0.5);
  for (let k = 0; k < 3; k++) for (let y = 0; y < g.newH; y++) for (let x = 0; x < g.newW; x++) {
    const dx = x + g.dx, dy = y + g.dy;
    if (dx < 0 || dy < 0 || dx >= netW || dy >= netH) continue;
    out[k * netW * netH + dy * netW + dx] = resized.data[k * g.newW * g.newH + y * g.newW + x];
  }
  return out;
}

/**
 * face-api NetInput.toBatchTensor + TinyYolov2Base.forwardInput on a tensor input: pad bottom/right
 * with zeros to a square, tf.image.resizeBilinear (alignCorners=false, halfPixelCenters=false; the
 * tfjs CPU kernel lerps in float64 and stores float32), subtract meanRgb, divide by 255 (float32).
 */
export function faceApiInput(img: RgbImage, inputSize: number, meanRgb: [number, number, number]): Float32Array {
  const s0 = Math.max(img.width, img.height);
  const px = (x: number, y: number, k: number) => (x < img.width && y < img.height ? img.data[3 * (y * img.width + x) + k] : 0);
  const out = new Float32Array(3 * inputSize * inputSize);
  const plane = inputSize * inputSize;
  const mean = meanRgb.map(f);
  const ratio = s0 / inputSize;
  for (let r = 0; r < inputSize; r++) {
    const srcR = ratio * r;
    const r0 = Math.max(0, Math.floor(srcR));
    const r1 = Math.min(s0 - 1, Math.ceil(srcR));
    const fr = srcR - r0;
    for (let c = 0; c < inputSize; c++) {
      const srcC = ratio * c;
      const c0 = Math.max(0, Math.floor(srcC));
      const c1 = Math.min(s0 - 1, Math.ceil(srcC));
      const fc = srcC - c0;
      for (let k = 0; k < 3; k++) {
        let v: number;
        if (s0 === inputSize) v = px(c, r, k);
        else {
          const tl = px(c0, r0, k), tr = px(c1, r0, k), bl = px(c0, r1, k), br = px(c1, r1, k);
          const top = tl + (tr - tl) * fc;
          const bottom = bl + (br - bl) * fc;
          v = f(top + (bottom - top) * fr);
        }
        out[k * plane + r * inputSize + c] = f(f(v - mean[k]) / 255);
      }
    }
  }
  return out;
}

/** How boxes map back to the original image (decoding needs it). */
export interface InputGeometry {
  imageW: number;
  imageH: number;
  netW: number;
  netH: number;
}

export function preprocess(net: Network, img: RgbImage): Float32Array {
  const { w, h } = net.input;
  if (net.preprocess.kind === 'face-api') return faceApiInput(img, w, net.preprocess.meanRgb);
  return darknetLetterbox(toDarknetImage(img), w, h);
}
