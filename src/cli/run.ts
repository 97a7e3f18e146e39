import { describeSettings } from '../convert/convert.ts';
import type { CommandModule } from 'yargs';
import { stringify } from 'csv-stringify/sync';
import { snnFromModel } from '../convert/from-model.ts';
import type { SnnConvLayer, SnnNetwork } from '../convert/snn-ir.ts';
import { describeQuantization, quantizeForChip, thresholdOnGrid, type QuantizationReport, type QuantScale } from '../convert/quantize.ts';
import { detectImagesAnn } from '../detect/ann-detect.ts';
import { detectFromReadouts } from '../detect/snn-detect.ts';
import { apAgainst } from '../detect/map.ts';
import { atThreshold, fidelityAtThreshold, fidelityJson, formatFidelity } from '../detect/fidelity.ts';
import type { ImageDetections } from '../detect/types.ts';
import { loadChip } from '../hw/chip-schema.ts';
import { mappingSvg } from '../hw/map-svg.ts';
import { mapNetwork, type PlacementOrder } from '../hw/mapper.ts';
import { energySvg, type EnergySvgChip } from '../report/energy-svg.ts';
import { accountingLevels, annAccelerator, ACCOUNTING_LEVELS, deviceAnchors, type LevelFigure } from '../hw/levels.ts';
import { annBaselineJ, ANN_BASELINES, GPU_BASELINE_NOTE } from '../hw/power.ts';
import { chipReportJson, chipReportText, formatRatio, si } from '../hw/report.ts';
import { loadImage } from '../image/decode.ts';
import { preprocess } from '../image/preprocess.ts';
import { describeCalibration } from '../model/evalset.ts';
import { faceSamplePhotos } from '../model/faceapi.ts';
import { networkStats } from '../model/stats.ts';
import { shortenPaths } from '../report/paths.ts';
import { emulateFrames } from '../sim/emulate.ts';
import { BIAS_ONSETS, type BiasOnset } from '../sim/simulator.ts';
import { createSimulator, type Simulator } from '../sim/simulator.ts';
import { emulateInWorker, emulateSplit, type EmulateOutcome } from '../report/emulate-worker.ts';
import { threadsPerTick } from '../sim/threads.ts';
import { Lanes } from '../util/lanes.ts';
import { describeStopRule, stopCheck, type StopRule } from '../report/stopping.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { fail } from '../util/errors.ts';
import { withThresholdSchedule, type ThresholdSchedule } from '../tune/thresholds-file.ts';
import { isNirFile } from '../model/nir.ts';
import { runNir } from './run-nir.ts';
import { applyThresholdsFlag, checkCandidateThreshold, checkTimesteps, modelOptions, nirInputOptions, placementOption, snnOptions, snnSettingsFrom, DEFAULT_RUN_TICKS } from './options.ts';

interface RunArgs {
  model: string;
  weights?: string;
  size?: number;
  names?: string;
  images?: string[];
  chip: string[];
  timesteps: number;
  baseline: string;
  json?: string;
  csv?: string;
  svg?: string;
  'map-svg'?: string;
  trace?: string;
  'auto-board': boolean;
  placement: string;
  'candidate-threshold': number;
  norm: string;
  statistic?: string;
  neuron: string;
  calib?: string[];
  seed: number;
  thresholds?: string;
  workers: number;
  precision: string;
  'precision-scale': string;
  threshold?: number;
  'until-f1'?: number;
  'until-stable'?: number;
  'check-every': number;
  'v-init'?: number;
  'readout-start'?: number;
  'input-rate'?: string;
  'input-events'?: string;
  'nir-dt'?: number;
}

/** A chip's run under `--precision chip`: the network quantized to its bits (src/convert/quantize.ts). */
interface ChipPrecision {
  snn: SnnNetwork;
  report: QuantizationReport;
  /** the two-phase schedule put on the quantized layers' grids where it can be (with --thresholds) */
  schedule?: ThresholdSchedule;
}

/**
 * A two-phase schedule's thresholds on the grids of a quantized network. A per-neuron grid cannot
 * hold one threshold value for the whole layer: those stay as they are (the report notes it).
 */
function scheduleOnGrid(snn: SnnNetwork, s: ThresholdSchedule | undefined, notes: string[]): ThresholdSchedule | undefined {
  if (!s) return undefined;
  let off = 0;
  const grid = (set: ThresholdSchedule['phase1']) => set.map((t) => {
    const l = snn.layers[t.layer] as SnnConvLayer;
    const p = thresholdOnGrid(l, t.vthPos);
    if (!p.onGrid) off++;
    return { ...t, vthPos: p.value, vthNeg: thresholdOnGrid(l, t.vthNeg).value };
  });
  const out = { tSwitch: s.tSwitch, phase1: grid(s.phase1), phase2: grid(s.phase2) };
  if (off) notes.push(`two-phase thresholds: ${off} layer thresholds set at run time are not on their per-neuron grids (one value per layer)`);
  return out;
}

/** The readouts at tick T of every input, simulated without a chip (accounting does not change them). */
async function floatReadouts(snn: SnnNetwork, inputs: Float32Array[], T: number, seed: number, wrap?: (sim: Simulator) => Simulator): Promise<Float32Array[][]> {
  const sim = await createSimulator(snn, { seed });
  const driven = wrap ? wrap(sim) : sim;
  return inputs.map((x) => {
    driven.reset(x);
    driven.run(T);
    return driven.readout();
  });
}

/**
 * The main job: convert the detector into a spiking network, emulate it on each chip model tick by
 * tick (mapping, routing, per-event energy, cycle-level timing), and report energy per frame,
 * latency, SOPs, cores and accuracy against the ANN, beside the ANN's MAC-count baseline.
 */
export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'The main job: energy per frame, latency, SOPs, cores and AP of the spiking detector on each chip, against the ANN baseline',
  builder: (y) =>
    nirInputOptions(placementOption(snnOptions(modelOptions(y))))
      .option('images', { type: 'string', array: true, describe: 'frames (default: the six face-api sample photos)' })
      .option('chip', { type: 'string', array: true, default: ['truenorth', 'loihi'], describe: 'chip names (chips/) or chip files; NAME@VARIANT for a variant' })
      .option('timesteps', { type: 'number', default: DEFAULT_RUN_TICKS, describe: 'ticks per frame (the default: where the face detector reaches F1 >= 0.95 against the ANN on its sample photos, README "Fidelity at the operating point")' })
      .option('baseline', { type: 'string', choices: Object.keys(ANN_BASELINES), default: 'fp32-45nm', describe: 'ANN energy baseline: MACs × (multiply + add) energy' })
      .option('auto-board', { type: 'boolean', default: true, describe: 'when the chip file\'s board is too small, use the smallest square board that fits (reported)' })
      .option('candidate-threshold', { type: 'number', default: 0.05, describe: 'score threshold of the SNN detections scored for AP against the ANN' })
      .option('threshold', { type: 'number', describe: 'operating score threshold: the SNN\'s detections above it against the ANN\'s above it give precision, recall and F1 (default: the model\'s own, 0.5)' })
      .option('until-f1', { type: 'number', describe: 'stop each frame at the first check where its F1 against the ANN (at --threshold) reaches this (an oracle: prices "energy to reach F1 X"); --timesteps is the cap' })
      .option('until-stable', { type: 'number', describe: 'stop each frame when the readout moved by this or less on average (mean |change| of its values, raw head units) over the last --check-every ticks (needs no reference); --timesteps is the cap' })
      .option('check-every', { type: 'number', default: 8, describe: 'ticks between stopping-rule checks' })
      .option('bias-onset', { type: 'string', choices: BIAS_ONSETS, default: 'input', describe: 'on a chip with a layer delay (timing.layer_delay_ticks 1): input = each layer\'s bias starts in the tick its first input can arrive (depth d: tick d), start = every bias from tick 1' })
      .option('precision', {
        type: 'string', choices: ['float', 'chip'], default: 'float',
        describe: 'float: float32 weights and membrane; chip: each chip\'s run quantizes weights, biases, thresholds and membrane (saturating) to its core.weight_bits / membrane_bits, and the report adds the float AP on the same frames',
      })
      .option('precision-scale', {
        type: 'string', choices: ['neuron', 'layer'], default: 'neuron',
        describe: 'with --precision chip: one fixed-point step per neuron (its own threshold in whole levels, the default) or one per layer (max |weight| of the layer on the top level)',
      })
      .option('workers', { type: 'number', default: 2, describe: 'worker threads (one WASM instance each): one per chip, a chip\'s frames split over the rest, and with fewer jobs than workers (one photo, one chip) two threads share each tick; 0: in this thread. The output does not depend on it' })
      .option('json', { type: 'string', describe: 'write one object per chip (energy, baseline, latency, counts, mapping, accuracy)' })
      .option('csv', { type: 'string', describe: 'write one row per chip and frame' })
      .option('map-svg', { type: 'string', describe: 'write each chip\'s placement as a heat map of energy per core (FILE, or FILE-CHIP.svg for several chips)' })
      .option('svg', { type: 'string', describe: 'write the energy as a picture: per chip by category and by accounting level beside the ANN baselines, and by layer' })
      .option('thresholds', { type: 'string', describe: 'threshold scales written by `neuroemu tune` (two-phase switch included)' })
      .option('trace', { type: 'string', describe: 'record the per-tick per-core counters (traces/README.md); with several chips, CHIP is inserted before the extension' })
      .example('$0 run', 'the built-in default: face detector, six sample photos, TrueNorth and Loihi, 128 ticks')
      .example('$0 run --chip loihi --timesteps 256 --until-f1 0.95', 'each frame priced at the tick where it reaches F1 0.95 against the ANN (at most 256)')
      .example('$0 run --images @evalset:test --threshold 0.3', 'photos the conversion never saw (the default calibration is the samples and @evalset:tune, 29 others), judged at score 0.3')
      .example('$0 run --precision chip', 'each chip at its own weight and membrane bits (TrueNorth 9/20, Loihi 9/24): the AP it costs against float')
      .example('$0 run --chip loihi@sana-fe odin --timesteps 128 --json run.json', 'other chip models, more ticks, JSON out')
      .example('$0 run --model yolov2-tiny-voc --weights synthetic:1 --images dog.jpg --chip truenorth loihi', 'Tiny YOLO v2 itself on multi-chip boards')
      .example('$0 run --model cnn_sinabs.nir --input-rate 1,0.25 --chip loihi truenorth spinnaker --timesteps 32', 'a NIR graph from Sinabs priced on three chips')
      .example('$0 run --model cnn_sinabs.nir --input-events digits.npy --chip loihi --timesteps 300', 'the same graph on recorded events (S×T×2×34×34), one frame per sample') as never,
  handler: async (args) => {
    const T = checkTimesteps(args.timesteps);
    const biasOnset = args['bias-onset'] as BiasOnset;
    // checked before the conversion: a negative or fractional count was quietly rounded into range
    if (!(Number.isInteger(args.workers) && args.workers >= 0)) fail('--workers', `${args.workers} must be an integer >= 0`);
    checkCandidateThreshold(args['candidate-threshold']);
    // a NIR graph is not a detector: its own report (src/cli/run-nir.ts)
    if (isNirFile(args.model)) return runNir(args, T);
    const spec = { model: args.model, weights: args.weights, size: args.size, names: args.names };
    const chips = (args.chip ?? []).map(String);
    if (chips.length === 0) fail('--chip', 'name at least one chip (neuroemu chips lists them)');
    const chipParams = chips.map((c) => loadChip(c).params);
    const progress = (m: string) => process.stderr.write(`${m}\n`);
    const converted = snnFromModel(spec, {
      calib: args.calib,
      images: args.images,
      settings: snnSettingsFrom(args),
      onImage: (i, n, f) => progress(`calibrate [${i + 1}/${n}] ${f}`),
    });
    const tuned = applyThresholdsFlag(converted.snn, args.thresholds);
    const snn = tuned ? tuned.snn : converted.snn;
    const net = snn.ann;
    const images = args.images?.length ? args.images : net.format === 'face-api' ? faceSamplePhotos() : fail('--images', 'give the frames (the sample photos are the default only for the face detector)');
    const decoded = images.map((f) => loadImage(f));
    const inputs = decoded.map((img) => preprocess(net, img));
    const opThreshold = args.threshold ?? net.scoreThreshold;
    if (!(opThreshold >= 0 && opThreshold < 1)) fail('--threshold', `${args.threshold} must be in [0, 1)`);
    const ann = await detectImagesAnn(net, images, { threshold: Math.min(opThreshold, net.scoreThreshold) });
    // AP's reference: the ANN's detections at its own threshold (as before); F1's: at the operating threshold
    const annAtDefault = atThreshold(ann.images, net.scoreThreshold);
    const macs = networkStats(net).macs;
    const baseline = annBaselineJ(macs, args.baseline);
    const accelerator = annAccelerator(net, args.baseline);
    const anchors = deviceAnchors();
    const s = snn.settings;
    // --precision chip: one quantized network per chip (chips with the same bits share it)
    const chipMode = args.precision === 'chip';
    const byBits = new Map<string, ChipPrecision>();
    const precision: (ChipPrecision | undefined)[] = chipParams.map((cp) => {
      if (!chipMode) return undefined;
      const bits = { weightBits: cp.core.weightBits, membraneBits: cp.core.membraneBits };
      const key = `${bits.weightBits}/${bits.membraneBits}`;
      let p = byBits.get(key);
      if (!p) {
        const qz = quantizeForChip(snn, bits, { scale: args['precision-scale'] as QuantScale, readoutTicks: T });
        p = { ...qz, schedule: scheduleOnGrid(qz.snn, tuned?.schedule, qz.report.notes) };
        byBits.set(key, p);
      }
      return p;
    });
    const alreadyFixed = snn.layers.some((l) => l.kind === 'conv' && l.gridStep !== undefined);
    process.stdout.write(
      `neuroemu run — ${net.name} ${net.input.w}x${net.input.h} (${shortenPaths(net.source)}), ${images.length} frames × ${T} ticks, seed ${args.seed}\n` +
        `spiking network: ${describeSettings(s)}; ` +
        `λ from ${describeCalibration(snn.calibration.images)}\n` +
        (tuned ? `${tuned.description}\n` : '') +
        (alreadyFixed ? 'note: the network file is already fixed-point (quantized); "float" below means "as stored"\n' : '') +
        `ANN baseline: ${macs.toLocaleString('en-US')} MACs × ${Number(baseline.perMacPj.toPrecision(6))} pJ (${baseline.name}: ${baseline.source}) = ${si(baseline.energyJ, 'J')} per frame; ${GPU_BASELINE_NOTE}\n` +
        `ANN moving its data: compute ${si(accelerator.compute_J, 'J')} + on-chip SRAM ${si(accelerator.sram_J, 'J')} + weights from DRAM ${si(accelerator.dram_J, 'J')} = ${si(accelerator.total_J, 'J')} per frame (${accelerator.rule})\n` +
        `accounting levels (each chip below; README "Accounting levels"): ops = SOPs × E_AC vs MACs × E_MAC; dynamic = the chip's on-chip events vs MACs + SRAM traffic; ` +
        `offchip = + chip crossings vs + DRAM weights; static = + static power (the energy per frame) vs the ANN at offchip\n` +
        `measured reference points (other networks on other devices, not baselines; data/anchors.json): ${anchors.map((a) => `${a.name} ${si(a.energy_per_frame_J, 'J')}/frame [${a.tag}]`).join('; ')}\n\n`,
    );
    if (args['until-f1'] !== undefined && args['until-stable'] !== undefined) fail('--until-f1', 'give one stopping rule, not --until-f1 and --until-stable together');
    const every = args['check-every'];
    const anyRule = args['until-f1'] !== undefined || args['until-stable'] !== undefined;
    if (anyRule && !(Number.isInteger(every) && every >= 1 && every <= T)) fail('--check-every', `${every} must be an integer tick count in 1..${T} (--timesteps)`);
    let stopRule: StopRule | undefined;
    if (args['until-f1'] !== undefined) {
      const x = args['until-f1'];
      if (!(x > 0 && x <= 1)) fail('--until-f1', `${x} must be in (0, 1]`);
      stopRule = { kind: 'f1', every, target: x, threshold: opThreshold, reference: ann.images };
    } else if (args['until-stable'] !== undefined) {
      const d = args['until-stable'];
      if (!(d > 0 && Number.isFinite(d))) fail('--until-stable', `${d} must be a positive number`);
      stopRule = { kind: 'stable', every, delta: d };
    }
    if (stopRule && args.trace) fail('--trace', 'a trace needs every frame to run the same ticks: drop --until-f1/--until-stable');
    if (stopRule && chipMode) fail('--precision', 'chip precision with a stopping rule is not supported yet: drop --until-f1/--until-stable');
    const sizes = decoded.map((d) => ({ width: d.width, height: d.height }));
    if (stopRule) process.stdout.write(`stopping rule: ${describeStopRule(stopRule)}; at most ${T} ticks\n\n`);
    const results: Record<string, unknown>[] = [];
    const svgChips: EnergySvgChip[] = [];
    const csvRows: (string | number)[][] = [['chip', 'frame', 'image', 'ticks', 'energy_J', ...ACCOUNTING_LEVELS.flatMap((lv) => [`${lv}_J`, `${lv}_ann_J`]), 'latency_s', 'sops', 'synaptic_events', 'spikes_out', 'packets', 'seed', 'fill_ticks']];
    // one file per chip when several: FILE-CHIP.EXT
    const perChipFile = (file: string | undefined, ci: number) => {
      const chip = chipParams[ci];
      return file ? (chips.length === 1 ? file : file.replace(/(\.[^./]*)?$/, (ext) => `-${chip.name}${chip.variant ? `@${chip.variant}` : ''}${ext}`)) : undefined;
    };
    const traceFor = (ci: number) => perChipFile(args.trace, ci);
    // worker threads (each its own WASM instance), at most --workers at a time: each chip's frames
    // in one part per worker unless there are chips enough to keep the workers busy, so a slow chip
    // does not leave a worker idle (parts merged in frame order: the same bytes whatever --workers is)
    const workers = args.workers;
    const partsPerChip = workers > 0 && chips.length < 2 * workers ? workers : 1;
    // fewer jobs than workers (one photo on one chip): the spare cores share each job's ticks
    const threads = threadsPerTick(workers, chips.length * Math.min(partsPerChip, inputs.length));
    const t0 = performance.now();
    const outcomes: EmulateOutcome[] = [];
    const lane = new Lanes(Math.max(1, workers));
    const emulate = async (ci: number) => {
      const pr = precision[ci];
      const net = pr ? pr.snn : snn, schedule = pr ? pr.schedule : tuned?.schedule;
      outcomes[ci] = workers > 0
        ? await emulateSplit(
          { snn: net, chip: chips[ci], inputs, timesteps: T, seed: args.seed, autoBoard: args['auto-board'], placement: args.placement as PlacementOrder, trace: traceFor(ci), schedule, biasOnset, stop: stopRule ? { rule: stopRule, sizes } : undefined, threads },
          partsPerChip, (job) => lane.run(() => emulateInWorker(job, progress)))
        : await emulateFrames(net, chipParams[ci], inputs, {
          timesteps: T, seed: args.seed, autoBoard: args['auto-board'], placement: args.placement as PlacementOrder, trace: traceFor(ci), onProgress: progress, biasOnset,
          wrap: schedule ? (sim) => withThresholdSchedule(sim, schedule) : undefined,
          stop: stopRule ? { every: stopRule.every, check: stopCheck(stopRule, net, sizes) } : undefined,
        });
      progress(`${chips[ci]}: emulated (${((performance.now() - t0) / 1000).toFixed(1)} s after the start)`);
    };
    const lanes = workers > 0
      ? Promise.all(chips.map((_, ci) => emulate(ci)))
      : (async () => { for (let ci = 0; ci < chips.length; ci++) await emulate(ci); })();
    lanes.catch(() => {}); // awaited below; this only keeps a failure during the float run from going unhandled
    // --precision chip: the float network on the same frames, once (its readouts do not depend on
    // the chip: accounting does not change the dynamics), in this thread while the workers run
    let floatAp: number | null | undefined;
    if (chipMode) {
      const raws = await floatReadouts(snn, inputs, T, args.seed, tuned?.wrap);
      floatAp = apAgainst(annAtDefault, raws.map((r, i) => ({
        file: images[i], width: decoded[i].width, height: decoded[i].height,
        detections: detectFromReadouts(snn, r, decoded[i].width, decoded[i].height, args['candidate-threshold']),
      }))).map;
      progress(`float network: AP@0.5 vs ANN ${floatAp === null ? 'n/a' : floatAp.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(1)} s after the start)`);
    }
    await lanes;
    for (let ci = 0; ci < chips.length; ci++) {
      const em = outcomes[ci];
      const snnImages: ImageDetections[] = em.readouts.map((raws, i) => ({
        file: images[i], width: decoded[i].width, height: decoded[i].height,
        detections: detectFromReadouts(snn, raws, decoded[i].width, decoded[i].height, args['candidate-threshold']),
      }));
      const ap = apAgainst(annAtDefault, snnImages).map;
      const fid = fidelityAtThreshold(ann.images, snnImages, { threshold: opThreshold });
      const r = em.totals;
      const ratio = baseline.energyJ / r.energy.per_frame_J;
      const cpPower = chipParams[ci].power.kind;
      const levels = accountingLevels(r.energy, r.counts.sops ?? r.counts.synaptic_events, accelerator, cpPower);
      const pr = precision[ci], cp = chipParams[ci];
      const cost = pr && ap !== null && floatAp !== null && floatAp !== undefined ? floatAp - ap : null;
      const vsFloat = pr ? ` (float: ${floatAp === null || floatAp === undefined ? 'n/a' : floatAp.toFixed(4)}${cost === null ? '' : `, cost ${cost.toFixed(4)}`})` : '';
      process.stdout.write(chipReportText(r, { pricedAt: `F1 ${fid.f1.toFixed(3)} vs ANN at score > ${opThreshold}` }));
      process.stdout.write(pr
        ? `  precision          chip — ${describeQuantization(pr.report)}\n${pr.report.notes.map((n) => `  note: precision: ${n}\n`).join('')}`
        : `  precision          float (float32; --precision chip: ${cp.core.weightBits}-bit weights, ${cp.core.membraneBits}-bit membrane)\n`);
      process.stdout.write(`  ANN baseline       ${si(baseline.energyJ, 'J')} per frame (${baseline.name}); ANN/SNN energy ratio ${formatRatio(ratio)}\n`);
      process.stdout.write(formatLevels(levels, r.counts.sops === null));
      // readout ticks per frame; the chip's pipeline fill (layer delay) ran before them
      const fill = r.fill_ticks;
      const meanTicks = r.latency.ticks / Math.max(1, r.frames) - fill;
      const fillSaid = fill ? ` + ${fill} fill` : '';
      svgChips.push({
        chip: chips[ci], perFrameJ: r.energy.per_frame_J, breakdownJ: r.energy.breakdown_J, levels,
        byLayer: r.byLayer.map((l) => ({ layer: l.layer, name: l.name, energyJPerFrame: l.energy_J / Math.max(1, r.frames) })),
        pricedAt: `${Number(meanTicks.toFixed(1))}${fillSaid} ticks per frame${stopRule ? ' (mean, stopping rule)' : ''}, F1 ${fid.f1.toFixed(3)} vs ANN at score > ${opThreshold}`,
      });
      if (stopRule) {
        const tk = em.perFrame.map((f) => f.ticks - fill);
        process.stdout.write(`  ticks per frame    min ${Math.min(...tk)}, mean ${Number((tk.reduce((a, b) => a + b, 0) / tk.length).toFixed(1))}, max ${Math.max(...tk)} (stopping rule; cap ${T}${fill ? `; each after ${fill} fill ticks` : ''})\n`);
      }
      const atTick = stopRule ? 'at each frame\'s stopping tick' : `at tick ${T}`;
      process.stdout.write(`  AP@0.5 vs ANN      ${ap === null ? 'n/a (the ANN found nothing)' : ap.toFixed(4)}${vsFloat} ${atTick} (VOC all-point; SNN candidates at score > ${args['candidate-threshold']})\n`);
      process.stdout.write(`  operating point    ${formatFidelity(fid)}\n\n`);
      results.push({
        ...chipReportJson(r),
        chip: chips[ci],
        energy: { ...r.energy, levels },
        baseline: {
          name: baseline.name, macs, per_mac_pJ: baseline.perMacPj, energy_J: baseline.energyJ, ratio, source: baseline.source,
          data_movement: { compute_J: accelerator.compute_J, sram_J: accelerator.sram_J, dram_J: accelerator.dram_J, rule: accelerator.rule, by_layer: accelerator.layers },
          anchors,
        },
        accuracy: { ap50_vs_ann: ap, candidate_threshold: args['candidate-threshold'], at_threshold: fidelityJson(fid) },
        ...(stopRule ? { stopping: { rule: describeStopRule(stopRule), every: stopRule.every, ticks_per_frame: em.perFrame.map((f) => f.ticks - fill) } } : {}),
        settings: s,
        precision: pr
          ? {
            mode: 'chip', weight_bits: pr.report.weightBits, membrane_bits: pr.report.membraneBits, scale: pr.report.scale, ap50_float: floatAp ?? null, ap50_cost: cost,
            weights: pr.report.weights, weights_zeroed: pr.report.zeroed, weights_clipped: pr.report.weightsClipped, notes: pr.report.notes,
            layers: pr.report.layers.map((l) => ({
              layer: l.layer, name: l.name, step_min: l.stepMin, step_max: l.stepMax, max_weight_error: l.maxWeightError, weights: l.weights, weights_zeroed: l.zeroed,
              vth_pos_levels: l.vthPosLevels, vth_neg_levels: l.vthNegLevels, membrane_levels: l.membraneLevels,
            })),
          }
          : { mode: 'float', weight_bits: null, membrane_bits: null },
        ...(args.thresholds ? { thresholds: args.thresholds } : {}),
      });
      em.perFrame.forEach((f, i) => csvRows.push([chips[ci], i, images[i], f.ticks - fill, f.energy_J,
        ...accountingLevels({ per_frame_J: f.energy_J, breakdown_J: f.breakdown_J }, f.network?.sops ?? f.events.synaptic_events, accelerator, cpPower).flatMap((lv) => [lv.per_frame_J, lv.ann_J]), f.latency_s, f.network?.sops ?? '', f.events.synaptic_events, f.events.spikes_out, f.events.packets, args.seed, fill]));
    }
    if (args.json) writeFileAtomic(args.json, JSON.stringify(results, null, 1) + '\n');
    if (args.csv) writeFileAtomic(args.csv, stringify(csvRows));
    if (args['map-svg']) {
      for (let ci = 0; ci < chips.length; ci++) {
        const r = outcomes[ci].totals;
        // the same mapping the emulation used (the mapper is deterministic)
        const m = mapNetwork(snn, chipParams[ci], { autoBoard: args['auto-board'], placement: args.placement as PlacementOrder });
        const perFrame = r.coreEnergyJ.map((e) => e / Math.max(1, r.frames));
        const file = perChipFile(args['map-svg'], ci)!;
        writeFileAtomic(file, mappingSvg(m, { heat: { valuesByCore: perFrame, label: 'energy per frame of the cores (their events and static power; chip static not attributed)', unit: 'J' } }));
      }
    }
    if (args.svg) {
      writeFileAtomic(args.svg, energySvg({
        title: `${net.name} ${net.input.w}x${net.input.h}, ${images.length} frames, seed ${args.seed}: energy per frame`,
        chips: svgChips,
        ann: [
          { label: `ANN compute (${baseline.name})`, energyJ: baseline.energyJ },
          { label: 'ANN moving its data', energyJ: accelerator.total_J },
        ],
      }));
    }
  },
};

/** The four accounting levels of one chip as report rows. */
function formatLevels(levels: LevelFigure[], sopsFromChip: boolean): string {
  const rows = levels.map((l) => `${l.level.padEnd(8)} ${si(l.per_frame_J, 'J').padStart(10)}  ${si(l.ann_J, 'J').padStart(10)}  ${formatRatio(l.ratio).padStart(7)}`);
  return `  accounting levels  level         SNN         ANN  ANN/SNN  (per frame; each level adds to the one before, ops is the op-count proxy${sopsFromChip ? '; SOPs: synaptic events on chip' : ''})\n` +
    rows.map((r) => `                     ${r}\n`).join('');
}
