import { statSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { calibrate } from '../convert/calibrate.ts';
import { convertNetworkWithReport, DEFAULT_LAMBDA_FLOOR, DEFAULT_POOL, DEFAULT_READOUT_START, DEFAULT_V_INIT, defaultSettings, describeSettings } from '../convert/convert.ts';
import { absoluteModelSpec } from '../convert/from-model.ts';
import { lambdaRange } from '../convert/normalize.ts';
import { saveSnn } from '../convert/snn-file.ts';
import { formatNirNotes, snnToNir } from '../convert/nir-export.ts';
import { describeCalibration } from '../model/evalset.ts';
import { isNirFile, nirReady, writeNirSync } from '../model/nir.ts';
import { loadModel } from '../model/load.ts';
import { formatTable, thousands } from '../report/table.ts';
import { fail } from '../util/errors.ts';
import { BURST_DESCRIBE, SIGMA_DELTA_DESCRIBE, LAMBDA_SIDE_DESCRIBE, modelOptions, snnSettingsFrom } from './options.ts';

interface ConvertArgs {
  model: string;
  weights?: string;
  size?: number;
  names?: string;
  calib: string[];
  norm: string;
  statistic?: string;
  neuron: string;
  reset: string;
  input: string;
  'fuse-linear': boolean;
  vth: number;
  out: string;
  pool?: string;
  'v-init'?: number;
  'readout-start'?: number;
  'lambda-floor'?: number;
  'lambda-headroom'?: number;
  'lambda-side'?: string;
  burst?: number;
  'sigma-delta'?: boolean;
  'nir-keep-groups'?: boolean;
}

const fmt = (x: number) => (x === 0 ? '0' : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(3) : x.toPrecision(4));

export const convertCommand: CommandModule<object, ConvertArgs> = {
  command: 'convert',
  describe: 'Convert a detector into a spiking network (Spiking-YOLO: channel-wise normalization, IBT neurons) and write it to a .snn file or a NIR graph (.nir)',
  builder: (y) =>
    modelOptions(y)
      .option('calib', { type: 'string', array: true, demandOption: true, describe: 'calibration images (JPEG/PNG): λ comes from the ANN\'s activations on them' })
      .option('norm', { type: 'string', choices: ['channel', 'layer', 'percentile'], default: 'channel', describe: 'channel: per output channel (Kim 2020); layer: one λ per layer (Diehl 2015); percentile: one λ per layer at a percentile (Rueckauer 2017)' })
      .option('statistic', { type: 'string', describe: 'max, or a percentile such as 99.9 or 99.99 (default: max; 99.9 for --norm percentile). The paper\'s channel-wise rule uses the max; the lab code also offers 99.9' })
      .option('neuron', { type: 'string', choices: ['ibt', 'if'], default: 'ibt', describe: 'leaky layers: ibt (signed, imbalanced threshold −Vth/α) or if (positive spikes only)' })
      .option('reset', { type: 'string', choices: ['subtract', 'zero'], default: 'subtract', describe: 'membrane reset after a spike' })
      .option('input', { type: 'string', choices: ['analog', 'poisson'], default: 'analog', describe: 'input coding: analog (the image as a current every tick) or seeded Poisson spikes' })
      .option('fuse-linear', { type: 'boolean', default: false, describe: 'fold a linear conv (face-api\'s depthwise) into the 1x1 conv after it; default false (measured faster convergence, 7x fewer SOPs): kept as signed neurons' })
      .option('vth', { type: 'number', default: 1, describe: 'threshold voltage (normalized units)' })
      .option('pool', { type: 'string', choices: ['gate', 'max'], describe: `spike max-pool: max (the output's count follows the window's highest count) or gate (the current winner's spikes) (default ${DEFAULT_POOL})` })
      .option('v-init', { type: 'number', describe: `initial membrane as a fraction of the threshold, in [0, 1) (default ${DEFAULT_V_INIT})` })
      .option('readout-start', { type: 'number', describe: `readout warm-up: the detection layer integrates afresh after this tick (default ${DEFAULT_READOUT_START})` })
      .option('lambda-floor', { type: 'number', describe: `channel-wise λ floor as a fraction of the layer's largest λ, in [0, 1] (default ${DEFAULT_LAMBDA_FLOOR})` })
      .option('lambda-headroom', { type: 'number', describe: 'every λ × this, in [1, 100]: unseen photos clip less, the rate code is coarser (default 1)' })
      .option('lambda-side', { type: 'string', choices: ['positive', 'both'], describe: `${LAMBDA_SIDE_DESCRIBE} (default positive)` })
      .option('burst', { type: 'number', describe: BURST_DESCRIBE })
      .option('sigma-delta', { type: 'boolean', describe: SIGMA_DELTA_DESCRIBE })
      .option('out', { type: 'string', demandOption: true, describe: 'the file to write: a .snn file, or a NIR graph when it ends in .nir' })
      .option('nir-keep-groups', { type: 'boolean', default: false, describe: 'NIR export: keep grouped/depthwise convs as Conv2d with groups > 1 (default: dense block-diagonal weights, which NIR\'s reader and importers handle)' })
      .example('$0 convert --model face --size 224 --calib node_modules/@vladmandic/face-api/demo/sample*.jpg --out face224.snn', 'the face detector, channel-wise max, IBT neurons')
      .example('$0 convert --model face --calib a.jpg b.jpg --norm layer --neuron if --out face-layer-if.snn', 'the paper\'s baseline: layer-wise max, IF neurons')
      .example('$0 convert --model yolov2-tiny-voc --weights yolov2-tiny-voc.weights --calib voc/*.jpg --norm percentile --statistic 99.99 --out tiny.snn', 'Tiny YOLO v2, robust layer-wise normalization')
      .example('$0 convert --model face --size 224 --calib node_modules/@vladmandic/face-api/demo/sample*.jpg --neuron if --reset zero --out face224.nir', 'a NIR graph for Sinabs, Norse, Lava, snnTorch...: prints what they will run differently') as never,
  handler: async (args) => {
    const settings = defaultSettings({
      ...snnSettingsFrom(args),
      reset: args.reset as 'subtract' | 'zero',
      input: args.input as 'analog' | 'poisson',
      fuseLinear: args['fuse-linear'],
      vth: args.vth,
    });
    if (!(settings.vth > 0) || !Number.isFinite(settings.vth)) fail('--vth', `${args.vth} must be a positive number`);
    const calib = (args.calib ?? []).map(String);
    if (calib.length === 0) fail('--calib', 'give at least one calibration image');
    const net = loadModel({ model: args.model, weights: args.weights, size: args.size, names: args.names });
    const t0 = performance.now();
    const stats = calibrate(net, calib, {
      onImage: (i, n, f, ms) => process.stderr.write(`calibrate [${i + 1}/${n}] ${f} (${ms.toFixed(0)} ms)\n`),
    });
    const calibS = (performance.now() - t0) / 1000;
    const { snn, report } = convertNetworkWithReport(net, stats, settings, calib);
    snn.annSpec = absoluteModelSpec({ model: args.model, weights: args.weights, size: args.size, names: args.names });
    const nir = isNirFile(args.out);
    let nirNotes: ReturnType<typeof snnToNir> | null = null;
    if (nir) {
      await nirReady();
      nirNotes = snnToNir(snn, { keepGroups: args['nir-keep-groups'] });
      writeNirSync(args.out, nirNotes.file);
    } else saveSnn(args.out, snn);

    process.stdout.write(
      `neuroemu convert — model ${net.name} (${net.source}), input ${net.input.w}x${net.input.h}\n` +
        `settings: ${describeSettings(settings)} (λ_in = 1), ` +
        `fuse-linear ${settings.fuseLinear}, vth ${settings.vth}\n` +
        `calibration: ${describeCalibration(calib)} in ${calibS.toFixed(2)} s; percentiles from log histograms, nearest rank over non-zero values, ≤0.5 % error\n\n`,
    );
    const rows = report.map((r) => {
      const l = snn.layers[r.snnIndex];
      const g = lambdaRange(l.lambda);
      const notes = [r.deadChannels ? `${r.deadChannels} dead ch. (fallback λ)` : '', r.negSaturated ? `${r.negSaturated} ch. |min| > λ` : ''].filter(Boolean).join('; ');
      return [r.snnIndex, r.name, l.kind, r.rule ?? '', fmt(g.min), fmt(g.median), fmt(g.max), r.lambdaFrom, notes];
    });
    process.stdout.write(
      formatTable(
        [
          { header: '#' }, { header: 'layer', align: 'left' }, { header: 'kind', align: 'left' }, { header: 'rule', align: 'left' },
          { header: 'λ min' }, { header: 'λ median' }, { header: 'λ max' }, { header: 'λ from', align: 'left' }, { header: 'notes', align: 'left' },
        ],
        rows,
      ) + '\n\n',
    );
    const weights = snn.layers.reduce((n, l) => n + (l.kind === 'conv' ? l.weights.length : 0), 0);
    const size = statSync(args.out).size;
    process.stdout.write(`readout: ${snn.readouts.map((r) => `head ${r.head} ← SNN layer ${r.layer}`).join(', ')} (membrane/t × λ = raw output)\n`);
    if (nirNotes) {
      process.stdout.write(`\nNIR graph: what another simulator will run instead of neuroemu (neuroemu's semantics are in each node's metadata, keys neuroemu_*):\n`);
      process.stdout.write(formatNirNotes(nirNotes) + '\n');
      const n = nirNotes.file.graph.nodes.size;
      process.stdout.write(`wrote ${args.out}: NIR ${nirNotes.file.version}, ${n} nodes, ${nirNotes.file.graph.edges.length} edges, ${thousands(size)} bytes\n`);
    } else process.stdout.write(`wrote ${args.out}: ${snn.layers.length} SNN layers, ${thousands(weights)} weights, ${thousands(size)} bytes\n`);
  },
};
