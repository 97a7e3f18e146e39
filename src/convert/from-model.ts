/**
 * One way for every command to get a spiking network from its `--model` flags: a converted .snn
 * file is loaded as it is; any other model is imported, calibrated and converted on the fly.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Network } from '../model/ir.ts';
import { loadModel, type ModelSpec } from '../model/load.ts';
import { defaultFaceCalibration } from '../model/evalset.ts';
import { fail } from '../util/errors.ts';
import { calibrate, sha256Hex, type ActivationStats } from './calibrate.ts';
import { calibrationCacheDir, calibrationKey, readCachedStats, writeCachedStats } from './calib-cache.ts';
import { readFileChecked } from '../model/darknet.ts';
import { convertNetworkWithReport, defaultSettings, validateSettings, type LayerReport } from './convert.ts';
import { isSnnFile, loadSnn } from './snn-file.ts';
import { isNirFile } from '../model/nir.ts';
import type { SnnNetwork, SnnSettings } from './snn-ir.ts';

export interface SnnSource {
  snn: SnnNetwork;
  /** per-layer conversion report (absent when loaded from a file) */
  report?: LayerReport[];
  /** true when read from a .snn file */
  fromFile: boolean;
}

/**
 * Calibration images when none are given: for the face detector the face-api sample photos and the
 * evaluation set's tune half (`defaultFaceCalibration`); for other models the images being
 * processed (reports say which: `describeCalibration`).
 */
export function defaultCalibration(net: Network, images: string[]): string[] {
  return net.format === 'face-api' ? defaultFaceCalibration() : images;
}

export function isSnnModel(model: string | undefined): boolean {
  return !!model && model.endsWith('.snn') || (!!model && existsSync(model) && statSync(model).isFile() && isSnnFile(model));
}

/** The model spec with file paths made absolute, so a .snn file can re-import its ANN from anywhere. */
export function absoluteModelSpec(spec: ModelSpec): NonNullable<SnnNetwork['annSpec']> {
  const isFile = (p: string) => existsSync(p) && statSync(p).isFile();
  const model = spec.model ?? 'face';
  const out: NonNullable<SnnNetwork['annSpec']> = { model: model !== 'face' && isFile(model) ? resolve(model) : model };
  if (spec.weights !== undefined) out.weights = /^synthetic(:\d+)?$/.test(spec.weights) ? spec.weights : resolve(spec.weights);
  if (spec.size !== undefined) out.size = spec.size;
  if (spec.names !== undefined) out.names = resolve(spec.names);
  return out;
}

/** The ANN of any `--model`: a converted .snn file yields the network it was converted from. */
export function loadAnnModel(spec: ModelSpec): Network {
  refuseNirHere(spec.model);
  if (isSnnModel(spec.model)) {
    if (spec.weights || spec.size) fail('--model', `${spec.model} is a converted network: its weights and size are fixed (drop --weights/--size)`);
    return loadSnn(spec.model!).ann;
  }
  return loadModel(spec);
}

/**
 * A NIR graph is a spiking network without a detector head or an ANN: the commands that decode
 * detections or need the ANN refuse it by name (run, map and sweep take it: src/cli/run-nir.ts, map.ts, src/sweep/sweep.ts).
 */
export function refuseNirHere(model: string | undefined): void {
  if (isNirFile(model)) fail('--model', `${model} is a NIR graph, not a detector: \`neuroemu run --model ${model} --input-rate R\`, \`map\` and \`sweep\` price it; this command needs a detector (its ANN and its head)`);
}

/** An imported ANN with its activation statistics: convert it as often as needed, calibrate once. */
export interface CalibratedModel {
  spec: ModelSpec;
  net: Network;
  stats: ActivationStats;
  calib: string[];
}

export function calibrateModel(
  spec: ModelSpec,
  opts: { calib?: string[]; images?: string[]; onImage?: (i: number, n: number, file: string) => void; /** the spec's ANN, when the caller has loaded it */ net?: Network },
): CalibratedModel {
  const net = opts.net ?? loadAnnModel(spec);
  const calib = opts.calib && opts.calib.length ? opts.calib : defaultCalibration(net, opts.images ?? []);
  if (calib.length === 0) fail('--calib', 'no calibration images (give --calib IMAGES)');
  // cached by content (calib-cache.ts): the network as loaded and the images' bytes
  const key = calibrationKey(net, calib.map((f) => sha256Hex(readFileChecked(f))), 'wasm');
  const cached = readCachedStats(net, key);
  if (cached) {
    // the same bytes under these names: the statistics name the images as this command gave them
    cached.images.splice(0, cached.images.length, ...calib);
    opts.onImage?.(calib.length - 1, calib.length, `${calib.length} image${calib.length === 1 ? '' : 's'}: cached calibration ${key.slice(0, 12)} (${calibrationCacheDir()})`);
    return { spec, net, stats: cached, calib };
  }
  const stats = calibrate(net, calib, { onImage: opts.onImage ? (i, n, f) => opts.onImage!(i, n, f) : undefined });
  writeCachedStats(stats, key);
  return { spec, net, stats, calib };
}

export function convertCalibrated(m: CalibratedModel, settings: Partial<SnnSettings> = {}): SnnSource {
  const full = defaultSettings(settings);
  validateSettings(full, 'conversion settings');
  const { snn, report } = convertNetworkWithReport(m.net, m.stats, full, m.calib);
  snn.annSpec = absoluteModelSpec(m.spec);
  return { snn, report, fromFile: false };
}

export function snnFromModel(
  spec: ModelSpec,
  opts: { calib?: string[]; images?: string[]; settings?: Partial<SnnSettings>; onImage?: (i: number, n: number, file: string) => void },
): SnnSource {
  refuseNirHere(spec.model);
  if (isSnnModel(spec.model)) {
    if (spec.weights || spec.size) fail('--model', `${spec.model} is a converted network: its weights and size are fixed (drop --weights/--size)`);
    return { snn: loadSnn(spec.model!), fromFile: true };
  }
  return convertCalibrated(calibrateModel(spec, opts), opts.settings);
}
