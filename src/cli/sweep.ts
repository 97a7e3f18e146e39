/**
 * `neuroemu sweep`: a design-space sweep over chip fields and run settings (src/sweep), and
 * `neuroemu sweep merge`: joins the files of a sharded sweep.
 */
import type { Argv, CommandModule } from 'yargs';
import { readResults, formatResults } from '../sweep/results.ts';
import { mergeResults } from '../sweep/results.ts';
import { DEFAULT_MAX_POINTS, MAX_POINTS, parseAxes, parseShard, type RunSettings } from '../sweep/space.ts';
import { axesOfRows, runSweep, sweepIdentity, sweepOutputs, writeSweepReport, type SweepOptions } from '../sweep/sweep.ts';
import { chooseShards, DEFAULT_MAX_SHARDS, k8sIndexedJob, shardLoads, slurmScript, type ClusterPlan } from '../sweep/cluster.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { chmodSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fail } from '../util/errors.ts';
import { nirDt } from '../convert/nir-input.ts';
import { checkCandidateThreshold, checkTimesteps, modelOptions, nirInputOptions, parseStatistic, placementOption, snnOptions, snnSettingsFrom, DEFAULT_RUN_TICKS } from './options.ts';

interface SweepArgs {
  model: string;
  weights?: string;
  size?: number;
  names?: string;
  images?: string[];
  chip: string;
  vary?: string[];
  timesteps: number;
  thresholds?: string;
  norm: string;
  statistic?: string;
  neuron: string;
  pool?: string;
  'v-init'?: number;
  'readout-start'?: number;
  'lambda-floor'?: number;
  'lambda-headroom'?: number;
  'lambda-side'?: string;
  burst?: number;
  'sigma-delta'?: boolean;
  placement: string;
  calib?: string[];
  seed: number;
  'auto-board': boolean;
  'candidate-threshold': number;
  workers: number;
  out: string;
  shard?: string;
  'max-points': number;
  emit?: string[];
  shards?: number;
  sbatch?: string[];
  'input-rate'?: string;
  'input-events'?: string;
  'nir-dt'?: number;
}

interface MergeArgs {
  files: string[];
  out: string;
}

const mergeCommand: CommandModule<object, MergeArgs> = {
  command: 'merge <files..>',
  describe: 'Join the results files of a sharded sweep; refuses when a point is missing or duplicated',
  builder: (y) =>
    y
      .positional('files', { type: 'string', array: true, demandOption: true, describe: 'the shards\' results CSVs' })
      .option('out', { type: 'string', demandOption: true, describe: 'merged results CSV (summary and plots are written beside it)' })
      .example('$0 sweep merge shards/results-*.csv --out results.csv', 'after a Slurm array of `sweep --shard $SLURM_ARRAY_TASK_ID/8`') as never,
  handler: (args) => {
    const files = args.files.map(String);
    const merged = mergeResults(files.map((file) => ({ file, results: readResults(file) })));
    const out = sweepOutputs(args.out);
    writeFileAtomic(out.csv, formatResults(merged.columns, merged.rows));
    const meta = axesOfRows(merged.rows);
    writeSweepReport(merged.rows, out, { sweep: merged.sweep, points: merged.points, base: meta.base, axes: meta.axes, seed: meta.seed, fixed: { ...meta.fixed, merged_from: files } });
    process.stdout.write(`merged ${files.length} files: ${merged.points} points of sweep ${merged.sweep}, none missing or duplicated\n`);
    for (const f of Object.values(out)) process.stdout.write(`wrote ${f}\n`);
  },
};

/** The sweep's options are not merge's: yargs makes options global unless told (its types omit the flag). */
const notGlobal = <T>(y: Argv<T>): Argv<T> => (y as unknown as { global(keys: string[], global: boolean): Argv<T> }).global(SWEEP_OPTIONS, false);

/** The options that define a sweep, in the order a cluster script's tasks spell them (sweepArgsOf). */
const SWEEP_DEFINING_OPTIONS = [
  'chip', 'vary', 'model', 'weights', 'size', 'names', 'images', 'calib', 'timesteps', 'thresholds', 'norm', 'statistic', 'neuron',
  'pool', 'v-init', 'readout-start', 'lambda-floor', 'lambda-headroom', 'lambda-side', 'burst', 'sigma-delta', 'placement', 'seed', 'auto-board', 'candidate-threshold', 'workers', 'max-points',
  'input-rate', 'input-events', 'nir-dt',
] as const;
const SWEEP_OPTIONS = [...SWEEP_DEFINING_OPTIONS, 'out', 'shard', 'emit', 'shards', 'sbatch'];

export const sweepCommand: CommandModule<object, SweepArgs> = {
  command: 'sweep',
  describe: 'Design-space sweep: the cross product of chip fields and run settings, priced by emulation or trace replay; resumable, shardable',
  builder: (y: Argv<object>) => notGlobal(
    nirInputOptions(placementOption(snnOptions(modelOptions(y))))
      .command(mergeCommand as never)
      .option('chip', { type: 'string', default: 'loihi', describe: 'base chip: a name (chips/), a chip .json file, NAME@VARIANT' })
      .option('vary', {
        type: 'string', array: true,
        describe: 'PATH=a,b,c or PATH=LO:HI:STEP (inclusive); PATH is a chip field (core.neurons, energy.synop_pJ, timing.synop_ns, noc.multicast, ...) or timesteps, thresholds, norm, statistic, neuron, placement; repeat for a cross product',
      })
      .option('images', { type: 'string', array: true, describe: 'frames (default: the six face-api sample photos)' })
      .option('timesteps', { type: 'number', default: DEFAULT_RUN_TICKS, describe: 'ticks per frame, when not varied' })
      .option('thresholds', { type: 'string', describe: 'threshold file of `neuroemu tune`, when not varied' })
      .option('auto-board', { type: 'boolean', default: true, describe: 'when the chip\'s board is too small, use the smallest square board that fits' })
      .option('candidate-threshold', { type: 'number', default: 0.05, describe: 'score threshold of the SNN detections scored for AP against the ANN' })
      .option('workers', { type: 'number', default: 2, describe: 'simulations in parallel (worker threads); 0: in this thread' })
      .option('out', { type: 'string', default: 'sweep.csv', describe: 'results CSV, appended row by row; re-running the same command resumes it. OUT.summary.json, OUT.pareto.svg, OUT.ap.svg beside it' })
      .option('max-points', { type: 'number', default: DEFAULT_MAX_POINTS, describe: `refuse a cross product of more points than this before anything runs (at most ${MAX_POINTS.toLocaleString('en-US')})` })
      .option('shard', { type: 'string', describe: 'I/N: run the I-th of N disjoint slices (I from 0; whole simulation groups when there are at least N), e.g. --shard $SLURM_ARRAY_TASK_ID/8' })
      .option('emit', { type: 'string', nargs: 2, describe: 'slurm FILE | k8s FILE: write the cluster script of this sweep (shards, tasks, merge) instead of running it' })
      .option('shards', { type: 'number', describe: `with --emit: the number of shards (default: one per simulation group, at most ${DEFAULT_MAX_SHARDS})` })
      .option('sbatch', { type: 'string', array: true, describe: 'with --emit slurm: extra #SBATCH options as KEY=VALUE, e.g. --sbatch time=02:00:00 --sbatch partition=cpu' })
      .example('$0 sweep --chip loihi --vary core.neurons=256,512,1024 --vary energy.synop_pJ=10:30:5 --out loihi.csv', '3 × 5 points: 3 simulations, 12 more priced by replay')
      .example('$0 sweep --vary timesteps=32,64,128 --vary noc.multicast=true,false', 'ticks and multicast routing')
      .example('$0 sweep --model cnn_sinabs.nir --input-rate 0.25 --timesteps 32 --vary core.neurons=256,1024', 'a NIR graph (from Sinabs, snnTorch, Norse, Lava) swept like a converted detector, without AP')
      .example('$0 sweep --vary energy.synop_pJ=10:30:5 --shard 0/4 --out part-0.csv', 'one of four shards; then `sweep merge part-*.csv --out all.csv`')
      .example('$0 sweep --vary core.neurons=256,512,1024 --out loihi.csv --emit slurm loihi.sbatch', 'the Slurm job array and merge job of that sweep; `bash loihi.sbatch` submits them'),
  ) as never,
  handler: async (args) => {
    const maxPoints = args['max-points'];
    if (!(Number.isInteger(maxPoints) && maxPoints >= 1 && maxPoints <= MAX_POINTS)) fail('--max-points', `${maxPoints} must be an integer in 1..${MAX_POINTS}`);
    const axes = parseAxes((args.vary ?? []).map(String), maxPoints);
    if (axes.length === 0) fail('--vary', 'name at least one field to vary, e.g. --vary energy.synop_pJ=10:30:5');
    const norm = args.norm;
    const fixed: RunSettings = {
      timesteps: checkTimesteps(args.timesteps),
      thresholds: args.thresholds ?? null,
      norm,
      statistic: args.statistic === undefined ? null : parseStatistic(args.statistic, norm as never),
      neuron: args.neuron,
      placement: args.placement,
    };
    if (!Number.isInteger(args.workers) || args.workers < 0) fail('--workers', `${args.workers} must be an integer >= 0`);
    checkCandidateThreshold(args['candidate-threshold']);
    const t0 = performance.now();
    // the shared conversion flags (norm, statistic and neuron are run fields, varied or fixed above)
    const { pool, vInit, readoutStart, lambdaFloor, lambdaHeadroom, lambdaSide, burst, sigmaDelta } = snnSettingsFrom({ ...args, neuron: 'ibt' });
    const conversion = Object.fromEntries(Object.entries({ pool, vInit, readoutStart, lambdaFloor, lambdaHeadroom, lambdaSide, burst, sigmaDelta }).filter(([, v]) => v !== undefined));
    const options: SweepOptions = {
      chip: args.chip, axes, fixed, conversion,
      model: { model: args.model, weights: args.weights, size: args.size, names: args.names },
      nir: { rate: args['input-rate'], events: args['input-events'], dtS: nirDt(args['nir-dt']) },
      images: args.images?.map(String), calib: args.calib?.map(String), seed: args.seed,
      autoBoard: args['auto-board'], candidateThreshold: args['candidate-threshold'], workers: args.workers,
      out: args.out, shard: parseShard(args.shard),
      onProgress: (line) => process.stderr.write(`${line}\n`),
    };
    if (args.emit) return emitClusterScript(args, options);
    for (const flag of ['shards', 'sbatch'] as const) if (args[flag] !== undefined) fail(`--${flag}`, 'only with --emit slurm|k8s FILE');
    const r = await runSweep(options);
    const s = (performance.now() - t0) / 1000;
    process.stdout.write(
      `sweep ${r.sweep}: ${r.shardPoints} of ${r.points} points${r.skipped ? ` (${r.skipped} were already in ${args.out})` : ''}; this run: ${r.simulated} simulated, ` +
        `${r.replayed} more priced by replaying their traces${r.refused ? `, ${r.refused} refused by the mapper` : ''}, ${s.toFixed(1)} s\n` +
        (r.complete ? '' : 'incomplete: re-run the same command to finish it\n'),
    );
    for (const f of Object.values(r.files)) process.stdout.write(`wrote ${f}\n`);
  },
};

/**
 * The sweep's own command line, for the tasks of a cluster script: every option that defines the
 * sweep, with its parsed value (options without a default only when given, so the tasks compute
 * the same sweep id as this command), never --shard, --out or --emit.
 */
function sweepArgsOf(args: SweepArgs): string[] {
  const out = ['sweep'];
  for (const key of SWEEP_DEFINING_OPTIONS) {
    const v = (args as unknown as Record<string, unknown>)[key];
    if (v === undefined) continue;
    if (typeof v === 'boolean') out.push(v ? `--${key}` : `--no-${key}`);
    else if (Array.isArray(v)) {
      if (key === 'vary') for (const x of v) out.push('--vary', String(x)); // one --vary per axis
      else if (v.length) out.push(`--${key}`, ...v.map(String));
    } else out.push(`--${key}`, String(v));
  }
  return out;
}

/** `--emit slurm|k8s FILE`: validates the sweep, chooses the shards, writes the script; runs nothing. */
function emitClusterScript(args: SweepArgs, options: SweepOptions): void {
  const [kind, file] = (args.emit ?? []).map(String);
  if (kind !== 'slurm' && kind !== 'k8s') fail('--emit', `"${kind}": expected slurm or k8s, then the file to write (--emit slurm sweep.sbatch)`);
  if (!file) fail('--emit', `${kind}: give the file to write (--emit ${kind} FILE)`);
  if (args.shard !== undefined) fail('--emit', 'writes the script of every shard; leave out --shard');
  if (args.shards !== undefined && !(Number.isInteger(args.shards) && args.shards >= 1 && args.shards <= 10_000)) fail('--shards', `${args.shards} must be an integer in 1..10000`);
  const sbatch = (args.sbatch ?? []).map(String);
  if (kind !== 'slurm' && sbatch.length) fail('--sbatch', 'only with --emit slurm');
  for (const kv of sbatch) if (!/^[a-z][a-z-]*=\S+$/.test(kv)) fail('--sbatch', `"${kv}": expected KEY=VALUE without spaces, e.g. time=02:00:00 (written as #SBATCH --time=02:00:00)`);
  if (/\s/.test(process.cwd())) fail('--emit', `the working directory "${process.cwd()}" has white space, which #SBATCH --chdir cannot carry`);
  const identity = sweepIdentity(options);
  const shards = chooseShards(identity.groups, args.shards);
  const loads = shardLoads(identity, shards);
  const idle = loads.filter((l) => l.points === 0).length;
  if (idle) fail('--shards', `${shards} shards for ${identity.total} points: ${idle} would have nothing to do (at most ${identity.total})`);
  const stem = args.out.replace(/\.csv$/i, '');
  const plan: ClusterPlan = {
    id: identity.id, base: identity.baseName, points: identity.total, groups: identity.groups, shards, loads, frames: identity.frames,
    sweepArgs: sweepArgsOf(args), cwd: process.cwd(), neuroemu: realpathSync(fileURLToPath(new URL('../../bin/neuroemu', import.meta.url))),
    out: args.out, shardDir: `${stem}.shards`, cpusPerTask: Math.max(1, args.workers), sbatch,
  };
  writeFileAtomic(file, kind === 'slurm' ? slurmScript(plan) : k8sIndexedJob(plan));
  if (kind === 'slurm') chmodSync(file, 0o755);
  const busiest = loads.reduce((a, l) => (l.ticks > a.ticks ? l : a), loads[0]);
  process.stdout.write(
    `sweep ${identity.id}: ${identity.total} points in ${identity.groups} simulation group${identity.groups === 1 ? '' : 's'} → ${shards} shard${shards === 1 ? '' : 's'}` +
      ` (busiest: shard ${busiest.shard}, ${busiest.groups} group${busiest.groups === 1 ? '' : 's'}, ${busiest.ticks} ticks × ${identity.frames} frames)\n` +
      `wrote ${file}: ${kind === 'slurm' ? `\`bash ${file}\` submits the array and the merge job (afterok) into ${args.out}` : `an Indexed Job of ${shards} completions; merge into ${args.out} when it completes (see its header)`}\n`,
  );
}
