/** Option groups shared by several commands, so every command spells them the same way. */
import type { Argv } from 'yargs';

export function modelOptions<T>(y: Argv<T>) {
  return y
    .option('model', {
      type: 'string',
      default: 'face',
      describe: 'face (face-api TinyFaceDetector), a tfjs manifest .json, a darknet .cfg, or a bundled cfg name (yolov2-tiny-voc, yolov2-tiny, yolov3-tiny)',
    })
    .option('weights', { type: 'string', describe: 'darknet .weights file, or synthetic[:SEED] for seeded stand-in weights' })
    .option('size', { type: 'number', describe: 'network input size (square, multiple of 32); default: the model\'s own' })
    .option('names', { type: 'string', describe: 'class names file, one per line (default: VOC or COCO names by class count)' });
}
