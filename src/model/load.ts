/**
 * Resolves the `--model` / `--weights` / `--size` flags every command shares into a Network.
 *   face                       the face-api TinyFaceDetector shipped in @vladmandic/face-api (default)
 *   MANIFEST.json              a tfjs weights manifest of a TinyFaceDetector
 *   NAME                       a cfg bundled in models/cfg (yolov2-tiny-voc, yolov2-tiny, yolov3-tiny)
 *   FILE.cfg                   any darknet cfg
 * darknet weights: a .weights file, or `synthetic[:SEED]` for seeded stand-in weights.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail } from '../util/errors.ts';
import type { Network } from './ir.ts';
import { buildDarknetNetwork, loadDarknetWeights, parseCfgText, readFileChecked } from './darknet.ts';
import { defaultFaceManifest, loadFaceDetector } from './faceapi.ts';
import { foldBatchNorm } from './fold.ts';
import { syntheticDarknetWeights } from './synthetic.ts';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUNDLED_CFG_DIR = join(PROJECT_ROOT, 'models', 'cfg');
const NAMES_DIR = join(PROJECT_ROOT, 'models', 'names');

export interface ModelSpec {
  model?: string;
  weights?: string;
  size?: number;
  /** keep batch norm apart instead of folding it (tests) */
  keepBatchNorm?: boolean;
  /** class names file, one per line */
  names?: string;
  /** allow a darknet model without weights (shape-only uses such as `info`) */
  weightsOptional?: boolean;
}

export function resolveCfgPath(model: string): string | undefined {
  if (model.endsWith('.cfg')) return model;
  const bundled = join(BUNDLED_CFG_DIR, `${model}.cfg`);
  return existsSync(bundled) ? bundled : undefined;
}

function readNames(file: string): string[] {
  return readFileChecked(file).toString('utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '');
}

export function loadModel(spec: ModelSpec): Network {
  const model = spec.model ?? 'face';
  if (spec.size !== undefined && (!Number.isInteger(spec.size) || spec.size < 32 || spec.size > 4096 || spec.size % 32 !== 0)) {
    fail('--size', `${spec.size} must be a multiple of 32 between 32 and 4096`);
  }
  if (/\.nir$/i.test(model)) fail('--model', `${model} is a NIR graph (a spiking network, not a detector): \`neuroemu run --model ${model} --input-rate R\` and \`neuroemu map\` price it`);
  if (model === 'face' || model.endsWith('.json')) {
    if (spec.weights) fail('--weights', 'the face detector reads its weights through its manifest; pass the manifest as --model');
    return checkFiniteParameters(loadFaceDetector(model === 'face' ? defaultFaceManifest() : model, spec.size));
  }
  const cfg = resolveCfgPath(model);
  if (!cfg) fail('--model', `"${model}" is neither "face", a .json manifest, a .cfg file nor a bundled cfg (${['yolov2-tiny-voc', 'yolov2-tiny', 'yolov3-tiny'].join(', ')})`);
  const net = buildDarknetNetwork(parseCfgText(readFileChecked(cfg).toString('utf8'), cfg), cfg, { size: spec.size });
  const head = net.layers[net.layers.length - 1];
  // a detector ends in a head; a cfg cut short at a section boundary would otherwise load as a smaller network
  if (head.kind !== 'region' && head.kind !== 'yolo') fail(cfg, `the last section is [${head.kind}], a detector must end with [region] or [yolo] (truncated cfg?)`);
  const classes = head.classes;
  if (spec.names) net.classNames = readNames(spec.names);
  else if (classes === 20) net.classNames = readNames(join(NAMES_DIR, 'voc.names'));
  else if (classes === 80) net.classNames = readNames(join(NAMES_DIR, 'coco.names'));
  if (net.classNames && net.classNames.length !== classes) fail(spec.names ?? '--names', `${net.classNames.length} names for ${classes} classes`);
  if (spec.weights) {
    const m = /^synthetic(?::(\d+))?$/.exec(spec.weights);
    if (m) {
      const seed = Number(m[1] ?? 1);
      loadDarknetWeights(net, syntheticDarknetWeights(net, seed), `synthetic:${seed}`);
      net.source = `${cfg} + synthetic weights (seed ${seed})`;
    } else {
      loadDarknetWeights(net, readFileChecked(spec.weights), spec.weights);
      net.source = `${cfg} + ${spec.weights}`;
    }
  } else if (!spec.weightsOptional) {
    fail('--weights', `darknet model ${cfg} needs --weights FILE (or --weights synthetic[:SEED] for seeded stand-in weights)`);
  }
  return checkFiniteParameters(spec.keepBatchNorm ? net : foldBatchNorm(net));
}

/**
 * Every weight and bias of a loaded model must be finite: a NaN or an infinity (a quantization
 * scale of 1e30, batch-norm statistics that overflow when folded) would otherwise run silently and
 * come out as null boxes. Refused naming the layer, the tensor and the index.
 */
export function checkFiniteParameters(net: Network): Network {
  for (const l of net.layers) {
    if (l.kind !== 'conv') continue;
    for (const [name, a] of [['weights', l.weights], ['biases', l.biases]] as const) {
      if (!a) continue;
      for (let i = 0; i < a.length; i++) {
        if (!Number.isFinite(a[i])) fail(`${net.source}: layer ${l.index} (${l.name}) ${name}[${i}]`, `${a[i]} is not a finite number (batch norm already folded in)`);
      }
    }
  }
  return net;
}

