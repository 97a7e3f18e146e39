import type { CommandModule } from 'yargs';
import { loadAnnModel } from '../convert/from-model.ts';
import { detectImagesAnn, toDetectionsFile } from '../detect/ann-detect.ts';
import { faceSamplePhotos } from '../model/faceapi.ts';
import { networkStats } from '../model/stats.ts';
import { formatTable, thousands } from '../report/table.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { fail } from '../util/errors.ts';
import { shortenPaths } from '../report/paths.ts';
import { modelOptions } from './options.ts';

interface RunArgs {
  model: string;
  weights?: string;
  size?: number;
  names?: string;
  images?: string[];
  json?: string;
}

/**
 * The main job. Today: ANN detection and the model's MAC/FLOP cost on the built-in default (the
 * face detector on the face-api sample photos). The spiking emulation on chip models joins it as
 * those pieces land.
 */
export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'The main job on the built-in default: ANN detections and the model\'s MAC/FLOP cost per frame',
  builder: (y) =>
    modelOptions(y)
      .option('images', { type: 'string', array: true, describe: 'images (default: the six face-api sample photos)' })
      .option('json', { type: 'string', describe: 'write the detections JSON to this file' })
      .example('$0 run', 'face detector on the bundled sample photos')
      .example('$0 run --model yolov2-tiny-voc --weights synthetic:1 --images dog.jpg', 'Tiny YOLO v2 with stand-in weights') as never,
  handler: async (args) => {
    const net = loadAnnModel({ model: args.model, weights: args.weights, size: args.size, names: args.names });
    const images = args.images && args.images.length ? args.images : net.format === 'face-api' ? faceSamplePhotos() : [];
    if (images.length === 0) fail('--images', 'no images given (the sample photos are the default only for the face detector)');
    const started = Date.now();
    const res = await detectImagesAnn(net, images, { onImage: (i, f) => process.stderr.write(`[${i + 1}/${images.length}] ${f}\n`) });
    const seconds = (Date.now() - started) / 1000;
    const st = networkStats(net);
    process.stdout.write(`neuroemu run — model ${net.name} (${shortenPaths(net.source)}), input ${net.input.w}x${net.input.h}, engine: ANN (WASM SIMD)\n\n`);
    const rows = res.images.map((im) => [
      im.file.replace(/^.*\//, ''),
      `${im.width}x${im.height}`,
      im.detections.length,
      im.detections.map((d) => `${d.className} ${d.score.toFixed(2)} [${Math.round(d.x)},${Math.round(d.y)},${Math.round(d.w)},${Math.round(d.h)}]`).join('; '),
    ]);
    process.stdout.write(formatTable([{ header: 'image', align: 'left' }, { header: 'size' }, { header: 'boxes' }, { header: 'detections (class score [x,y,w,h] in pixels)', align: 'left' }], rows) + '\n\n');
    process.stdout.write(`cost per frame: ${thousands(st.macs)} MACs = ${(st.flops / 1e9).toFixed(3)} GFLOP (2 FLOPs per MAC, convolutions only), ${thousands(st.params)} parameters\n`);
    process.stdout.write(`frames: ${images.length}\n`);
    // host timing varies run to run: stderr, so stdout stays byte-identical
    process.stderr.write(`host wall time ${seconds.toFixed(2)} s (${(images.length / seconds).toFixed(1)} frames/s, decode included)\n`);
    if (args.json) writeFileAtomic(args.json, JSON.stringify(toDetectionsFile(net, 'ann', res.images), null, 1) + '\n');
  },
};
