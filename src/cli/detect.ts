import type { CommandModule } from 'yargs';
import { detectImagesAnn, toDetectionsFile } from '../detect/ann-detect.ts';
import { loadModel } from '../model/load.ts';
import { formatTable } from '../report/table.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { fail } from '../util/errors.ts';
import { modelOptions } from './options.ts';

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
}

export const detectCommand: CommandModule<object, DetectArgs> = {
  command: 'detect <images..>',
  describe: 'Detect objects in images with the ANN (exactly as the source framework does)',
  builder: (y) =>
    modelOptions(y)
      .positional('images', { type: 'string', array: true, describe: 'JPEG or PNG files' })
      .option('threshold', { type: 'number', describe: 'score threshold (default: the source framework\'s, 0.5)' })
      .option('json', { type: 'string', describe: 'write the detections JSON to this file' })
      .option('dump-raw', { type: 'string', describe: 'write the final conv output of the first image as {layer, shape:[C,H,W], data}' })
      .option('engine', { type: 'string', choices: ['ann', 'ann-reference'], default: 'ann', describe: 'ann: WASM SIMD kernels; ann-reference: the plain-TypeScript layers' })
      .example('$0 detect node_modules/@vladmandic/face-api/demo/sample1.jpg', 'faces with the face-api TinyFaceDetector at 416')
      .example('$0 detect dog.jpg --model yolov2-tiny-voc --weights yolov2-tiny-voc.weights --json dets.json', 'Tiny YOLO v2 on VOC classes') as never,
  handler: async (args) => {
    const threshold = args.threshold;
    if (threshold !== undefined && !(threshold >= 0 && threshold <= 1)) fail('--threshold', `${threshold} must be between 0 and 1`);
    const net = loadModel({ model: args.model, weights: args.weights, size: args.size, names: args.names });
    const res = await detectImagesAnn(net, args.images, {
      threshold,
      engine: args.engine === 'ann-reference' ? 'reference' : 'wasm',
      onImage: (i, f) => process.stderr.write(`[${i + 1}/${args.images.length}] ${f}\n`),
    });
    for (const im of res.images) {
      process.stdout.write(`${im.file}  (${im.width}x${im.height}): ${im.detections.length} detection${im.detections.length === 1 ? '' : 's'}\n`);
      if (im.detections.length) {
        const rows = im.detections.map((d) => [d.className, d.score.toFixed(4), d.x.toFixed(1), d.y.toFixed(1), d.w.toFixed(1), d.h.toFixed(1)]);
        process.stdout.write(formatTable([{ header: 'class', align: 'left' }, { header: 'score' }, { header: 'x' }, { header: 'y' }, { header: 'w' }, { header: 'h' }], rows).replace(/^/gm, '  ') + '\n');
      }
    }
    if (args.json) writeFileAtomic(args.json, JSON.stringify(toDetectionsFile(net, 'ann', res.images), null, 1) + '\n');
    if (args['dump-raw'] && res.firstRaw) {
      const r = res.firstRaw;
      writeFileAtomic(args['dump-raw'], JSON.stringify({ layer: r.layer, shape: r.shape, data: Array.from(r.data) }) + '\n');
    }
  },
};
