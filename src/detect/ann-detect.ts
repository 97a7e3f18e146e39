/** ANN detection over image files: decode, preprocess, forward, decode boxes. */
import type { AnnEngineKind } from '../ann/engine.ts';
import { createAnnEngine } from '../ann/engine.ts';
import { loadImage } from '../image/decode.ts';
import { preprocess } from '../image/preprocess.ts';
import type { Network } from '../model/ir.ts';
import { detectFromOutputs } from './decode.ts';
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
    if (i === 0 && heads.length > 0) {
      const src = net.layers[heads[heads.length - 1].inputs[0]];
      firstRaw = { layer: src.name, shape: [src.outShape.c, src.outShape.h, src.outShape.w], data: outputs[src.index] };
    }
    images.push({ file: files[i], width: img.width, height: img.height, detections: detectFromOutputs(net, outputs, img.width, img.height, opts.threshold) });
  }
  return { images, firstRaw };
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

