import yargs from 'yargs';
import { UserError } from '../util/errors.ts';
import { refuseOutputsOverInputs } from '../util/atomic.ts';
import { commands } from './commands.ts';
import { expandImageList } from '../model/evalset.ts';

/** flags that name files a command writes, and flags or positionals that name files it reads */
const OUTPUT_FLAGS = ['json', 'csv', 'svg', 'map-svg', 'trace', 'out', 'dump-raw', 'emit'] as const;
const INPUT_FLAGS = ['images', 'calib', 'holdout', 'model', 'weights', 'names', 'reference', 'truth', 'thresholds', 'chip', 'detections', 'file', 'trace-file', 'files'] as const;

/** Builds the yargs parser; tests drive the CLI through this without spawning a process. */
export function buildCli(argv: string[]) {
  return yargs(argv)
    .scriptName('neuroemu')
    .usage('$0 <command> [options]\n\nNeuromorphic hardware emulator for Spiking-YOLO detectors.')
    .command(commands)
    // image-set names (@evalset, @evalset:tune, @evalset:test, @samples) in any image list
    .middleware((args) => {
      // one numeric-flag check for every command: yargs turns "abc" into NaN for a number option
      for (const [key, v] of Object.entries(args)) {
        if (key === '_' || key === '$0' || key.includes('-') === false && /[A-Z]/.test(key)) continue;
        const vals = Array.isArray(v) ? v : [v];
        if (vals.some((x) => typeof x === 'number' && Number.isNaN(x))) throw new UserError(`--${key}: not a number`);
        // a string flag given without its value (`--reference` at the end of the line) would be ignored silently
        if (vals.some((x) => x === '')) throw new UserError(`--${key}: needs a value`);
      }
      const seed = args.seed;
      if (seed !== undefined && !(typeof seed === 'number' && Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32)) throw new UserError(`--seed: ${String(seed)} must be an integer in [0, 2^32)`);
      // an output path that names an input file would destroy it
      const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);
      const outputs = OUTPUT_FLAGS.flatMap((k) => strings(args[k]).map((p): [string, string] => [`--${k}`, p]));
      if (outputs.length) refuseOutputsOverInputs(outputs, INPUT_FLAGS.flatMap((k) => strings(args[k])));
      for (const key of ['images', 'calib', 'holdout'] as const) {
        const v = args[key];
        if (Array.isArray(v)) args[key] = expandImageList(v.map(String), key === 'images' && args._?.[0] === 'detect' ? 'images' : `--${key}`);
      }
    })
    .demandCommand(1, 'Name a command; `neuroemu --help` lists them.')
    .strict()
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw new UserError(msg);
    })
    .help()
    .version(false);
}

export async function main(argv: string[]): Promise<void> {
  // `neuroemu info | head` closes stdout early: that is not an error
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  try {
    await buildCli(argv).parseAsync();
  } catch (err) {
    if (err instanceof UserError) {
      process.stderr.write(`neuroemu: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}
