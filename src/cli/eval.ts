/** `neuroemu eval`: score a detections JSON against ground truth or reference detections. */
import { writeFileAtomic } from '../util/atomic.ts';
import type { CommandModule } from 'yargs';
import type { EvalResult, Metric } from '../detect/map.ts';
import { evaluate, METRICS } from '../detect/map.ts';
import type { TruthKind } from '../detect/truth.ts';
import { loadTruth, readDetectionsFile, readNamesFile } from '../detect/truth.ts';
import { formatTable } from '../report/table.ts';
import { fail } from '../util/errors.ts';

interface EvalArgs {
  detections: string;
  truth: string;
  metric: Metric;
  iou?: number;
  names?: string;
  json?: string;
}

const METRIC_TEXT: Record<Metric, string> = {
  voc07: 'VOC2007 11-point AP',
  voc: 'VOC2010+ all-point AP',
  coco: 'COCO AP@[.50:.95], 101-point, max 100 detections per image and class',
};

const KIND_TEXT: Record<TruthKind, string> = {
  'voc-xml': 'VOC XML',
  'yolo-txt': 'YOLO labels',
  'coco-json': 'COCO JSON',
  detections: 'reference detections',
};

export interface EvalRun {
  result: EvalResult;
  /** what stdout shows */
  text: string;
  /** warnings for stderr */
  warnings: string[];
}

/** Loads, evaluates and formats; the command handler only prints. */
export function runEval(args: EvalArgs): EvalRun {
  if (!METRICS.includes(args.metric)) fail('--metric', `must be one of ${METRICS.join(', ')}, got "${args.metric}"`);
  if (args.iou !== undefined) {
    if (args.metric === 'coco') fail('--iou', 'the coco metric averages IoU .50:.95; drop --iou or use --metric voc07|voc');
    if (!Number.isFinite(args.iou) || args.iou <= 0 || args.iou >= 1) fail('--iou', `must be between 0 and 1, got ${args.iou}`);
  }
  const names = args.names ? readNamesFile(args.names) : undefined;
  const dets = readDetectionsFile(args.detections, names);
  const classNames = names ?? dets.classNames;
  const truth = loadTruth(args.truth, dets.images, classNames);
  const result = evaluate(truth.images, dets.images, { metric: args.metric, iou: args.iou ?? 0.5, classNames });

  const iouText = result.iou === null ? 'IoU .50:.95 (>=)' : `IoU > ${result.iou}${args.metric === 'coco' ? '' : ' (+1 pixel areas)'}`;
  const ignored = result.ignoredTruth ? ` (${result.ignoredTruth} difficult/crowd ignored)` : '';
  const lines: string[] = [];
  lines.push(
    `counted: ${METRIC_TEXT[result.metric]}, ${iouText}; ${result.images} images, ${result.detections} detections, ` +
      `${result.truthBoxes} truth boxes${ignored}; truth: ${KIND_TEXT[truth.kind]} ${args.truth}`,
  );
  lines.push('');
  const fmt = (ap: number | null) => (ap === null ? '-' : ap.toFixed(4));
  lines.push(
    formatTable(
      [{ header: 'class', align: 'left' }, { header: 'truth' }, { header: 'ignored' }, { header: 'detections' }, { header: 'AP' }],
      result.perClass.map((c) => [c.className, c.truth, c.ignored, c.detections, fmt(c.ap)]),
    ),
  );
  lines.push('');
  const withTruth = result.perClass.filter((c) => c.ap !== null).length;
  const without = result.perClass.length - withTruth;
  lines.push(
    `mAP ${fmt(result.map)}  (mean over ${withTruth} class${withTruth === 1 ? '' : 'es'} with truth` +
      `${without ? `; ${without} class${without === 1 ? '' : 'es'} without truth excluded` : ''})`,
  );

  const warnings: string[] = [];
  if (result.unmatchedImages.length) {
    const shown = result.unmatchedImages.slice(0, 3).join(', ');
    warnings.push(
      `${result.unmatchedImages.length} detection image(s) have no ground truth and were skipped: ${shown}${result.unmatchedImages.length > 3 ? ', …' : ''}`,
    );
  }
  return { result, text: lines.join('\n') + '\n', warnings };
}

export const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval <detections>',
  describe: 'Average precision of a detections JSON against ground truth (VOC XML, YOLO txt, COCO JSON) or reference detections',
  builder: (y) =>
    y
      .positional('detections', { type: 'string', demandOption: true, describe: 'detections JSON (neuroemu detect --json)' })
      .option('truth', {
        type: 'string',
        demandOption: true,
        describe: 'VOC .xml file or directory, YOLO .txt file or directory, COCO .json, or another detections .json (the reference)',
      })
      .option('metric', { choices: METRICS, default: 'voc07' as Metric, describe: 'voc07: 11-point; voc: all-point; coco: AP@[.5:.95]' })
      .option('iou', { type: 'number', describe: 'IoU threshold for voc07/voc (default 0.5)' })
      .option('names', { type: 'string', describe: 'class names file, one per line: YOLO label ids → names' })
      .option('json', { type: 'string', describe: 'also write the result as JSON to this file' })
      .example('$0 eval ann.json --truth VOCdevkit/VOC2007/Annotations', 'VOC2007 11-point mAP at IoU 0.5')
      .example('$0 eval snn.json --truth ann.json --metric voc', 'the spiking network judged against the ANN detections')
      .example('$0 eval dets.json --truth instances_val2017.json --metric coco --json ap.json', 'COCO AP@[.5:.95]')
      .example('$0 eval dets.json --truth labels/ --names voc.names', 'YOLO label files named after the images') as never,
  handler: (args) => {
    const run = runEval(args);
    for (const w of run.warnings) process.stderr.write(`neuroemu eval: ${w}\n`);
    process.stdout.write(run.text);
    // writeFileAtomic's errors are UserErrors naming the file already
    if (args.json) writeFileAtomic(args.json, JSON.stringify(run.result, null, 2) + '\n');
  },
};
