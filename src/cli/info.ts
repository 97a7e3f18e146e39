import type { CommandModule } from 'yargs';
import { isSnnModel, loadAnnModel } from '../convert/from-model.ts';
import { loadModel } from '../model/load.ts';
import { networkStats } from '../model/stats.ts';
import { formatTable, thousands } from '../report/table.ts';
import { shortenPaths } from '../report/paths.ts';
import { modelOptions } from './options.ts';

interface InfoArgs {
  model: string;
  weights?: string;
  size?: number;
  names?: string;
  json?: boolean;
}

export const infoCommand: CommandModule<object, InfoArgs> = {
  command: 'info [model]',
  describe: 'Per-layer table of a model: type, kernel, stride, groups, shapes, parameters, MACs',
  builder: (y) =>
    modelOptions(y)
      .positional('model', { type: 'string', default: 'face', describe: 'model (same as --model)' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON instead of a table' })
      .example('$0 info yolov2-tiny-voc', 'darknet Tiny YOLO v2 VOC at its cfg size (416): 6.97 BFLOPs')
      .example('$0 info face --size 224', 'the face detector at 224x224') as never,
  handler: (args) => {
    const net = isSnnModel(args.model) ? loadAnnModel({ model: args.model }) : loadModel({ model: args.model, weights: args.weights, size: args.size, names: args.names, weightsOptional: true, keepBatchNorm: true });
    const st = networkStats(net);
    if (args.json) {
      process.stdout.write(JSON.stringify({ model: net.name, source: net.source, input: net.input, params: st.params, macs: st.macs, flops: st.flops, layers: st.layers }, null, 2) + '\n');
      return;
    }
    const rows = st.layers.map((l) => [l.index, l.name.replace(/^\d+ /, ''), l.kernel, l.groups > 1 ? l.groups : '', l.inShape, l.outShape, l.params ? thousands(l.params) : '', l.macs ? thousands(l.macs) : '']);
    process.stdout.write(`${net.name}  (${shortenPaths(net.source)})\ninput ${net.input.w}x${net.input.h}x${net.input.c}\n\n`);
    process.stdout.write(
      formatTable(
        [{ header: '#' }, { header: 'layer', align: 'left' }, { header: 'kernel', align: 'left' }, { header: 'groups' }, { header: 'input' }, { header: 'output' }, { header: 'params' }, { header: 'MACs' }],
        rows,
      ) + '\n\n',
    );
    process.stdout.write(`total: ${thousands(st.params)} parameters, ${thousands(st.macs)} MACs = ${(st.flops / 1e9).toFixed(3)} BFLOPs (2 FLOPs per MAC; pooling, route and heads not counted, as darknet counts)\n`);
  },
};
