/**
 * Emulation throughput: the bare spiking tick against the tick with a chip's per-core accounting,
 * the fixed cost before the first tick, and peak memory, for the default face network at 416 and
 * yolov2-tiny-voc at 416 (synthetic weights), on one thread per tick and on two (a case
 * MODEL:CHIP:2: the tick's layers shared with a worker, SimulatorOptions.threads); each case runs
 * in its own child process so its peak RSS is its own.
 *
 *   npm run bench:run                  table on stdout, progress on stderr
 *   npm run -s bench:run -- --json     only a JSON summary on stdout
 *   options: --ticks N (timed ticks, default 64)  --cases face:bare,face:loihi:2,...  --out FILE
 *            --layers (per-layer ms of the bare face tick)
 *
 * How each figure is measured (one frame, sample1.jpg from @vladmandic/face-api):
 *   bare       createSimulator with the chips' layer delay (1): reset, run(8) (the fill ticks and 8
 *              readout ticks, untimed), then run(N) in one WASM call, timed; ms/tick = time / N.
 *   CHIP       emulateFrames on that chip, the same frame twice: for 8 and for 8 + N readout ticks;
 *              ms/tick = difference / N (the mapping, tables and fill ticks cancel). Fixed cost =
 *              mapping (mapNetwork) + route tables (buildAcctTables) + simulator creation, timed once.
 *   synaptic events/s: the chip's synaptic events (on-chip, counted by the accounting) per second of
 *              the timed ticks. SOPs/s: the network's SOPs per second.
 *   page faults: the minor page faults (first touches of fresh memory) during the fixed cost, and
 *              their time at this machine's measured cost of one (freshPageS).
 *   memory floor: a bare case's bytes that a tick must move at least (every conv membrane with a
 *              constant current, a bias or the analog drive, is read and written each tick; the
 *              drive is read), at this machine's streaming rate (streamGBps, measured once by the
 *              parent: the core's own f32x4 read-modify-write pass over 256 MiB).
 *   peak RSS: the child process's maximum resident set (process.resourceUsage().maxRSS), the whole
 *              case included (model, calibration, mapping, simulation).
 *   split:     where a chip's tick goes: bare (no accounting, the chip's layer delay), + the core's
 *              accounting of spikes (active neurons, cost records: accounting with nocInCore false
 *              and no listener), + the core's NoC tally (tallyNoc), each the difference of two runs
 *              of the same ticks; + the host (the emulation's NocTally.record and Accountant.tick
 *              with the core's per-core tally), timed inside the tick listener. The parts need not
 *              add up to the full tick above (separate runs, a noisy machine). Measured after peak RSS.
 * The conversion is the default one of `neuroemu run` (channel-wise, IBT, analog input, V₀ = θ/2,
 * calibrated as `run` does by default: the six face-api sample photos and @evalset:tune; yolov2-tiny-voc on sample1.jpg alone).
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { argv, emitSummary, machineInfo, nowS, opt, progress } from './common.ts';
import { snnFromModel } from '../src/convert/from-model.ts';
import { loadChip } from '../src/hw/chip-schema.ts';
import { mapNetwork } from '../src/hw/mapper.ts';
import { loadImage } from '../src/image/decode.ts';
import { preprocess } from '../src/image/preprocess.ts';
import { PROJECT_ROOT } from '../src/model/load.ts';
import { buildAcctTables } from '../src/sim/acct.ts';
import { emulateFrames } from '../src/sim/emulate.ts';
import { Accountant, NocTally, geometryOf } from '../src/hw/account.ts';
import { createSimulator } from '../src/sim/simulator.ts';
import type { SimPlan } from '../src/sim/plan.ts';
import { instantiateSnn, type WasmSnn } from '../src/sim/wasm.ts';

const ticks = opt('--ticks', 64);
const WARM = 8;
const SAMPLE1 = join(PROJECT_ROOT, 'node_modules', '@vladmandic', 'face-api', 'demo', 'sample1.jpg');
const round = (x: number, p = 4) => Number(x.toPrecision(p));

interface CaseResult {
  case: string;
  model: string;
  /** threads per tick */
  threads: number;
  chip: string;
  msPerTick: number;
  ticksPerS: number;
  sopsPerTick: number;
  gsopsPerS: number;
  synapticEventsPerS: number | null;
  fixedCostS: number | null;
  mapS: number | null;
  tablesS: number | null;
  /** minor page faults during the fixed cost (first touches of fresh memory), and their estimated time */
  fixedPageFaults?: number;
  fixedPageFaultS?: number;
  cores: number | null;
  peakRssMiB: number;
  wasmMemoryMiB: number | null;
  perLayerMs?: { layer: string; ms: number }[];
  /** a bare case: the MB a tick must move at least (denseBytesPerTick) */
  denseMbPerTick?: number;
  /** (the summary) that at this machine's streaming rate (streamGBps), ms */
  denseFloorMs?: number;
  /** a chip case: the fill ticks of a frame, and a 500-tick frame's time: fixed cost + (500 + fill) × ms per tick */
  fillTicks?: number;
  frame500S?: number;
  /** where a chip's tick goes beyond the bare tick, ms per tick (measured after peakRssMiB) */
  split?: { bareMs: number; coreRecordsMs: number; coreNocMs: number; hostMs: number };
}

/**
 * This machine's cost of touching one fresh 4 KiB page (a minor page fault), measured on 64 MiB of
 * new memory: on the Firecracker VM it is about 10 µs, which makes first touches a large part of
 * any fixed cost (2 GB/s of sequential writes become 0.3–0.4 GB/s).
 */
function freshPageS(): number {
  const f0 = process.resourceUsage().minorPageFault, t0 = nowS();
  const a = new Int32Array(16 << 20);
  for (let i = 0; i < a.length; i += 1024) a[i] = 1;
  return (nowS() - t0) / Math.max(1, process.resourceUsage().minorPageFault - f0);
}

/**
 * This machine's read-modify-write streaming rate in GB/s (bytes read + written), the core's own
 * f32x4 pass (streamProbe: v += 1) over 256 MiB, best of 5 after a first touch.
 */
function streamGBps(): number {
  const k = instantiateSnn(), bytes = 256 << 20;
  const base = Math.ceil(k.heapBase() / 64) * 64;
  const pages = Math.ceil((base + bytes) / 65536) - k.memory.buffer.byteLength / 65536;
  if (pages > 0) k.memory.grow(pages);
  k.streamProbe(base, bytes);
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t = nowS();
    k.streamProbe(base, bytes);
    best = Math.min(best, nowS() - t);
  }
  return (2 * bytes) / best / 1e9;
}

/**
 * The bytes a tick of a simulation plan moves at least in its dense passes: the membranes of every
 * conv channel with a constant current (a bias, or the analog drive: the plan's ConvPlan.analog)
 * change every tick, so each is read and written (4 + 4 bytes, float32), and the analog drive is
 * read (4 bytes); spikes, weights and pools are not counted.
 */
function denseBytesPerTick(plan: SimPlan): number {
  let bytes = 0;
  for (const lp of plan.layers) {
    const l = lp.layer;
    if (!lp.conv || l.kind !== 'conv') continue;
    const pix = l.outShape.h * l.outShape.w, analog = lp.conv.analog;
    const driven = analog ? l.outShape.c : l.biases.reduce((n, b) => n + (b !== 0 ? 1 : 0), 0);
    bytes += pix * driven * (analog ? 12 : 8);
  }
  return bytes;
}

function modelSpec(model: string) {
  return model === 'face'
    ? { spec: { model: 'face', size: 416 }, calib: undefined as string[] | undefined }
    : { spec: { model: 'yolov2-tiny-voc', weights: 'synthetic:1', size: 416 }, calib: [SAMPLE1] };
}

async function runCase(name: string): Promise<CaseResult> {
  // model:chip[:threads] — threads per tick (2: the tick's layers shared with a worker)
  const [model, chipName, threadsArg] = name.split(':');
  const threads = threadsArg ? Number(threadsArg) : 1;
  const { spec, calib } = modelSpec(model);
  const snn = snnFromModel(spec, { calib, images: calib }).snn;
  const input = preprocess(snn.ann, loadImage(SAMPLE1));
  if (chipName === 'bare') {
    const sim = await createSimulator(snn, { seed: 1, layerDelay: 1, threads });
    sim.reset(input);
    sim.run(WARM);
    const c0 = sim.counts().totals.sops;
    const t0 = nowS();
    sim.run(ticks);
    const s = nowS() - t0;
    const sops = (sim.counts().totals.sops - c0) / ticks;
    const denseMbPerTick = round(denseBytesPerTick(sim.plan) / 1e6);
    let perLayerMs: CaseResult['perLayerMs'];
    if (argv.includes('--layers') && threads === 1) {
      // the parts of a tick, layer by layer (in the undelayed order: a profile, not the semantics)
      const core = sim.core as WasmSnn;
      const acc = new Float64Array(snn.layers.length);
      let inputS = 0;
      for (let t = 0; t < 16; t++) {
        const a = nowS();
        core.kernels.beginTick(core.netDesc);
        inputS += nowS() - a;
        for (let i = 0; i < snn.layers.length; i++) {
          const b = nowS();
          core.kernels.layerStep(core.netDesc, core.layerDesc(i));
          acc[i] += nowS() - b;
        }
      }
      perLayerMs = [{ layer: 'input', ms: round((inputS / 16) * 1e3) }, ...snn.layers.map((l, i) => ({
        layer: `${i} ${l.kind}${l.kind === 'conv' ? ` ${l.size}x${l.size} ${l.inShape.c}->${l.outShape.c} ${l.rule}` : ''} ${l.outShape.w}x${l.outShape.h}`,
        ms: round((acc[i] / 16) * 1e3),
      }))];
    }
    return {
      case: name, model, threads, chip: 'none', msPerTick: round((s / ticks) * 1e3), ticksPerS: round(ticks / s), sopsPerTick: round(sops), gsopsPerS: round(sops * ticks / s / 1e9),
      synapticEventsPerS: null, fixedCostS: null, mapS: null, tablesS: null, cores: null,
      peakRssMiB: round(process.resourceUsage().maxRSS / 1024), wasmMemoryMiB: round(sim.peakMemoryBytes / 2 ** 20), perLayerMs, denseMbPerTick,
    };
  }
  const chip = loadChip(chipName).params;
  const faults = () => process.resourceUsage().minorPageFault;
  const f0 = faults();
  const t0 = nowS();
  const mapping = mapNetwork(snn, chip, { autoBoard: true });
  const t1 = nowS();
  const tables = buildAcctTables(mapping);
  const t2 = nowS();
  const sim = await createSimulator(snn, { seed: 1, accounting: tables, layerDelay: chip.timing.layerDelayTicks, activeRule: chip.energy.activeUpdate, threads });
  const t3 = nowS();
  const fixedFaults = faults() - f0;
  void sim;
  const once = async (T: number) => {
    const a = nowS();
    const r = await emulateFrames(snn, chip, [input], { timesteps: T, seed: 1, mapping, accounting: tables, threads });
    return { s: nowS() - a, r };
  };
  const short = await once(WARM);
  const long = await once(WARM + ticks);
  const dt = long.s - short.s;
  const sops = ((long.r.totals.counts.sops ?? 0) - (short.r.totals.counts.sops ?? 0)) / ticks;
  const events = long.r.totals.counts.synaptic_events - short.r.totals.counts.synaptic_events;
  const peakRssMiB = round(process.resourceUsage().maxRSS / 1024);
  const wasmMemoryMiB = round(sim.peakMemoryBytes / 2 ** 20);
  // where the time goes: the same ticks on simulators that do less of the accounting (no listener:
  // the counters are handed to nobody) — the core's accounting of spikes only (active neurons, cost
  // records), then its NoC tally too; the host's part (the emulation's NocTally.record and
  // Accountant.tick, with the core's per-core tally) is timed inside the listener itself
  const msPerTickOf = async (opts: { accounting?: typeof tables; nocInCore?: boolean }) => {
    const s2 = opts.accounting ? (opts.nocInCore === false ? await createSimulator(snn, { seed: 1, accounting: tables, layerDelay: chip.timing.layerDelayTicks, activeRule: chip.energy.activeUpdate, nocInCore: false, threads }) : sim)
      : await createSimulator(snn, { seed: 1, layerDelay: chip.timing.layerDelayTicks, threads });
    s2.reset(input);
    s2.run(WARM);
    const a = nowS();
    s2.run(ticks);
    const ms = ((nowS() - a) / ticks) * 1e3;
    if (s2 !== sim) s2.close();
    return ms;
  };
  const bareMs = await msPerTickOf({});
  const recordsMs = await msPerTickOf({ accounting: tables, nocInCore: false });
  const nocMs = await msPerTickOf({ accounting: tables });
  const noc = new NocTally(tables.routes), accountant = new Accountant(chip, geometryOf(mapping), { coreTally: sim.coreTally() });
  let hostS = 0;
  sim.onTick((c) => {
    const a = nowS();
    accountant.tick(noc.record(c));
    hostS += nowS() - a;
  });
  sim.reset(input);
  sim.run(WARM);
  hostS = 0;
  sim.run(ticks);
  sim.onTick(null);
  const split = { bareMs: round(bareMs), coreRecordsMs: round(recordsMs - bareMs), coreNocMs: round(nocMs - recordsMs), hostMs: round((hostS / ticks) * 1e3) };
  return {
    case: name, model, threads, chip: chipName, msPerTick: round((dt / ticks) * 1e3), ticksPerS: round(ticks / dt), sopsPerTick: round(sops), gsopsPerS: round(sops * ticks / dt / 1e9),
    synapticEventsPerS: round(events / dt), fixedCostS: round(t3 - t0), mapS: round(t1 - t0), tablesS: round(t2 - t1), cores: mapping.coresUsed,
    fixedPageFaults: fixedFaults, fixedPageFaultS: round(fixedFaults * freshPageS()),
    fillTicks: sim.fillTicks, frame500S: round(t3 - t0 + ((500 + sim.fillTicks) * dt) / ticks),
    peakRssMiB, wasmMemoryMiB, split,
  };
}

const caseIdx = argv.indexOf('--case');
if (caseIdx >= 0) {
  // child: one case, its JSON on stdout
  process.stdout.write(JSON.stringify(await runCase(argv[caseIdx + 1])) + '\n');
} else {
  const ci = argv.indexOf('--cases');
  const cases = ci >= 0 ? argv[ci + 1].split(',') : ['face:bare', 'face:loihi', 'face:truenorth', 'yolov2-tiny-voc:bare', 'yolov2-tiny-voc:loihi',
    'face:bare:2', 'face:loihi:2', 'face:truenorth:2', 'yolov2-tiny-voc:bare:2', 'yolov2-tiny-voc:loihi:2'];
  const machine = { ...machineInfo(), loadAvg1mAtEnd: 0, streamGBps: round(streamGBps()) };
  progress(`machine: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, load ${machine.loadAvg1m.toFixed(2)}, streaming ${machine.streamGBps.toFixed(1)} GB/s (read + write)`);
  const self = fileURLToPath(import.meta.url);
  const rows: CaseResult[] = [];
  for (const c of cases) {
    progress(`case ${c}...`);
    const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--case', c, '--ticks', String(ticks), ...(argv.includes('--layers') ? ['--layers'] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
    rows.push(JSON.parse(out.trim().split('\n').pop()!));
  }
  machine.loadAvg1mAtEnd = loadavg()[0];
  // × bare: against the bare tick of the same model on as many threads
  const bare = new Map(rows.filter((r) => r.chip === 'none').map((r) => [`${r.model}:${r.threads}`, r.msPerTick]));
  const summary = {
    benchmark: 'run', command: 'npm run -s bench:run -- --json', machine, timedTicks: ticks,
    // SANA-FE on this machine class, its Loihi DVS-gesture example (18,678 neurons, 1000 steps), as the issue quotes it
    peer: { name: 'SANA-FE', synapticEventsPerSPerThread: [3.8e6, 6.1e6], source: 'issue 11: SANA-FE Loihi DVS-gesture example, detailed/simple timing, this machine class' },
    cases: rows.map((r) => ({ ...r, ...(r.denseMbPerTick ? { denseFloorMs: round(r.denseMbPerTick / machine.streamGBps) } : {}), vsBare: bare.has(`${r.model}:${r.threads}`) && r.chip !== 'none' ? round(r.msPerTick / bare.get(`${r.model}:${r.threads}`)!, 3) : null })),
  };
  if (!emitSummary(summary)) {
    console.log(`emulation, one thread per tick (cases MODEL:CHIP:2: two) — ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, load ${machine.loadAvg1m.toFixed(2)} at start, ${machine.loadAvg1mAtEnd.toFixed(2)} at end; ${ticks} timed ticks`);
    console.log(`${'case'.padEnd(26)}${'ms/tick'.padStart(9)}${'× bare'.padStart(8)}${'ticks/s'.padStart(9)}${'GSOP/s'.padStart(8)}${'syn ev/s'.padStart(11)}${'fixed s'.padStart(9)}${'cores'.padStart(8)}${'RSS MiB'.padStart(9)}`);
    for (const r of summary.cases) {
      console.log(`${r.case.padEnd(26)}${r.msPerTick.toFixed(2).padStart(9)}${(r.vsBare === null ? '-' : r.vsBare.toFixed(2)).padStart(8)}${r.ticksPerS.toFixed(1).padStart(9)}${r.gsopsPerS.toFixed(2).padStart(8)}${(r.synapticEventsPerS === null ? '-' : (r.synapticEventsPerS / 1e6).toFixed(0) + ' M').padStart(11)}${(r.fixedCostS === null ? '-' : r.fixedCostS.toFixed(2)).padStart(9)}${String(r.cores ?? '-').padStart(8)}${r.peakRssMiB.toFixed(0).padStart(9)}`);
      if (r.denseFloorMs) console.log(`    memory floor of the dense passes: ${r.denseMbPerTick!.toFixed(1)} MB a tick (membranes with a constant current read and written, analog drive read) at ${machine.streamGBps.toFixed(1)} GB/s (this machine, one read-modify-write pass) = ${r.denseFloorMs.toFixed(2)} ms; the tick is ${(r.msPerTick / r.denseFloorMs).toFixed(0)}× that`);
      if (r.perLayerMs) for (const p of r.perLayerMs) console.log(`    ${p.layer.padEnd(48)}${p.ms.toFixed(3).padStart(9)} ms`);
      if (r.fixedPageFaults) console.log(`    fixed cost: map ${r.mapS!.toFixed(2)} s + tables ${r.tablesS!.toFixed(2)} s + simulator ${(r.fixedCostS! - r.mapS! - r.tablesS!).toFixed(2)} s; ${r.fixedPageFaults} page faults (${(r.fixedPageFaults * 4 / 1024).toFixed(0)} MiB first touched) ≈ ${r.fixedPageFaultS!.toFixed(2)} s of it`);
      if (r.split) console.log(`    where the tick goes: bare ${r.split.bareMs.toFixed(1)} ms + core: active neurons and cost records ${r.split.coreRecordsMs.toFixed(1)} + core: NoC tally ${r.split.coreNocMs.toFixed(1)} + host: tally record and accountant ${r.split.hostMs.toFixed(1)} (timed in the listener)`);
    }
    // issue 11's figure: a 500-tick frame of yolov2-tiny-voc on Loihi with accounting (fill ticks included)
    for (const r of summary.cases.filter((c) => c.model === 'yolov2-tiny-voc' && c.chip === 'loihi')) {
      console.log(`yolov2-tiny-voc, one 500-tick frame on Loihi with accounting, ${r.threads} thread${r.threads === 1 ? '' : 's'} per tick: ${r.frame500S!.toFixed(1)} s (fixed cost + (500 + ${r.fillTicks} fill) × ms/tick; target 60 s)`);
    }
    console.log(`peer: SANA-FE ${summary.peer.synapticEventsPerSPerThread.map((x) => x / 1e6).join('–')} M synaptic events/s per thread (${summary.peer.source})`);
  }
}
