/** ANN detection over image files: decode, preprocess, forward, decode boxes. */
import type { AnnEngineKind } from '../ann/engine.ts';
import { createAnnEngine } from '../ann/engine.ts';
import { loadImage } from '../image/decode.ts';
import { preprocess } from '../image/preprocess.ts';
import type { Network } from '../model/ir.ts';
import { detectFromOutputs } from './decode.ts';
import { fail } from '../util/errors.ts';
import type { DetectionsFile, ImageDetections } from './types.ts';

export interface AnnDetectResult {
  images: ImageDetections[];
  /** final conv output (the input of the last head) of the first image, C×H×W */
  firstRaw?: { layer: string; shape: [number, number, number]; data: Float32Array };
}

export async function detectImagesAnn(
  net: Network,
  files: string[],
  opts: { threshold?: number; engine?: AnnEngineKind; onImage?: (i: number, file: string) => void } = {},
): Promise<AnnDetectResult> {
  const engine = await createAnnEngine(net, opts.engine ?? 'wasm');
  const images: ImageDetections[] = [];
  let firstRaw: AnnDetectResult['firstRaw'];
  const heads = net.layers.filter((l) => l.kind === 'region' || l.kind === 'yolo' || l.kind === 'facehead');
  for (let i = 0; i < files.length; i++) {
    opts.onImage?.(i, files[i]);
    const img = loadImage(files[i]);
    const outputs = engine.forward(preprocess(net, img));
    checkFiniteOutputs(net, outputs, files[i]);
    if (i === 0 && heads.length > 0) {
      const src = net.layers[heads[heads.length - 1].inputs[0]];
      firstRaw = { layer: src.name, shape: [src.outShape.c, src.outShape.h, src.outShape.w], data: outputs[src.index] };
    }
    const detections = detectFromOutputs(net, outputs, img.width, img.height, opts.threshold);
    checkFiniteDetections(net, detections, files[i]);
    images.push({ file: files[i], width: img.width, height: img.height, detections });
  }
  return { images, firstRaw };
}

/**
 * A head's input holding NaN or an infinity (an overflowing weight or activation) would decode to
 * null boxes: refused, naming the first layer whose output is not finite.
 */
export function checkFiniteOutputs(net: Network, outputs: (Float32Array | undefined)[], file: string): void {
  const heads = net.layers.filter((l) => l.kind === 'region' || l.kind === 'yolo' || l.kind === 'facehead');
  const finite = (a: Float32Array | undefined) => {
    if (!a) return true;
    for (let k = 0; k < a.length; k++) if (!Number.isFinite(a[k])) return false;
    return true;
  };
  if (heads.every((h) => finite(outputs[h.inputs[0]]))) return;
  const first = net.layers.find((l) => !finite(outputs[l.index]));
  const l = first ?? net.layers[heads[0].inputs[0]];
  fail(`${net.source}: layer ${l.index} (${l.name})`, `its output on ${file} is not finite (NaN or ±Infinity: a weight or an activation overflows float32)`);
}

/** A decoded box with a non-finite coordinate or score (raw outputs so large that exp() overflows): refused, naming the head. */
export function checkFiniteDetections(net: Network, dets: readonly { x: number; y: number; w: number; h: number; score: number }[], file: string): void {
  const bad = dets.find((d) => !(Number.isFinite(d.x) && Number.isFinite(d.y) && Number.isFinite(d.w) && Number.isFinite(d.h) && Number.isFinite(d.score)));
  if (!bad) return;
  const head = net.layers.find((l) => l.kind === 'region' || l.kind === 'yolo' || l.kind === 'facehead')!;
  fail(`${net.source}: layer ${head.index} (${head.name})`, `decodes a box on ${file} that is not finite (x ${bad.x}, y ${bad.y}, w ${bad.w}, h ${bad.h}, score ${bad.score}): the raw outputs are too large (an overflowing weight?)`);
}

/** The detections JSON of `neuroemu detect --json` (see README). */
export function toDetectionsFile(net: Network, engine: 'ann' | 'snn', images: ImageDetections[]): DetectionsFile {
  return {
    model: net.name,
    engine,
    size: net.input.w,
    images: images.map((im) => ({
      file: im.file,
      width: im.width,
      height: im.height,
      detections: im.detections.map((d) => ({ x: d.x, y: d.y, w: d.w, h: d.h, score: d.score, class: d.className })),
    })),
  };
}

