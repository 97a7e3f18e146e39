import type { CommandModule } from 'yargs';
import { loadAnnModel, snnFromModel } from '../convert/from-model.ts';
import { detectImagesAnn, toDetectionsFile } from '../detect/ann-detect.ts';
import { describeSettings } from '../convert/convert.ts';
import { describeCalibration } from '../model/evalset.ts';
import { evaluate } from '../detect/map.ts';
import { defaultCheckpoints, detectImagesSnn } from '../detect/snn-detect.ts';
import { loadTruth } from '../detect/truth.ts';
import type { Detection, ImageDetections } from '../detect/types.ts';
import { atThreshold, fidelityAtThreshold, fidelityJson, type Fidelity } from '../detect/fidelity.ts';
import { readDetectionsFile } from '../detect/truth.ts';
import { formatTable } from '../report/table.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { fail } from '../util/errors.ts';
import { applyThresholdsFlag, checkCandidateThreshold, checkTimesteps, checkWorkers, modelOptions, parseTickList, snnOptions, snnSettingsFrom } from './options.ts';

interface DetectArgs {
  images: string[];
  model: string;
  weights?: string;
  size?: number;
  names?: string;
  threshold?: number;
  json?: string;
  'dump-raw'?: string;
  engine: string;
  timesteps?: number;
  checkpoints?: string;
  reference?: string;
  norm: string;
  statistic?: string;
  neuron: string;
  calib?: string[];
  seed: number;
  thresholds?: string;
  'candidate-threshold': number;
  'v-init'?: number;
  'readout-start'?: number;
  workers: number;
}

function printDetections(images: ImageDetections[]): void {
  for (const im of images) {
    process.stdout.write(`${im.file}  (${im.width}x${im.height}): ${im.detections.length} detection${im.detections.length === 1 ? '' : 's'}\n`);
    if (im.detections.length) {
      const rows = im.detections.map((d: Detection) => [d.className, d.score.toFixed(4), d.x.toFixed(1), d.y.toFixed(1), d.w.toFixed(1), d.h.toFixed(1)]);
      process.stdout.write(formatTable([{ header: 'class', align: 'left' }, { header: 'score' }, { header: 'x' }, { header: 'y' }, { header: 'w' }, { header: 'h' }], rows).replace(/^/gm, '  ') + '\n');
    }
  }
}

export const detectCommand: CommandModule<object, DetectArgs> = {
  command: 'detect <images..>',
  describe: 'Detect objects in images with the ANN (exactly as the source framework does) or the spiking network',
  builder: (y) =>
    snnOptions(modelOptions(y))
      .positional('images', { type: 'string', array: true, describe: 'JPEG or PNG files' })
      .option('engine', { type: 'string', choices: ['ann', 'ann-reference', 'snn', 'snn-reference'], default: 'ann', describe: 'ann: WASM SIMD kernels; snn: the spiking network, tick by tick; *-reference: the plain-TypeScript implementations' })
      .option('threshold', { type: 'number', describe: 'score threshold (default: the source framework\'s, 0.5)' })
      .option('timesteps', { type: 'number', describe: 'snn: ticks to simulate per image' })
      .option('checkpoints', { type: 'string', describe: 'snn: comma-separated ticks at which to decode too, e.g. 8,16,32 ("auto": 1,2,3,4,6,8,12,...)' })
      .option('reference', { type: 'string', describe: 'snn: detections JSON (e.g. the ANN\'s) or ground truth (VOC/YOLO/COCO) to score each checkpoint against: AP@0.5, and precision/recall/F1 and score bias at --threshold' })
      .option('candidate-threshold', { type: 'number', default: 0.05, describe: 'snn with --reference: score threshold of the candidates scored for AP (the printed detections are those above --threshold)' })
      .option('json', { type: 'string', describe: 'write the detections JSON to this file' })
      .option('thresholds', { type: 'string', describe: 'snn: threshold scales written by `neuroemu tune` (two-phase switch included)' })
      .option('workers', { type: 'number', default: 2, describe: 'snn: worker threads the images are split over (each its own WASM instance); 0 or 1: this thread. The output does not depend on it' })
      .option('dump-raw', { type: 'string', describe: 'ann: write the final conv output of the first image as {layer, shape:[C,H,W], data}' })
      .example('$0 detect node_modules/@vladmandic/face-api/demo/sample1.jpg', 'faces with the face-api TinyFaceDetector at 416')
      .example('$0 detect dog.jpg --model yolov2-tiny-voc --weights yolov2-tiny-voc.weights --json dets.json', 'Tiny YOLO v2 on VOC classes')
      .example('$0 detect node_modules/@vladmandic/face-api/demo/sample1.jpg --engine snn --timesteps 512 --checkpoints 64,128,256 --reference ann.json', 'the spiking face detector, scored against the ANN\'s detections at each checkpoint') as never,
  handler: async (args) => {
    const threshold = args.threshold;
    if (threshold !== undefined && !(threshold >= 0 && threshold <= 1)) fail('--threshold', `${threshold} must be between 0 and 1`);
    const spec = { model: args.model, weights: args.weights, size: args.size, names: args.names };
    const progress = (i: number, f: string) => process.stderr.write(`[${i + 1}/${args.images.length}] ${f}\n`);
    if (args.engine === 'ann' || args.engine === 'ann-reference') {
      for (const flag of ['timesteps', 'checkpoints', 'reference', 'thresholds'] as const) if (args[flag] !== undefined) fail(`--${flag}`, 'only applies to --engine snn');
      const net = loadAnnModel(spec);
      const res = await detectImagesAnn(net, args.images, { threshold, engine: args.engine === 'ann-reference' ? 'reference' : 'wasm', onImage: progress });
      printDetections(res.images);
      if (args.json) writeFileAtomic(args.json, JSON.stringify(toDetectionsFile(net, 'ann', res.images), null, 1) + '\n');
      if (args['dump-raw'] && res.firstRaw) {
        const r = res.firstRaw;
        writeFileAtomic(args['dump-raw'], JSON.stringify({ layer: r.layer, shape: r.shape, data: Array.from(r.data) }) + '\n');
      }
      return;
    }
    if (args['dump-raw']) fail('--dump-raw', 'only applies to the ANN engines');
    const T = checkTimesteps(args.timesteps);
    const workers = checkWorkers(args.workers);
    const checkpoints = args.checkpoints === 'auto' ? defaultCheckpoints(T) : parseTickList(args.checkpoints, '--checkpoints', T) ?? [];
    const converted = snnFromModel(spec, {
      calib: args.calib,
      images: args.images,
      settings: snnSettingsFrom(args),
      onImage: (i, n, f) => process.stderr.write(`calibrate [${i + 1}/${n}] ${f}\n`),
    });
    const tuned = applyThresholdsFlag(converted.snn, args.thresholds);
    const snn = tuned ? tuned.snn : converted.snn;
    const opThreshold = threshold ?? snn.ann.scoreThreshold;
    const cand = checkCandidateThreshold(args['candidate-threshold']);
    // candidates down to the candidate threshold when they are scored (AP needs the whole curve);
    // NMS lets only a higher score suppress a box, so the operating-point detections are a filter of them
    const decodeAt = args.reference ? Math.min(cand, opThreshold) : opThreshold;
    const res = await detectImagesSnn(snn, args.images, {
      timesteps: T, checkpoints, threshold: decodeAt, seed: args.seed, engine: args.engine === 'snn-reference' ? 'reference' : 'wasm', onImage: progress, wrap: tuned?.wrap,
      schedule: tuned?.schedule, workers,
    });
    const atOperatingPoint = (images: ImageDetections[]) => atThreshold(images, opThreshold);
    printDetections(atOperatingPoint(res.images));
    let scored: { tick: number; ap50: number | null; fidelity: Fidelity }[] | undefined;
    if (args.reference) {
      const truth = loadTruth(args.reference, res.images, snn.ann.classNames);
      const isDetections = truth.kind === 'detections';
      const reference = isDetections
        ? readDetectionsFile(args.reference, snn.ann.classNames).images
        : truth.images.map((t) => ({ file: t.file, width: t.width ?? 0, height: t.height ?? 0, detections: t.boxes.map((b) => ({ ...b, score: 1, classId: 0 })) }));
      scored = res.checkpoints.map((c) => ({
        tick: c.tick,
        ap50: evaluate(truth.images, c.images, { metric: 'voc', iou: 0.5 }).map,
        fidelity: fidelityAtThreshold(reference, c.images, { threshold: opThreshold, bias: isDetections }),
      }));
      process.stdout.write(`\nagainst ${args.reference} per checkpoint tick: AP@0.5 (VOC all-point, SNN candidates at score > ${decodeAt}); at the operating point score > ${opThreshold}: precision, recall, F1 (IoU >= 0.5, greedy by score)${isDetections ? ', and the logit bias of the reference\'s boxes (SNN best candidate − reference)' : ''}:\n`);
      const sgn = (x: number | null) => (x === null ? 'n/a' : (x >= 0 ? '+' : '−') + Math.abs(x).toFixed(2));
      process.stdout.write(
        formatTable(
          [{ header: 'tick' }, { header: 'AP@0.5' }, { header: 'P' }, { header: 'R' }, { header: 'F1' }, { header: 'matched' }, ...(isDetections ? [{ header: 'bias mean' }, { header: 'bias worst' }] : [])],
          scored.map((s) => {
            const f = s.fidelity;
            return [s.tick, s.ap50 === null ? 'n/a' : s.ap50.toFixed(4), f.precision.toFixed(3), f.recall.toFixed(3), f.f1.toFixed(3), `${f.matched}/${f.reference} (${f.detections})`, ...(isDetections ? [sgn(f.bias.mean), sgn(f.bias.worst)] : [])];
          }),
        ) + '\n',
      );
    }
    const s = snn.settings;
    if (tuned) process.stdout.write(`\n${tuned.description}`);
    process.stdout.write(`\nsnn: ${T} ticks, ${describeSettings(s)}, seed ${args.seed}; λ from ${describeCalibration(snn.calibration.images)}\n`);
    if (args.json) {
      const file = {
        ...toDetectionsFile(snn.ann, 'snn', atOperatingPoint(res.images)),
        timesteps: T,
        seed: args.seed,
        settings: s,
        ...(args.thresholds ? { thresholds: args.thresholds } : {}),
        checkpoints: res.checkpoints.map((c, k) => ({
          tick: c.tick,
          ...(scored ? { ap50: scored[k].ap50, fidelity: fidelityJson(scored[k].fidelity) } : {}),
          images: toDetectionsFile(snn.ann, 'snn', atOperatingPoint(c.images)).images,
        })),
      };
      writeFileAtomic(args.json, JSON.stringify(file, null, 1) + '\n');
    }
  },
};
