import { describeSettings } from '../convert/convert.ts';
import { availableParallelism } from 'node:os';
import type { CommandModule } from 'yargs';
import { absoluteModelSpec, snnFromModel } from '../convert/from-model.ts';
import { detectImagesAnn } from '../detect/ann-detect.ts';
import { loadChip, type Chip } from '../hw/chip-schema.ts';
import { imageKey, truthFromDetections, type TruthImage } from '../detect/map.ts';
import { loadImage } from '../image/decode.ts';
import { preprocess } from '../image/preprocess.ts';
import { describeCalibration } from '../model/evalset.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { fail, UserError } from '../util/errors.ts';
import {
  bestSoFarSvg, DEFAULT_BOUNDS, DEFAULT_GROUPS, DEFAULT_OBJECTIVE, DEFAULT_RATIO_BOUNDS, evaluationsCsv, formatTuneReport, priceHoldout, progressLine, tuneThresholds,
  type EnergyPoint, type HoldoutEnergy, type ScoreMetric, type TuneResult,
} from '../tune/threshold.ts';
import { THRESHOLDS_FORMAT, THRESHOLDS_VERSION, writeThresholdsFile, type ThresholdsFile } from '../tune/thresholds-file.ts';
import { EvalPool, type PreparedImage } from '../tune/workers.ts';
import { checkTimesteps, modelOptions, placementOption, snnOptions, snnSettingsFrom } from './options.ts';
import type { PlacementOrder } from '../hw/mapper.ts';

interface TuneArgs {
  model: string;
  score: string;
  placement: string;
  weights?: string;
  size?: number;
  names?: string;
  norm: string;
  statistic?: string;
  neuron: string;
  calib?: string[];
  seed: number;
  images: string[];
  holdout: string[];
  timesteps: number;
  budget: number;
  'two-phase': boolean;
  groups: number;
  bounds: string;
  'ratio-bounds': string;
  compensate: boolean;
  'w-sop': number;
  'w-lat': number;
  target: number;
  'lat-ref': string;
  'ap-window': number;
  'lat-rule': string;
  'ann-threshold'?: number;
  'candidate-threshold': number;
  'report-timesteps'?: number;
  baseline: boolean;
  chip: string[];
  workers: number;
  batch: number;
  out: string;
  csv?: string;
  svg?: string;
}

function parsePair(s: string, flag: string): [number, number] {
  const v = String(s).split(',').map((x) => Number(x.trim()));
  if (v.length !== 2 || !v.every((x) => Number.isFinite(x) && x > 0) || !(v[1] > v[0])) fail(flag, `"${s}" must be LO,HI with 0 < LO < HI`);
  return [v[0], v[1]];
}

const round = (v: number, d = 6) => Number(v.toFixed(d));

/** Default chips of the energy pricing: those of `neuroemu run --chip`. */
export const DEFAULT_TUNE_CHIPS = ['truenorth', 'loihi'];

/** --chip: chip names or files, loaded now so that a bad one fails before the search; none (or no name): no pricing. */
function parseChips(list: readonly unknown[] | undefined): { name: string; chip: Chip }[] {
  const names = (list ?? []).map((c) => String(c).trim()).filter((c) => c !== '');
  if (names.length === 1 && names[0] === 'none') return [];
  if (names.includes('none')) fail('--chip', 'none (no energy pricing) cannot be combined with chip names');
  const dup = names.find((c, i) => names.indexOf(c) !== i);
  if (dup !== undefined) fail('--chip', `${dup} is given twice`);
  return names.map((name) => {
    try {
      return { name, chip: loadChip(name) };
    } catch (e) {
      if (e instanceof UserError) fail('--chip', e.message);
      throw e;
    }
  });
}

const energyPointJson = (p: EnergyPoint | null) =>
  p === null ? { ticks: null, energyPerFrameJ: null, latencyPerFrameS: null } : { ticks: p.ticks, energyPerFrameJ: p.energyPerFrameJ, latencyPerFrameS: p.latencyPerFrameS };

/** The energy figures as the thresholds file's report.energy records them. */
function energyJson(en: HoldoutEnergy) {
  return {
    what: 'mean over the held-out frames of the energy and latency of ticks 1..t, each network emulated as `neuroemu run` does (chip file constants); t = the ticks it needs to reach each target (null: not reached within the report ticks) and T',
    frames: en.frames, seed: en.seed, autoBoard: en.autoBoard, placement: en.placement, timesteps: en.timesteps, reportTimesteps: en.reportTimesteps,
    chips: en.chips.map((c) => ({
      chip: c.chip, file: c.file, ...(c.variant ? { variant: c.variant } : {}), cores: c.cores, chips: c.chips,
      networks: c.networks.map((n) => ({
        network: n.label,
        atT: energyPointJson(n.atT),
        reach: n.reach.map((x) => ({ target: x.target, ...energyPointJson(x.point) })),
      })),
    })),
  };
}

/** The thresholds file of a tuning run (the BO optimum). */
function thresholdsFileOf(r: TuneResult, meta: { model: ThresholdsFile['model']; network: ThresholdsFile['network']; settings: ThresholdsFile['settings']; args: TuneArgs; annThreshold: number; calibration: string[]; energy?: HoldoutEnergy }): ThresholdsFile {
  const a = r.best.assignment;
  const o = r.best.objective;
  const sp = r.space.opts;
  return {
    format: THRESHOLDS_FORMAT,
    version: THRESHOLDS_VERSION,
    model: meta.model,
    network: meta.network,
    settings: meta.settings,
    compensate: a.compensate,
    twoPhase: sp.twoPhase,
    ...(a.tSwitch !== undefined ? { tSwitch: a.tSwitch } : {}),
    timesteps: r.timesteps,
    layers: a.layers,
    objective: {
      formula: `mean ${r.objective.score === 'f1' ? 'F1 at annThreshold' : 'AP50'} over ticks [(1-apWindow)T, T] - wSop*(SOPs(T)/SOPs_untuned(T) - 1) - wLat*tReach/T`,
      score: r.objective.score,
      wSop: r.objective.wSop, wLat: r.objective.wLat, target: r.objective.target, latencyReference: r.objective.latencyReference, latencyRule: r.objective.latencyRule, apWindow: r.objective.apWindow,
      metric: 'voc', iou: 0.5, reference: 'ann-detections', annThreshold: meta.annThreshold, candidateThreshold: meta.args['candidate-threshold'],
    },
    search: {
      method: 'bayesian-optimization', budget: r.budget, seed: r.seed, groups: sp.groups, bounds: sp.bounds,
      ...(sp.twoPhase ? { ratioBounds: sp.ratioBounds } : {}),
      design: 'sobol', kernel: 'matern52-ard', acquisition: 'log-ei', batch: meta.args.batch,
      images: meta.args.images, holdout: meta.args.holdout, calibration: meta.calibration,
    },
    result: {
      evaluation: r.best.index + 1, objective: round(o.value), scoreWindow: round(o.score), scoreT: round(o.scoreT), apT: round(o.apT), f1T: round(o.f1T), sopRatio: round(o.sopRatio), latencyTicks: o.latency, reached: o.reached,
      untuned: { objective: round(r.untuned.value), scoreWindow: round(r.untuned.score), scoreT: round(r.untuned.scoreT), apT: round(r.untuned.apT), f1T: round(r.untuned.f1T), latencyTicks: r.untuned.latency },
      ...(r.bestRandom ? { randomSearchBest: round(r.bestRandom.objective.value) } : {}),
    },
    report: {
      images: r.holdoutImages, timesteps: r.reportTimesteps,
      networks: r.holdout.results.map((h) => ({
        network: h.label, scoreT: round(h.scoreAtT), scoreR: round(h.scoreAtR), apT: round(h.apAtT), f1T: round(h.f1AtT), sopsPerImageT: Math.round(h.sopsPerImageAtT),
        reach: h.reach.map((x) => ({ target: x.target, tick: x.tick, sopsPerImage: x.sopsPerImage === null ? null : Math.round(x.sopsPerImage) })),
        objective: round(h.objective.value),
        // the network's threshold scales per spiking layer (as `layers`; all 1: untuned), so the comparison can be reproduced
        scales: h.assignment ? h.assignment.layers.map((e) => e.scale) : r.space.layers.map(() => 1),
        ...(h.assignment?.tSwitch !== undefined ? { scales2: h.assignment.layers.map((e) => e.scale2), tSwitch: h.assignment.tSwitch } : {}),
      })),
      ...(meta.energy?.chips.length ? { energy: energyJson(meta.energy) } : {}),
    },
  };
}

export const tuneCommand: CommandModule<object, TuneArgs> = {
  command: 'tune',
  describe: 'Threshold balancing by Bayesian optimization (optionally two-phase): faster convergence and fewer SOPs at the same AP',
  builder: (y) =>
    placementOption(snnOptions(modelOptions(y)))
      .option('calib', { type: 'string', array: true, describe: 'calibration images of the conversion (λ); default: the tuning images, so the held-out images stay unseen' })
      .option('images', { type: 'string', array: true, demandOption: true, describe: 'tuning images: every candidate is evaluated on them' })
      .option('holdout', { type: 'string', array: true, demandOption: true, describe: 'held-out images for the closing report (never seen by the search)' })
      .option('timesteps', { type: 'number', default: 128, describe: 'tick budget T of the objective' })
      .option('budget', { type: 'number', default: 24, describe: 'evaluations per search (BO, and the random-search baseline)' })
      .option('two-phase', { type: 'boolean', default: false, describe: 'search phase-1 thresholds, phase-2 thresholds and the switch tick' })
      .option('groups', { type: 'number', default: DEFAULT_GROUPS, describe: 'consecutive groups of spiking layers sharing one scale (the number of layers: one scale each)' })
      .option('bounds', { type: 'string', default: DEFAULT_BOUNDS.join(','), describe: 'threshold scale bounds LO,HI (searched on a log scale)' })
      .option('ratio-bounds', { type: 'string', default: DEFAULT_RATIO_BOUNDS.join(','), describe: 'two-phase: bounds LO,HI of phase-1 scale / phase-2 scale' })
      .option('compensate', { type: 'boolean', default: true, describe: 'scale the weights reading a layer by its threshold scale (function-preserving); --no-compensate: raw thresholds' })
      .option('w-sop', { type: 'number', default: DEFAULT_OBJECTIVE.wSop, describe: 'objective weight of the relative SOP change' })
      .option('w-lat', { type: 'number', default: DEFAULT_OBJECTIVE.wLat, describe: 'objective weight of (ticks to reach the target) / T' })
      .option('target', { type: 'number', default: DEFAULT_OBJECTIVE.target, describe: 'latency target: fraction of the reference score (--score)' })
      .option('lat-ref', { type: 'string', choices: ['untuned', 'ann'], default: DEFAULT_OBJECTIVE.latencyReference, describe: 'latency reference: the untuned network\'s score at T, or the ANN\'s (1)' })
      .option('lat-rule', { type: 'string', choices: ['settled', 'first'], default: DEFAULT_OBJECTIVE.latencyRule, describe: 'ticks to reach: the first tick from which the score stays at the goal, or the first tick at it' })
      .option('score', { type: 'string', choices: ['f1', 'ap'], default: DEFAULT_OBJECTIVE.score, describe: 'the accuracy the objective scores: f1 = F1 of the SNN\'s detections above --ann-threshold against the ANN\'s (the operating point), ap = AP@0.5 of the candidates above --candidate-threshold' })
      .option('ap-window', { type: 'number', default: DEFAULT_OBJECTIVE.apWindow, describe: 'accuracy term: mean score over the checkpoints in [(1 − W)·T, T] (0: at T only)' })
      .option('ann-threshold', { type: 'number', describe: 'score threshold of the ANN detections that serve as truth (default: the model\'s, 0.5)' })
      .option('candidate-threshold', { type: 'number', default: 0.05, describe: 'score threshold of the SNN candidates scored for AP' })
      .option('report-timesteps', { type: 'number', describe: 'ticks of the held-out report (default 4 × T)' })
      .option('baseline', { type: 'boolean', default: true, describe: 'run the random-search baseline with the same budget (--no-baseline skips it)' })
      .option('chip', { type: 'string', array: true, default: DEFAULT_TUNE_CHIPS, describe: 'chips (chips/ names, NAME@VARIANT or chip files) that price energy per frame of the held-out report; none: skip' })
      .option('workers', { type: 'number', default: Math.min(2, availableParallelism()), describe: 'worker threads evaluating candidates (0: in-process)' })
      .option('batch', { type: 'number', default: 2, describe: 'candidates suggested per BO round (results depend on it, not on --workers)' })
      .option('out', { type: 'string', demandOption: true, describe: 'the thresholds JSON to write (read by detect/convergence/run --thresholds)' })
      .option('csv', { type: 'string', describe: 'CSV of every evaluation of both searches' })
      .option('svg', { type: 'string', describe: 'SVG of the best objective so far against evaluations' })
      .example('$0 tune --model face --size 224 --images s1.jpg s2.jpg s3.jpg s4.jpg --holdout s5.jpg s6.jpg --timesteps 128 --budget 32 --out th.json --csv th.csv --svg th.svg', 'tune the face detector')
      .example('$0 tune --model face --images s1.jpg s2.jpg --holdout s5.jpg --chip loihi@sana-fe --out th.json', 'price the held-out report on another chip (--chip none: no pricing)') as never,
  handler: async (args) => {
    const T = checkTimesteps(args.timesteps);
    if (!(Number.isInteger(args.budget) && args.budget >= 1 && args.budget <= 10000)) fail('--budget', `${args.budget} must be an integer in 1..10000`);
    if (!(Number.isInteger(args.workers) && args.workers >= 0 && args.workers <= 64)) fail('--workers', `${args.workers} must be an integer in 0..64`);
    if (!(Number.isInteger(args.batch) && args.batch >= 1 && args.batch <= 64)) fail('--batch', `${args.batch} must be an integer in 1..64`);
    if (!(Number.isInteger(args.seed) && args.seed >= 0 && args.seed <= 0xffffffff)) fail('--seed', `${args.seed} must be an integer in [0, 2^32)`);
    if (!(args.target > 0 && args.target <= 1)) fail('--target', `${args.target} must be in (0, 1]`);
    for (const f of ['w-sop', 'w-lat'] as const) if (!(Number.isFinite(args[f]) && args[f] >= 0)) fail(`--${f}`, `${args[f]} must be a number >= 0`);
    if (!(args['ap-window'] >= 0 && args['ap-window'] < 1)) fail('--ap-window', `${args['ap-window']} must be in [0, 1)`);
    if (!(args['candidate-threshold'] >= 0 && args['candidate-threshold'] < 1)) fail('--candidate-threshold', `${args['candidate-threshold']} must be in [0, 1)`);
    const annTh = args['ann-threshold'];
    if (annTh !== undefined && !(annTh >= 0 && annTh < 1)) fail('--ann-threshold', `${annTh} must be in [0, 1)`);
    const R = args['report-timesteps'] === undefined ? 4 * T : checkTimesteps(args['report-timesteps'], '--report-timesteps');
    if (R < T) fail('--report-timesteps', `${R} must be >= --timesteps (${T})`);
    const chips = parseChips(args.chip);
    const bounds = parsePair(args.bounds, '--bounds');
    const ratioBounds = parsePair(args['ratio-bounds'], '--ratio-bounds');
    const seen = new Map<string, string>();
    for (const [flag, list] of [['--images', args.images], ['--holdout', args.holdout]] as const) {
      if (!list.length) fail(flag, 'give at least one image');
      for (const f of list) {
        const k = imageKey(f);
        const prev = seen.get(k);
        if (prev !== undefined) fail(flag, `${f}: ${prev === flag ? 'given twice (or two images share its base name)' : 'is also a tuning image: held-out images must be unseen'}`);
        seen.set(k, flag);
      }
    }

    const spec = { model: args.model, weights: args.weights, size: args.size, names: args.names };
    // λ from the tuning images unless told otherwise: the held-out images stay unseen by the conversion too
    const calib = args.calib?.length ? args.calib : args.images;
    const leaked = calib.filter((f) => args.holdout.some((h) => imageKey(h) === imageKey(f)));
    if (leaked.length) process.stderr.write(`warning: --calib includes held-out images (${leaked.join(', ')}): the report's held-out figures are not fully unseen\n`);
    const { snn } = snnFromModel(spec, {
      calib,
      images: args.images,
      settings: snnSettingsFrom(args),
      onImage: (i, n, f) => process.stderr.write(`calibrate [${i + 1}/${n}] ${f}\n`),
    });
    const net = snn.ann;
    const annThreshold = annTh ?? net.scoreThreshold;
    const prepare = (files: string[]): PreparedImage[] =>
      files.map((file) => {
        const img = loadImage(file);
        return { file, width: img.width, height: img.height, input: preprocess(net, img) };
      });
    const truthOf = async (files: string[], flag: string): Promise<TruthImage[]> => {
      const ann = await detectImagesAnn(net, files, { threshold: annThreshold });
      const truth = truthFromDetections(ann.images);
      const boxes = truth.reduce((s, t) => s + t.boxes.length, 0);
      if (boxes === 0) fail(flag, `the ANN detects nothing on these images at score > ${annThreshold} (input ${net.input.w}x${net.input.h}): there is no reference to tune against; give other images, a larger --size or a lower --ann-threshold`);
      process.stderr.write(`ANN reference on ${flag.slice(2)}: ${boxes} boxes on ${files.length} images (score > ${annThreshold})\n`);
      return truth;
    };
    const truth = { calib: await truthOf(args.images, '--images'), holdout: await truthOf(args.holdout, '--holdout') };
    const sets = { calib: prepare(args.images), holdout: prepare(args.holdout) };
    process.stderr.write(`starting ${args.workers} worker${args.workers === 1 ? '' : 's'}\n`);
    const pool = await EvalPool.create({ snn, sets, candidateThreshold: args['candidate-threshold'], engine: 'wasm', seed: args.seed }, { workers: args.workers });
    let result: TuneResult;
    const t0 = Date.now();
    try {
      result = await tuneThresholds({
        snn, pool, truth, threshold: annThreshold, timesteps: T, budget: args.budget, seed: args.seed,
        space: { groups: args.groups, bounds, twoPhase: args['two-phase'], ratioBounds, compensate: args.compensate },
        objective: { score: args.score as ScoreMetric, wSop: args['w-sop'], wLat: args['w-lat'], target: args.target, latencyReference: args['lat-ref'] as 'untuned' | 'ann', apWindow: args['ap-window'], latencyRule: args['lat-rule'] as 'first' | 'settled' },
        baseline: args.baseline,
        batch: args.batch,
        reportTimesteps: R,
        onEvaluation: (e, space) => process.stderr.write(`${progressLine(e, space, args.budget, args.score as ScoreMetric)}\n`),
        onProgress: (m) => process.stderr.write(`${m}\n`),
      });
    } finally {
      await pool.close();
    }
    process.stderr.write(`tuning took ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

    const writeFile = (energy?: HoldoutEnergy) =>
      writeThresholdsFile(args.out, thresholdsFileOf(result, {
        model: snn.annSpec ?? absoluteModelSpec(spec),
        network: { name: net.name, input: [net.input.w, net.input.h] },
        settings: snn.settings,
        args,
        annThreshold,
        calibration: snn.calibration.images,
        energy,
      }));
    if (args.csv) writeFileAtomic(args.csv, evaluationsCsv(result));
    if (args.svg) writeFileAtomic(args.svg, bestSoFarSvg(result, `${net.name} ${net.input.w}x${net.input.h}: threshold tuning, T = ${T}${args['two-phase'] ? ', two-phase' : ''}`));
    // energy per frame of the held-out report on the chip models (after the search: it prices the ticks the report found)
    let energy: HoldoutEnergy | undefined;
    if (chips.length) {
      const t1 = Date.now();
      process.stderr.write(`energy per frame: ${result.holdout.results.length} networks on ${chips.map((c) => c.name).join(', ')}, ${args.holdout.length} held-out images\n`);
      try {
        energy = await priceHoldout(result, {
          snn, inputs: sets.holdout.map((p) => p.input), chips, seed: args.seed, autoBoard: true, placement: args.placement as PlacementOrder, workers: args.workers,
          onProgress: (m) => process.stderr.write(`${m}\n`),
        });
      } catch (e) {
        // the search's result is not lost: the thresholds file is written without the energy figures
        writeFile();
        if (e instanceof UserError) fail('--chip', `${e.message} (${args.out} was written without energy figures)`);
        throw e;
      }
      process.stderr.write(`energy pricing took ${((Date.now() - t1) / 1000).toFixed(1)} s\n`);
    }
    writeFile(energy);
    const s = snn.settings;
    process.stdout.write(
      formatTuneReport(result, {
        model: `model ${net.name}, input ${net.input.w}x${net.input.h}`,
        description:
          `conversion: ${describeSettings(s)}, ` +
          `linear layers ${s.fuseLinear ? 'fused' : 'signed'}; λ from ${describeCalibration(snn.calibration.images)}${args.calib?.length ? '' : ' (the tuning images)'}; ANN reference at score > ${annThreshold}, SNN candidates at > ${args['candidate-threshold']}`,
      }, energy),
    );
    process.stdout.write(`wrote ${[args.out, args.csv, args.svg].filter(Boolean).join(', ')}\n`);
  },
};
