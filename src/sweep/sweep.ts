/**
 * A design-space sweep: the points of `space.ts` emulated and priced, rows appended to the
 * results file as they finish, the file sorted and summarized when the sweep (or its shard) is
 * complete. What `neuroemu sweep` calls.
 *
 * Work is shared: the network is calibrated once and converted once per (norm, statistic,
 * neuron, thresholds); each simulation group (same network, ticks and chip geometry) is emulated
 * once with a trace and every point of it priced by replay (worker.ts). Groups run in parallel
 * worker threads.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { calibrateModel, convertCalibrated, defaultCalibration, isSnnModel, loadAnnModel } from '../convert/from-model.ts';
import { describeCalibration } from '../model/evalset.ts';
import { sha256Hex } from '../convert/calibrate.ts';
import { defaultSettings, settingsForNeuron } from '../convert/convert.ts';
import { loadSnn } from '../convert/snn-file.ts';
import type { NormMode, SnnNetwork, SnnSettings } from '../convert/snn-ir.ts';
import { detectImagesAnn } from '../detect/ann-detect.ts';
import { fidelityAtThreshold, type Fidelity } from '../detect/fidelity.ts';
import { apAgainst } from '../detect/map.ts';
import { detectFromReadouts } from '../detect/snn-detect.ts';
import type { ImageDetections } from '../detect/types.ts';
import { loadChip, type ChipParams } from '../hw/chip-schema.ts';
import type { PlacementOrder } from '../hw/mapper.ts';
import { loadImage } from '../image/decode.ts';
import { preprocess } from '../image/preprocess.ts';
import type { ModelSpec } from '../model/load.ts';
import { shapeSize } from '../model/ir.ts';
import { isNirFile } from '../model/nir.ts';
import { loadNirSnn } from '../convert/nir-import.ts';
import { nirInputs, type NirInputFlags, type NirInputs } from '../convert/nir-input.ts';
import { faceSamplePhotos } from '../model/faceapi.ts';
import { emulateInWorker, emulateSplit } from '../report/emulate-worker.ts';
import { threadsPerTick } from '../sim/threads.ts';
import { shortenPaths } from '../report/paths.ts';
import { applyThresholdsFile, type ThresholdSchedule } from '../tune/thresholds-file.ts';
import { processAlive, writeFileAtomic } from '../util/atomic.ts';
import { UserError } from '../util/errors.ts';
import { appendRow, csvColumns, csvRow, formatResults, readResults, sweepPlots, sweepSummary, type Row } from './results.ts';
import { canonicalJson, pointCount, selectShard, sweepId, validatePoints, type Axis, type PlannedPoint, type RunSettings, type SweepPoint } from './space.ts';
import { priceGroup, priceGroupInWorker, type GroupJob, type GroupMsg } from './worker.ts';
import type { PointFigures } from './results.ts';

export interface SweepOptions {
  /** base chip: a name or file, NAME@VARIANT allowed */
  chip: string;
  axes: Axis[];
  /** the run fields when not varied */
  fixed: RunSettings;
  /** conversion settings every point shares (--pool, --v-init, --readout-start, --lambda-floor); the defaults when absent */
  conversion?: Partial<SnnSettings>;
  model: ModelSpec;
  /** a NIR graph (--model FILE.nir): its input (--input-rate or --input-events) and --nir-dt */
  nir?: NirInputFlags & { dtS?: number };
  /** frames (default: the face-api sample photos for the face detector) */
  images?: string[];
  calib?: string[];
  seed: number;
  autoBoard: boolean;
  candidateThreshold: number;
  /** worker threads (0: in this thread) */
  workers: number;
  /** the results CSV; the summary and plots are written beside it */
  out: string;
  shard: { index: number; count: number } | null;
  onProgress?: (line: string) => void;
}

export interface SweepOutcome {
  sweep: string;
  points: number;
  /** points of this shard (all points without one) */
  shardPoints: number;
  /** already in the results file when this run started */
  skipped: number;
  simulated: number;
  replayed: number;
  refused: number;
  complete: boolean;
  files: { csv: string; summary: string; pareto: string; ap: string };
}

/** Paths of the outputs beside the results CSV: results.csv → results.summary.json, results.pareto.svg, results.ap.svg. */
export function sweepOutputs(out: string) {
  const stem = out.replace(/\.csv$/i, '');
  return { csv: out, summary: `${stem}.summary.json`, pareto: `${stem}.pareto.svg`, ap: `${stem}.ap.svg` };
}

const fmtDuration = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`);

/** Each point's first row, in file order. */
function uniqueByPoint(rows: Row[]): Row[] {
  const seen = new Set<string>();
  return rows.filter((r) => !seen.has(r.point) && !!seen.add(r.point));
}

/**
 * Takes `FILE.lock` (created exclusively, holding this process id) so that a second sweep on the
 * same results file is refused instead of writing every point twice; a lock whose process is gone
 * (a killed sweep) is taken over. Returns the release function.
 */
export function lockResults(csv: string): () => void {
  const lock = `${csv}.lock`;
  mkdirSync(dirname(resolve(lock)), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          if (readFileSync(lock, 'utf8').trim() === String(process.pid)) unlinkSync(lock);
        } catch {
          // already gone
        }
      };
      process.once('exit', release);
      // a cancelled cluster task (scancel, kubectl delete) gets SIGTERM: leave no lock behind, so
      // the resubmitted task, perhaps on another node where this pid means nothing, takes the file
      const onSignal = (signal: NodeJS.Signals) => {
        release();
        process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      return () => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        release();
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new UserError(`${lock}: cannot create the lock (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      const pid = Number(readFileSync(lock, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) throw new UserError(`${csv}: another sweep (pid ${pid}) is writing it (lock ${lock}); wait for it to finish or give another --out`);
      unlinkSync(lock); // stale: its sweep was killed
    }
  }
  throw new UserError(`${lock}: could not take the lock`);
}

export async function runSweep(o: SweepOptions): Promise<SweepOutcome> {
  // one sweep writes a results file at a time
  const release = lockResults(sweepOutputs(o.out).csv);
  try {
    return await runSweepLocked(o);
  } finally {
    release();
  }
}

/** What defines a sweep, computed before anything runs: its points (planned), its id, its files' columns. */
export interface SweepIdentity {
  id: string;
  total: number;
  /** every point, its chip built when read, unsharded, in index order */
  points: PlannedPoint[];
  /** distinct simulation groups among all points */
  groups: number;
  baseName: string;
  thresholdFiles: string[];
  snnFile: boolean;
  net0: ReturnType<typeof loadAnnModel>;
  /** the detector's frames (none for a NIR graph) */
  images: string[];
  /** frames per point: the images, or the NIR graph's inputs */
  frames: number;
  /** neurons of the network (for the rough estimate) */
  neurons: number;
  /** a NIR graph: the imported network and its inputs (no ANN, no detections) */
  nir: { snn: SnnNetwork; inputs: NirInputs } | null;
  modelShown: Record<string, unknown>;
  fixedShown: Record<string, unknown>;
  columns: string[];
}

/**
 * Plans every point (space.ts validatePoints: every value of every chip field validated, each
 * point's chip built when priced) and computes the sweep id from everything that defines its rows; shared by a sweep, its shards and `--emit` (so a generated
 * cluster script names the id its tasks will write).
 */
export function sweepIdentity(o: Omit<SweepOptions, 'shard' | 'out' | 'workers'>, progress: (line: string) => void = () => {}): SweepIdentity {
  const axes = o.axes;
  const total = pointCount(axes);
  progress(`sweep: ${total.toLocaleString('en-US')} point${total === 1 ? '' : 's'} (${axes.map((a) => `${a.path} × ${a.values.length}`).join(', ')}); validating every value of every chip field before anything runs`);
  // 1. every point planned, every value of every chip field validated, before anything runs
  const points = validatePoints(o.chip, axes, o.fixed, null, progress);
  const base = loadChip(o.chip);
  const baseName = `${base.spec.name}${base.variant ? '@' + base.variant : ''}`;
  const thresholdFiles = [...new Set(points.map((v) => v.point.run.thresholds).filter((t): t is string => t !== null))];
  for (const t of thresholdFiles) if (!existsSync(t)) throw new UserError(`thresholds ${t}: no such file`);
  const snnFile = isSnnModel(o.model.model);
  if (snnFile && axes.some((a) => a.path === 'norm' || a.path === 'neuron' || a.path === 'statistic'))
    throw new UserError(`--vary: ${o.model.model} is a converted network; norm, statistic and neuron can only be varied when converting on the fly`);
  const modelShown = Object.fromEntries(Object.entries(o.model).filter(([, v]) => v !== undefined).map(([k, v]) => [k, typeof v === 'string' ? shortenPaths(v) : v]));
  if (isNirFile(o.model.model)) return nirIdentity(o, { total, points, baseName, baseSpec: base.spec, modelShown });
  if (o.nir && (o.nir.rate !== undefined || o.nir.events !== undefined || o.nir.dtS !== undefined))
    throw new UserError(`--${o.nir.events !== undefined ? 'input-events' : o.nir.rate !== undefined ? 'input-rate' : 'nir-dt'}: only for a NIR graph (--model FILE.nir); a detector's frames are --images`);

  // 2. the sweep's identity: everything that defines its rows
  const net0 = loadAnnModel(o.model);
  const images = o.images?.length ? o.images : net0.format === 'face-api' ? faceSamplePhotos() : [];
  if (images.length === 0) throw new UserError('--images: give the frames (the sample photos are the default only for the face detector)');
  const imageHashes = images.map((f) => {
    try {
      return sha256Hex(readFileSync(f));
    } catch {
      throw new UserError(`${f}: cannot read the image`);
    }
  });
  // the run fields that are not varied (a varied field's default does not define the sweep)
  const fixedRun = Object.fromEntries(Object.entries(o.fixed).filter(([k]) => !axes.some((a) => a.path === k)));
  const conversion = o.conversion ?? {};
  // the default calibration is named by its photos' bytes: what 'default' means may change
  const calibUsed = snnFile ? undefined : o.calib?.length ? o.calib : defaultCalibration(net0, images);
  const fixedShown = { ...fixedRun, ...(Object.keys(conversion).length ? { conversion } : {}), images: images.map((f) => shortenPaths(f)), calib: o.calib?.length ? o.calib.map((f) => shortenPaths(f)) : calibUsed ? `default (${describeCalibration(calibUsed)})` : 'default', auto_board: o.autoBoard, candidate_threshold: o.candidateThreshold };
  const definition = {
    version: 1, chip: baseName, chipSpec: base.spec, axes: axes.map((a) => [a.path, a.values]), model: modelShown,
    fixed: { ...fixedShown, images: imageHashes, calib: calibUsed?.map((f) => sha256Hex(readFileSync(f))) ?? 'default' }, seed: o.seed,
    thresholds: thresholdFiles.map((t) => [t, sha256Hex(readFileSync(t))]),
  };
  return {
    id: sweepId(definition), total, points, groups: new Set(points.map((v) => v.point.simKey)).size, baseName, thresholdFiles, snnFile, net0, images,
    frames: images.length, neurons: net0.layers.reduce((a, l) => a + shapeSize(l.outShape), 0), nir: null,
    modelShown, fixedShown, columns: csvColumns(axes),
  };
}

/** The run fields a NIR graph cannot vary: it is not converted here, so nothing of the conversion applies. */
const CONVERSION_FIELDS = ['norm', 'statistic', 'neuron', 'thresholds'] as const;

/**
 * The identity of a sweep of an imported NIR graph: the graph's bytes, its input (rates, or the
 * events file's bytes), the step --nir-dt; no images, calibration or detections.
 */
function nirIdentity(
  o: Omit<SweepOptions, 'shard' | 'out' | 'workers'>,
  s: { total: number; points: PlannedPoint[]; baseName: string; baseSpec: unknown; modelShown: Record<string, unknown> },
): SweepIdentity {
  const file = o.model.model!;
  const varied = o.axes.find((a) => (CONVERSION_FIELDS as readonly string[]).includes(a.path));
  if (varied) throw new UserError(`--vary ${varied.path}: ${file} is a NIR graph, run with its own weights and thresholds; ${CONVERSION_FIELDS.join(', ')} apply to a converted detector`);
  if (o.fixed.thresholds !== null) throw new UserError(`--thresholds: ${file} is a NIR graph, run with its own thresholds; a thresholds file of \`neuroemu tune\` is for a converted detector`);
  for (const [flag, given] of [['--images', !!o.images?.length], ['--calib', !!o.calib?.length], ['--weights', o.model.weights !== undefined], ['--size', o.model.size !== undefined]] as const)
    if (given) throw new UserError(`${flag}: ${file} is a NIR graph; its input is --input-rate or --input-events`);
  const imp = loadNirSnn(file, { dtS: o.nir?.dtS });
  const inputs = nirInputs(imp.input, o.nir ?? {}, o.seed);
  let graphHash: string;
  try {
    graphHash = sha256Hex(readFileSync(file));
  } catch {
    throw new UserError(`${file}: cannot read the NIR graph`);
  }
  const fixedShown = {
    timesteps: o.fixed.timesteps, placement: o.fixed.placement, input: inputs.json, ...(o.nir?.dtS !== undefined ? { nir_dt_s: o.nir.dtS } : {}), auto_board: o.autoBoard,
  };
  for (const a of o.axes) delete (fixedShown as Record<string, unknown>)[a.path];
  const definition = {
    version: 1, chip: s.baseName, chipSpec: s.baseSpec, axes: o.axes.map((a) => [a.path, a.values]), model: s.modelShown,
    fixed: { ...fixedShown, input: inputs.identity, graph: graphHash }, seed: o.seed, thresholds: [],
  };
  return {
    id: sweepId(definition), total: s.total, points: s.points, groups: new Set(s.points.map((v) => v.point.simKey)).size, baseName: s.baseName, thresholdFiles: [], snnFile: false,
    net0: imp.snn.ann, images: [], frames: inputs.frames.length, neurons: imp.snn.layers.reduce((a, l) => a + shapeSize(l.outShape), 0), nir: { snn: imp.snn, inputs },
    modelShown: s.modelShown, fixedShown, columns: csvColumns(o.axes),
  };
}

async function runSweepLocked(o: SweepOptions): Promise<SweepOutcome> {
  const progress = o.onProgress ?? (() => {});
  const files = sweepOutputs(o.out);
  const axes = o.axes;
  const { id, total, baseName, snnFile, images, modelShown, fixedShown, columns, nir, ...identity } = sweepIdentity(o, progress);
  const validated = selectShard(identity.points, o.shard);
  const conversion = o.conversion ?? {};

  // 3. resume: the rows already in the file
  const done = new Set<number>();
  if (existsSync(files.csv)) {
    const prev = readResults(files.csv, { repair: true });
    if (prev.columns.length && prev.columns.join(',') !== columns.join(','))
      throw new UserError(`${files.csv}: holds another sweep's results (other columns); give another --out or remove the file`);
    const duplicates: number[] = [];
    for (const r of prev.rows) {
      if (r.sweep !== id) throw new UserError(`${files.csv}: holds rows of sweep ${r.sweep}, not of this one (${id}: chip, varied fields, model, images or settings differ); give another --out or remove the file`);
      if (done.has(Number(r.point))) duplicates.push(Number(r.point));
      done.add(Number(r.point));
    }
    if (duplicates.length) {
      // two runs that once wrote the same file (before the lock): keep each point's first row
      writeFileAtomic(files.csv, formatResults(prev.columns, uniqueByPoint(prev.rows)));
      progress(`sweep: ${files.csv}: dropped ${duplicates.length} duplicate row${duplicates.length === 1 ? '' : 's'} (points ${[...new Set(duplicates)].slice(0, 10).join(', ')}${duplicates.length > 10 ? ', …' : ''}), kept the first of each`);
    }
  }
  removeStaleTraces(id);
  const todo = validated.filter((v) => !done.has(v.point.index));
  const groups = new Map<string, typeof todo>();
  for (const v of todo) {
    const g = groups.get(v.point.simKey);
    if (g) g.push(v);
    else groups.set(v.point.simKey, [v]);
  }
  const nSims = groups.size, nReplays = todo.length - groups.size;
  progress(
    `sweep ${id}: ${total} points on ${baseName} (${axes.map((a) => `${a.path} × ${a.values.length}`).join(', ')})` +
      (o.shard ? `; shard ${o.shard.index}/${o.shard.count}: ${validated.length} points` : '') +
      `; ${done.size ? `${validated.length - todo.length} already in ${files.csv}; ` : ''}` +
      `to do: ${todo.length} points = ${nSims} simulation${nSims === 1 ? '' : 's'} (each priced by replaying its trace) + ${nReplays} more priced from those traces` +
      (nSims ? `; ${roughEstimate(identity.neurons, [...groups.values()].map((g) => g[0].point.run.timesteps), identity.frames, nReplays, o.workers)}` : ''),
  );

  let simulated = 0, replayed = 0, refused = 0;
  if (todo.length) {
    // 4. the networks: calibrate once, convert once per conversion setting
    const calibrated = snnFile || nir ? undefined : calibrateModel(o.model, { net: identity.net0, calib: o.calib, images, onImage: (i, n, f) => progress(`calibrate [${i + 1}/${n}] ${shortenPaths(f)}`) });
    const snns = new Map<string, { snn: SnnNetwork; schedule?: ThresholdSchedule }>();
    const snnFor = (p: SweepPoint) => {
      let s = snns.get(p.snnKey);
      if (!s) {
        const raw = nir
          ? nir.snn
          : calibrated
          ? convertCalibrated(calibrated, settingsForNeuron({ ...conversion, norm: p.run.norm as NormMode, statistic: p.run.statistic ?? defaultSettings({ norm: p.run.norm as NormMode }).statistic }, p.run.neuron as 'ibt' | 'if')).snn
          : loadSnn(o.model.model!);
        const tuned = p.run.thresholds ? applyThresholdsFile(raw, p.run.thresholds) : undefined;
        for (const w of tuned?.warnings ?? []) progress(`warning: ${w}`);
        s = { snn: tuned ? tuned.snn : raw, schedule: tuned?.schedule };
        snns.set(p.snnKey, s);
      }
      return s;
    };
    for (const v of todo) snnFor(v.point);
    const net = [...snns.values()][0].snn.ann;
    // a detector's frames are its images, scored against the ANN; a NIR graph's are its inputs, not scored
    const decoded = images.map((f) => loadImage(f));
    const inputs = nir ? nir.inputs.frames : decoded.map((img) => preprocess(net, img));
    const inputEvents = nir?.inputs.inputEvents;
    const ann = nir ? null : await detectImagesAnn(net, images);

    // 5. the groups, in parallel
    const t0 = performance.now();
    // a simulation's time is taken as proportional to its ticks (per frame, the same network)
    let simSeconds = 0, simTicksDone = 0, simsDone = 0, replaySeconds = 0, replaysDone = 0, rowsDone = 0;
    let simTicksLeft = [...groups.values()].reduce((a, g) => a + g[0].point.run.timesteps, 0);
    const eta = () => {
      if (simTicksDone === 0) return 'ETA after the first simulation';
      const perTick = simSeconds / simTicksDone, perReplay = replaysDone ? replaySeconds / replaysDone : 0;
      const lanes = Math.max(1, Math.min(o.workers, nSims - simsDone));
      const left = (simTicksLeft * perTick + (todo.length - rowsDone) * perReplay) / lanes;
      return `ETA ${fmtDuration(left)}`;
    };
    const write = (p: SweepPoint, status: string, figures: PointFigures | null, ap50: number | null, fidelity: Fidelity | null = null) => {
      const config = nir
        ? { chip: baseName, set: p.chipSet, model: modelShown, ...fixedShown, timesteps: p.run.timesteps, placement: p.run.placement, seed: o.seed }
        : {
            chip: baseName, set: p.chipSet, model: modelShown, ...fixedShown, timesteps: p.run.timesteps, norm: p.run.norm, statistic: p.run.statistic,
            neuron: p.run.neuron, thresholds: p.run.thresholds, placement: p.run.placement, seed: o.seed,
          };
      appendRow(files.csv, columns, csvRow(axes, { point: p, sweep: id, points: total, chip: baseName, seed: o.seed, status, figures, ap50, fidelity, config, converted: !nir }));
      rowsDone++;
    };
    const runGroup = async (planned: typeof todo, k: number) => {
      // each point's chip is built here, once (space.ts validatePoints): fields valid one by one may be refused together
      const members: { point: SweepPoint; params: ChipParams }[] = [];
      for (const m of planned) {
        try {
          members.push({ point: m.point, params: m.chip.params });
        } catch (e) {
          if (!(e instanceof UserError)) throw e;
          write(m.point, `refused: ${e.message}`, null, null);
          refused++;
          progress(`[${rowsDone}/${todo.length}] point ${m.point.index} refused (${m.point.label}): ${e.message}`);
        }
      }
      if (members.length === 0) {
        simTicksLeft -= planned[0].point.run.timesteps;
        simsDone++;
        return;
      }
      const first = members[0].point;
      const s = snnFor(first);
      const job: GroupJob = {
        snn: s.snn, schedule: s.schedule, inputs, inputEvents, timesteps: first.run.timesteps, seed: o.seed, autoBoard: o.autoBoard, placement: first.run.placement as PlacementOrder,
        traceFile: join(tmpdir(), `neuroemu-sweep-${id}-${process.pid}-${k}.trace`),
        points: members.map((m) => ({ index: m.point.index, chip: m.params })),
        // one frame (nothing to split) and a spare worker per lane: two threads per tick, the same rows
        threads: inputs.length === 1 ? threadsPerTick(o.workers, nLanes) : 1,
      };
      if (job.threads === 2 && k === 0) progress('sweep: one frame and workers to spare: each simulation runs two threads per tick (the same rows)');
      const byIndex = new Map(members.map((m) => [m.point.index, m.point]));
      let ap50: number | null = null;
      let fidelity: Fidelity | null = null;
      const onMsg = (m: GroupMsg) => {
        if (m.kind === 'progress') progress(m.line);
        else if (m.kind === 'simulated') {
          simSeconds += m.seconds;
          simTicksDone += first.run.timesteps;
          simTicksLeft -= first.run.timesteps;
          simsDone++;
          simulated++;
          if (!ann) return; // a NIR graph: no detections to score
          const snnImages: ImageDetections[] = m.readouts.map((raws, i) => ({
            file: images[i], width: decoded[i].width, height: decoded[i].height,
            detections: detectFromReadouts(s.snn, raws, decoded[i].width, decoded[i].height, o.candidateThreshold),
          }));
          ap50 = apAgainst(ann.images, snnImages).map;
          fidelity = fidelityAtThreshold(ann.images, snnImages, { threshold: net.scoreThreshold });
        } else if (m.kind === 'refused') {
          for (const mm of members) write(mm.point, `refused: ${m.reason}`, null, null);
          refused += members.length;
          simTicksLeft -= first.run.timesteps;
          simsDone++;
          progress(`[${rowsDone}/${todo.length}] ${members.length} point${members.length > 1 ? 's' : ''} refused (${first.label}): ${m.reason}`);
        } else if (m.kind === 'priced') {
          if (m.index !== first.index) replayed++;
          replaySeconds += m.seconds;
          replaysDone++;
          const p = byIndex.get(m.index)!;
          write(p, 'ok', m.figures, ap50, fidelity);
          progress(
            `[${rowsDone}/${todo.length}] point ${p.index} ${p.label}: ${(m.figures.energy_per_frame_J * 1e3).toPrecision(4)} mJ/frame, ` +
              `${(m.figures.latency_frame_s * 1e3).toPrecision(4)} ms/frame${nir ? '' : `, AP ${ap50 === null ? 'n/a' : ap50.toFixed(4)}, F1 ${fidelity ? fidelity.f1.toFixed(3) : 'n/a'}`} ` +
              `(${m.index === first.index ? 'simulated' : 'replayed'}); ${simsDone}/${nSims} simulations, ${((performance.now() - t0) / 1000).toFixed(0)} s, ${eta()}`,
          );
        }
      };
      if (parts > 1 && inputs.length > 1) {
        // fewer groups than workers: the group's frames are simulated in parts, one worker each,
        // their traces joined into the group's (the bytes of one simulation), then priced
        const t1 = performance.now();
        try {
          const em = await emulateSplit(
            { snn: s.snn, schedule: s.schedule, chip: members[0].params, inputs, inputEvents, timesteps: first.run.timesteps, seed: o.seed, autoBoard: o.autoBoard, placement: first.run.placement as PlacementOrder, trace: job.traceFile },
            parts, (part) => emulateInWorker(part, progress));
          onMsg({ kind: 'simulated', readouts: em.readouts, seconds: (performance.now() - t1) / 1000 });
        } catch (e) {
          if (!(e instanceof UserError)) throw e;
          onMsg({ kind: 'refused', reason: e.message });
          return;
        }
        job.recorded = true;
      }
      if (o.workers > 0) await priceGroupInWorker(job, onMsg);
      else await priceGroup(job, onMsg);
    };
    const queue = [...groups.values()];
    const nLanes = Math.max(1, Math.min(o.workers, queue.length));
    const parts = o.workers > 1 ? Math.floor(o.workers / nLanes) : 1;
    let next = 0;
    const lane = async () => {
      while (next < queue.length) {
        const k = next++;
        await runGroup(queue[k], k);
      }
    };
    await Promise.all(Array.from({ length: nLanes }, lane));
  }

  // 6. a complete sweep (or shard) is rewritten sorted by point; summary and plots from the file
  const read = existsSync(files.csv) ? readResults(files.csv, { repair: true }) : { columns, rows: [] as Row[] };
  const now = { columns: read.columns, rows: uniqueByPoint(read.rows) };
  const mine = new Set(validated.map((v) => v.point.index));
  const present = now.rows.filter((r) => mine.has(Number(r.point)));
  const complete = present.length === validated.length;
  if (complete && now.rows.length) writeFileAtomic(files.csv, formatResults(columns, now.rows));
  writeSweepReport(now.rows, files, {
    sweep: id, points: total, base: baseName, axes, seed: o.seed,
    fixed: { model: modelShown, ...fixedShown, shard: o.shard ? `${o.shard.index}/${o.shard.count}` : null },
    run: { skipped: validated.length - todo.length, simulated, replayed, refused },
    groups: new Set(validated.map((v) => v.point.simKey)).size,
  });
  return { sweep: id, points: total, shardPoints: validated.length, skipped: validated.length - todo.length, simulated, replayed, refused, complete, files };
}

/**
 * Emulation with accounting costs about this much per neuron and tick: the face detector at 416
 * (8.18 M neurons) took 34.7 ms per tick with Loihi's accounting and 81 ms with TrueNorth's on
 * this project's 2-core machine (issue 11's measurements); a prior for the estimate printed before
 * anything runs, replaced by the measured rate after the first simulation.
 */
export const ROUGH_NS_PER_NEURON_TICK = 7;
const ROUGH_REPLAY_S = 0.5;

/** "rough estimate 3m20s (…)" for simulations of the given ticks on `frames` frames, before any work. */
export function roughEstimate(neurons: number, groupTicks: number[], frames: number, replays: number, workers: number): string {
  const ticks = groupTicks.reduce((a, t) => a + t, 0);
  const lanes = Math.max(1, Math.min(workers, groupTicks.length));
  const seconds = (ticks * frames * neurons * ROUGH_NS_PER_NEURON_TICK * 1e-9 + replays * ROUGH_REPLAY_S) / lanes;
  return `rough estimate ${fmtDuration(seconds)} (${ticks.toLocaleString('en-US')} simulated ticks × ${frames} frames × ${(neurons / 1e6).toPrecision(3)} M neurons at ~${ROUGH_NS_PER_NEURON_TICK} ns per neuron-tick, ${lanes} in parallel; the ETA after the first simulation is measured)`;
}

/** Traces a killed run of this sweep left in the temporary directory (its process is gone). */
function removeStaleTraces(id: string): void {
  const re = new RegExp(`^neuroemu-sweep-${id}-(\\d+)-\\d+\\.trace(\\.\\d+\\.tmp)?$`); // finished or being written
  for (const f of readdirSync(tmpdir())) {
    const m = re.exec(f);
    if (!m) continue;
    if (!processAlive(Number(m[1]))) rmSync(join(tmpdir(), f), { force: true });
  }
}

/** Writes the JSON summary and the two SVG plots of a set of rows. */
export function writeSweepReport(rows: Row[], files: ReturnType<typeof sweepOutputs>, meta: Parameters<typeof sweepSummary>[1]): void {
  const summary = sweepSummary(rows, meta);
  writeFileAtomic(files.summary, JSON.stringify(summary, null, 1) + '\n');
  const plots = sweepPlots(rows, `sweep ${meta.base}`);
  writeFileAtomic(files.pareto, plots.pareto);
  writeFileAtomic(files.ap, plots.ap);
}

/** The axes of a results file, recovered from its config column (for `sweep merge`). */
export function axesOfRows(rows: Row[]): { base: string; seed: number; fixed: Record<string, unknown>; axes: Axis[] } {
  const r0 = rows[0];
  const cfg = JSON.parse(r0.config) as Record<string, unknown>;
  const varied = r0.varied.split(' ').map((kv) => kv.slice(0, kv.indexOf('=')));
  const axes: Axis[] = varied.filter(Boolean).map((path) => {
    const vals = new Map<string, string | number | boolean>();
    for (const r of rows) {
      const kv = r.varied.split(' ').find((x) => x.startsWith(path + '='));
      const raw = kv ? kv.slice(path.length + 1) : '';
      const v = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
      vals.set(canonicalJson(v), v);
    }
    return { path, values: [...vals.values()], chip: path in ((cfg.set as object) ?? {}) };
  });
  return { base: String(cfg.chip), seed: Number(cfg.seed), fixed: { model: cfg.model }, axes };
}
