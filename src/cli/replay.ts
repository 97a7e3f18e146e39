/**
 * `neuroemu replay FILE --chip OTHER [--json FILE]`: prices a recorded run (a trace written by
 * `neuroemu run --trace FILE`, format in traces/README.md) on another chip model without re-running
 * the network, and prints the same per-chip figures `neuroemu run` prints (src/hw/report.ts).
 * Refused, with the reason, when the other chip's geometry would map the network differently.
 */
import { resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { loadChip } from '../hw/chip-schema.ts';
import { chipReportJson, chipReportText } from '../hw/report.ts';
import { replayTrace } from '../hw/trace.ts';
import { writeFileAtomic } from '../util/atomic.ts';

interface ReplayArgs {
  file: string;
  chip: string[];
  json?: string;
  layers: boolean;
}

export const replayCommand: CommandModule<object, ReplayArgs> = {
  command: 'replay <file>',
  describe: 'Price a recorded run (--trace) on other chip models with the same core geometry, without re-running the network',
  builder: (y) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'trace file written by `neuroemu run --trace FILE`' })
      .option('chip', { type: 'string', array: true, demandOption: true, describe: 'chip name or chip .json file (NAME@VARIANT for a variant); several allowed' })
      .option('json', { type: 'string', describe: 'write one JSON object per chip (the keys of `run --json`) to this file' })
      .option('layers', { type: 'boolean', default: false, describe: 'also print the energy of every layer' })
      .example('$0 replay face.trace --chip loihi@sana-fe', 'the run recorded on Loihi, priced with the silicon-calibrated figures')
      .example('$0 replay face.trace --chip truenorth --chip truenorth@allin26 --json out.json', 'two TrueNorth energy models') as never,
  handler: async (args) => {
    const out: Record<string, unknown>[] = [];
    for (const name of args.chip.map(String)) {
      const chip = loadChip(name);
      const r = replayTrace(args.file, chip.params);
      process.stdout.write(chipReportText(r, { layers: args.layers, pricedAt: 'F1 as in the recorded run (a replay prices counters, it decodes nothing)' }) + '\n');
      out.push({ ...chipReportJson(r), replay: { trace: resolve(args.file) } });
    }
    if (args.json) {
      writeFileAtomic(args.json, JSON.stringify(out.length === 1 ? out[0] : out, null, 1) + '\n');
      process.stdout.write(`wrote ${resolve(args.json)}\n`);
    }
  },
};
