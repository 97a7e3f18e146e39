/**
 * Issue 15, the rest of the fuzzing: chip files, traces, .snn files, thresholds files, detections
 * and ground-truth files through their library readers (success with a sane result, or a one-line
 * UserError naming the file), then numeric flags and output paths through the real CLI (exit 2
 * with one `neuroemu:` line, or 0 where the value is valid; no stack frame in any case's stderr).
 * Seeded (SEED), bounded to about a minute; FUZZ_SCALE=10 runs ten times as many library attempts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../src/util/errors.ts';
import { mulberry32 } from '../src/util/rng.ts';
import { builtinChipNames, CHIPS_DIR, loadChip, validateChipFile, type ChipParams } from '../src/hw/chip-schema.ts';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { ChipRunResult } from '../src/hw/account.ts';
import { replayTrace } from '../src/hw/trace.ts';
import { emulateFrames } from '../src/sim/emulate.ts';
import { createHash } from 'node:crypto';
import { buildDarknetNetwork, loadDarknetWeights, parseCfgText } from '../src/model/darknet.ts';
import { foldBatchNorm } from '../src/model/fold.ts';
import { shapeSize } from '../src/model/ir.ts';
import { syntheticDarknetWeights } from '../src/model/synthetic.ts';
import { calibrateInputs } from '../src/convert/calibrate.ts';
import { convertNetwork, defaultSettings } from '../src/convert/convert.ts';
import { encodeSnn, loadSnn } from '../src/convert/snn-file.ts';
import type { SnnNetwork } from '../src/convert/snn-ir.ts';
import { createSimulatorSync } from '../src/sim/simulator.ts';
import { applyThresholdsFile, spikingLayers, THRESHOLDS_FORMAT, THRESHOLDS_VERSION } from '../src/tune/thresholds-file.ts';
import type { EvalResult } from '../src/detect/map.ts';
import { runEval } from '../src/cli/eval.ts';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import { captureCli, runBinAsync } from './helpers/cli.ts';
import type { CommandModule } from 'yargs';
import { runCommand } from '../src/cli/run.ts';
import { convergenceCommand } from '../src/cli/convergence.ts';
import { sweepCommand } from '../src/cli/sweep.ts';
import { evalCommand } from '../src/cli/eval.ts';
import { writeFileAtomic } from '../src/util/atomic.ts';
import { CK, CORE_KINDS } from '../src/sim/acct.ts';
import { PROJECT_ROOT } from '../src/model/load.ts';
import { meshToyChip, meshToyNet, toyChip, toyNet } from './helpers/toy-chip.ts';
import { FUZZ_SCALE, Fuzzer, int, pick } from './helpers/fuzzer.ts';
import { mutateJson } from './helpers/json-mutate.ts';

const SEED = 20250115;
const SCALE = FUZZ_SCALE;
const tmp = mkdtempSync(join(tmpdir(), 'neuroemu-fuzz-files-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** a refusal must name the file it refuses */
const namesFile = (file: string) => (message: string) => (message.includes(file) ? null : `the message does not name ${file}`);

// ---------------------------------------------------------------------------------------------
// chip files

/** Throws (a fuzz failure) when an accepted chip has a figure the models cannot use. */
function checkChipParams(p: ChipParams): void {
  const bad = (what: string): never => {
    throw new Error(`accepted chip ${p.name}${p.variant ? '@' + p.variant : ''}: ${what}`);
  };
  const count = (v: number) => Number.isInteger(v) && v >= 1;
  if (![p.board.chipsX, p.board.chipsY, p.chip.cores, p.chip.tilesX, p.chip.tilesY, p.chip.coresPerTile, p.core.neurons].every(count)) bad('a count is not a positive integer');
  // a denormal bits_per_synapse makes it Infinity (unused by the mapper, which works in bits)
  if (!(p.core.maxSynapses >= 1)) bad(`maxSynapses ${p.core.maxSynapses}`);
  if (p.chip.cores > p.chip.tilesX * p.chip.tilesY * p.chip.coresPerTile) bad('more cores than router slots');
  for (const [k, v] of Object.entries(p.energy)) if (typeof v === 'number' ? !(Number.isFinite(v) && v >= 0) : !['input', 'nonzero'].includes(v)) bad(`energy.${k} = ${v}`);
  for (const [k, v] of Object.entries(p.timing.eventS)) if (!(Number.isFinite(v) && v >= 0)) bad(`timing.${k} = ${v} s`);
  for (const [k, v] of Object.entries(p.power)) if (typeof v === 'number' && !(Number.isFinite(v) && v >= 0)) bad(`power.${k} = ${v}`);
  if (p.timing.clockHz !== null && !(Number.isFinite(p.timing.clockHz) && p.timing.clockHz > 0)) bad(`clock ${p.timing.clockHz} Hz`);
}

test('fuzz chip files: mutated bundled chips (JSON-level and byte-level) → a usable chip or a one-line UserError naming the file', () => {
  const rand = mulberry32(SEED);
  const names = builtinChipNames();
  assert.ok(names.length >= 5, names.join());
  const f = new Fuzzer(SEED);
  const file = join(tmp, 'chip.json');
  for (const name of names) {
    const original = JSON.parse(readFileSync(join(CHIPS_DIR, `${name}.json`), 'utf8'));
    // comments ("_..." keys) are dropped by the reader: mutate the fields that count
    const focus = (p: (string | number)[]) => !p.some((k) => typeof k === 'string' && k.startsWith('_'));
    for (let i = 0; i < 100 * SCALE; i++) {
      const { bytes, ops } = mutateJson(original, rand, focus);
      writeFileSync(file, bytes);
      f.attempt(`${name} #${i} [${ops.join(', ')}]`, () => {
        const { variants } = validateChipFile(file);
        for (const v of [undefined, ...variants]) checkChipParams(loadChip(v ? `${file}@${v}` : file).params);
      }, namesFile(file));
    }
  }
  f.assertClean('chip files', 20, 100);
});

test('regression: a SpiNNaker power model whose busy chip draws less than an idle one is refused (it priced busy cores at negative energy)', () => {
  const chip = JSON.parse(readFileSync(join(CHIPS_DIR, 'spinnaker.json'), 'utf8'));
  const pm = chip.energy.power_model;
  pm.full_chip_W = { ...pm.full_chip_W, value: pm.idle_chip_W.value / 2 };
  const file = join(tmp, 'spinnaker-inverted.json');
  writeFileSync(file, JSON.stringify(chip));
  assert.throws(() => loadChip(file), (e: unknown) => e instanceof UserError && e.message.startsWith(`${file}: energy.power_model.full_chip_W.value: expected >= idle_chip_W`));
});

// ---------------------------------------------------------------------------------------------
// traces

interface TraceLayout {
  bytes: Buffer;
  header: Record<string, unknown>;
  /** byte ranges: the JSON header, the core arrays, and every chunk (12-byte head, deflated payload) */
  json: [number, number];
  arrays: [number, number];
  chunks: { head: number; data: number; end: number; kind: number }[];
}

function traceLayout(bytes: Buffer): TraceLayout {
  const n = bytes.readUInt32LE(12);
  const header = JSON.parse(bytes.subarray(16, 16 + n).toString('utf8'));
  const cores = header.geometry.cores as number;
  const start = 16 + n + ((4 - ((16 + n) % 4)) % 4);
  const chunks: TraceLayout['chunks'] = [];
  for (let p = start + 8 * cores; p < bytes.length;) {
    const zLen = bytes.readUInt32LE(p + 8);
    chunks.push({ head: p, data: p + 12, end: p + 12 + zLen, kind: bytes.readUInt32LE(p) });
    p += 12 + zLen;
  }
  return { bytes, header, json: [16, 16 + n], arrays: [start, start + 8 * cores], chunks };
}

/** The trace with its JSON header replaced (length and padding rewritten). */
function withTraceHeader(t: TraceLayout, json: Buffer): Buffer {
  const pad = (h: number) => (4 - ((16 + h) % 4)) % 4;
  const head = Buffer.alloc(16 + json.length + pad(json.length));
  t.bytes.copy(head, 0, 0, 12);
  head.writeUInt32LE(json.length, 12);
  json.copy(head, 16);
  return Buffer.concat([head, t.bytes.subarray(t.arrays[0])]);
}

/** One frame chunk's payload inflated, mutated and deflated again (the decoder then sees the damage, not zlib). */
function withMutatedFrame(t: TraceLayout, rand: () => number, ops: string[]): Buffer {
  const frames = t.chunks.filter((c) => c.kind === 1);
  const c = pick(rand, frames);
  const raw = Buffer.from(inflateRawSync(t.bytes.subarray(c.data, c.end)));
  let out: Buffer = raw;
  const u = rand();
  const pos = int(rand, raw.length);
  if (u < 0.35) {
    const bit = int(rand, 8);
    out[pos] ^= 1 << bit;
    ops.push(`frame@${c.head} flip@${pos}.${bit}`);
  } else if (u < 0.6) {
    const v = pick(rand, [0x00, 0x7f, 0x80, 0xff, 0x01]);
    out[pos] = v;
    ops.push(`frame@${c.head} set@${pos}=${v}`);
  } else if (u < 0.75) {
    out = raw.subarray(0, pos);
    ops.push(`frame@${c.head} cut@${pos}`);
  } else {
    // a long varint (huge count or value) spliced in
    const ins = Buffer.from(pick(rand, [[0xff, 0xff, 0xff, 0xff, 0x0f], [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], [0xff, 0xff, 0x03], [0x90, 0x4e]]));
    out = Buffer.concat([raw.subarray(0, pos), ins, raw.subarray(pos + (rand() < 0.5 ? ins.length : 0))]);
    ops.push(`frame@${c.head} varint@${pos}:${ins.toString('hex')}`);
  }
  const z = deflateRawSync(out);
  const head = Buffer.alloc(12);
  head.writeUInt32LE(c.kind, 0);
  // usually the length the payload really has (else the length check alone refuses it)
  head.writeUInt32LE(rand() < 0.85 ? out.length : raw.length, 4);
  head.writeUInt32LE(z.length, 8);
  return Buffer.concat([t.bytes.subarray(0, c.head), head, z, t.bytes.subarray(c.end)]);
}

/** Byte-level damage aimed at one region of the file (or anywhere). */
function withDamagedBytes(t: TraceLayout, rand: () => number, ops: string[]): Buffer {
  const b = Buffer.from(t.bytes);
  const regions: [string, number, number][] = [
    ['prefix', 0, 16], ['json', ...t.json], ['arrays', ...t.arrays],
    ...t.chunks.flatMap((c): [string, number, number][] => [['chunk-head', c.head, c.data], ['deflate', c.data, c.end]]),
    ['anywhere', 0, b.length],
  ];
  const [what, lo, hi] = pick(rand, regions);
  if (hi <= lo) return b;
  if (rand() < 0.25) {
    const cut = lo + int(rand, hi - lo);
    ops.push(`cut@${cut} (${what})`);
    return b.subarray(0, cut);
  }
  for (let k = 1 + int(rand, 3); k > 0; k--) {
    const pos = lo + int(rand, hi - lo), bit = int(rand, 8);
    b[pos] ^= 1 << bit;
    ops.push(`flip@${pos}.${bit} (${what})`);
  }
  return b;
}

/** Throws (a fuzz failure) when a replay of a damaged trace prices something impossible. */
function checkReplay(r: ChipRunResult): void {
  const bad = (what: string): never => {
    throw new Error(`replay accepted a damaged trace and priced ${what}`);
  };
  if (!(Number.isFinite(r.energy.per_frame_J) && r.energy.per_frame_J >= 0)) bad(`energy per frame ${r.energy.per_frame_J} J`);
  for (const [k, v] of Object.entries(r.energy.breakdown_J)) if (!(Number.isFinite(v) && v >= 0)) bad(`energy ${k} ${v} J`);
  if (!(Number.isFinite(r.latency.frame_s) && r.latency.frame_s >= 0)) bad(`latency ${r.latency.frame_s} s`);
  for (const [k, v] of Object.entries(r.counts)) if (v !== null && !(Number.isFinite(v) && v >= 0)) bad(`count ${k} = ${v}`);
}

test('fuzz traces: truncation, bit flips in header and body, corrupted deflate frames, mutated header JSON → a sane replay or a one-line UserError naming the file', async () => {
  const rand = mulberry32(SEED + 1);
  // two small recordings: the hand-computed toy (2 chips), and a 4-core mesh toy over three frames
  const recorded = [join(tmp, 'toy.trace'), join(tmp, 'mesh.trace')];
  await emulateFrames(toyNet(), toyChip(), [Float32Array.of(1, 1)], { timesteps: 4, placement: 'layers', trace: recorded[0] });
  const meshInputs = [0, 1, 2].map((k) => Float32Array.from({ length: 16 }, (_, i) => ((i * 7 + k * 3) % 11) / 10));
  await emulateFrames(meshToyNet(), meshToyChip(), meshInputs, { timesteps: 6, trace: recorded[1] });
  const chips = [toyChip(), meshToyChip()];
  const f = new Fuzzer(SEED + 1);
  const file = join(tmp, 'fuzz.trace');
  recorded.forEach((rec, j) => {
    const t = traceLayout(readFileSync(rec));
    checkReplay(replayTrace(rec, chips[j]));
    for (let i = 0; i < 200 * SCALE; i++) {
      const ops: string[] = [];
      const u = rand();
      let bytes: Buffer;
      if (u < 0.4) bytes = withMutatedFrame(t, rand, ops);
      else if (u < 0.7) {
        const m = mutateJson(t.header, rand);
        bytes = withTraceHeader(t, m.bytes);
        ops.push(...m.ops.map((o) => `header ${o}`));
      } else bytes = withDamagedBytes(t, rand, ops);
      writeFileSync(file, bytes);
      f.attempt(`${rec} #${i} [${ops.join(', ')}]`, () => checkReplay(replayTrace(file, chips[j])), namesFile(file));
    }
  });
  f.assertClean('traces', 20, 100);
});

/** The toy trace with its first frame replaced by `raw` (a hand-built payload). */
function toyTraceWithFrame(raw: number[]): Buffer {
  const t = traceLayout(readFileSync(join(PROJECT_ROOT, 'traces', 'toy.bin')));
  const c = t.chunks[0];
  const z = deflateRawSync(Buffer.from(raw));
  const head = Buffer.alloc(12);
  head.writeUInt32LE(1, 0);
  head.writeUInt32LE(raw.length, 4);
  head.writeUInt32LE(z.length, 8);
  return Buffer.concat([t.bytes.subarray(0, c.head), head, z, t.bytes.subarray(c.end)]);
}

test('regression: corrupt trace frames found by the fuzzer are one-line UserErrors naming the file (were RangeError, a plain Error, or NaN/short frames priced silently)', () => {
  // the toy trace: 4 ticks per frame, 2 cores of 2 neurons; a quiet tick is its number, 8 empty
  // counter kinds, and empty drain / on-chip / off-chip lists
  const quiet = (t: number) => [t, ...new Array(CORE_KINDS).fill(0), 0, 0, 0];
  const frame = (ticks: number[][], tail: number[] = [0]) => [ticks.length, ...ticks.flat(), ...tail];
  const four = [1, 2, 3, 4].map(quiet);
  const file = join(tmp, 'regression.trace');
  const refused = (raw: number[], re: RegExp) => {
    writeFileSync(file, toyTraceWithFrame(raw));
    assert.throws(() => replayTrace(file, toyChip()), (e: unknown) => e instanceof UserError && e.message.startsWith(file) && re.test(e.message) && !e.message.includes('\n'), String(re));
  };
  writeFileSync(file, toyTraceWithFrame(frame(four)));
  assert.ok(replayTrace(file, toyChip()).energy.per_frame_J > 0, 'the hand-built quiet frame replays');
  // a drain list of 2^32 - 1 entries in a few bytes: refused before allocating it
  refused(frame([[1, ...new Array(CORE_KINDS).fill(0), 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0], ...four.slice(1)]), /tick 1 lists 4294967295 entries, more than the frame holds/);
  // core 0 (2 neurons) with 99 active updates
  const active = quiet(1);
  active[1 + CK.active] = 1;
  active.splice(2 + CK.active, 0, 0, 99);
  refused(frame([active, ...four.slice(1)]), /tick 1 gives core 0 99 active neuron updates, but it has 2 neurons/);
  // a counter of 2^31 would wrap to a negative count in the Int32Array
  const wrap = quiet(1);
  wrap[1 + CK.synops] = 1;
  wrap.splice(2 + CK.synops, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x08);
  refused(frame([wrap, ...four.slice(1)]), /a count of 2147483648 is beyond/);
  // the simulator's own counts NaN
  const nan = Buffer.alloc(8);
  nan.writeDoubleLE(NaN);
  refused(frame(four, [1, ...nan, ...Buffer.alloc(8)]), /a frame counts NaN SOPs/);
  // three ticks in a frame of a 4-tick trace
  refused(frame(four.slice(0, 3)), /a frame of 3 ticks, the header says 4/);
  refused([...frame(four), 7, 7], /2 bytes after a frame's records/);
});

test('regression: a trace header without fingerprint.chip.core is refused naming the field (was a TypeError in the replay check)', () => {
  const t = traceLayout(readFileSync(join(PROJECT_ROOT, 'traces', 'toy.bin')));
  const h = structuredClone(t.header) as { fingerprint: { chip: Record<string, unknown> } };
  delete h.fingerprint.chip.core;
  const file = join(tmp, 'no-core.trace');
  writeFileSync(file, withTraceHeader(t, Buffer.from(JSON.stringify(h))));
  assert.throws(() => replayTrace(file, toyChip()), (e: unknown) => e instanceof UserError && e.message === `${file}: corrupt trace header (fingerprint.chip.core)`);
});

// ---------------------------------------------------------------------------------------------
// .snn files

const SMALL_CFG = `[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n[maxpool]\nsize=2\nstride=2\n[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n[convolutional]\nfilters=30\nsize=1\nactivation=linear\n[region]\nanchors=1,1,2,2,3,3,4,4,5,5\nclasses=1\nnum=5\n`;

/** A small converted network (the ANN embedded: the file stands alone) and an input for it. */
function smallSnn(): { snn: SnnNetwork; input: Float32Array } {
  const net = buildDarknetNetwork(parseCfgText(SMALL_CFG, 'small.cfg'), 'small.cfg');
  loadDarknetWeights(net, syntheticDarknetWeights(net, 7), 'small.weights');
  foldBatchNorm(net);
  const rand = mulberry32(SEED + 9);
  const input = Float32Array.from({ length: shapeSize(net.input) }, () => rand());
  return { snn: convertNetwork(net, calibrateInputs(net, [input], ['noise']), defaultSettings()), input };
}

/** The .snn with its header replaced by `json` (an object's text): re-signed when it parses to one. */
function withSnnHeader(good: Buffer, json: Buffer): Buffer {
  let text = json.toString('utf8');
  try {
    const h = JSON.parse(text);
    if (typeof h === 'object' && h !== null && !Array.isArray(h) && Object.keys(h).length > 0 && !('headerSha256' in h)) {
      // appended last, as the writer does: the reader drops it and hashes the rest
      text = text.replace(/\}\s*$/, `,"headerSha256":"${createHash('sha256').update(JSON.stringify(h)).digest('hex')}"}`);
    }
  } catch {
    // left unsigned: the JSON error is what the reader should report
  }
  const hb = Buffer.from(text, 'utf8');
  const hLen = good.readUInt32LE(12);
  const blobStart = 16 + hLen + ((8 - ((16 + hLen) % 8)) % 8);
  const prefix = Buffer.from(good.subarray(0, 16));
  prefix.writeUInt32LE(hb.length, 12);
  return Buffer.concat([prefix, hb, Buffer.alloc((8 - ((16 + hb.length) % 8)) % 8), good.subarray(blobStart)]);
}

/** Throws (a fuzz failure) unless an accepted network has finite parameters and runs. */
function checkSnn(snn: SnnNetwork, input: Float32Array): void {
  for (const l of snn.layers) {
    if (l.kind !== 'conv') continue;
    for (const [what, a] of [['weights', l.weights], ['biases', l.biases]] as const) for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new Error(`accepted layer ${l.index} ${what}[${i}] = ${a[i]}`);
  }
  const sim = createSimulatorSync(snn);
  sim.reset(input);
  sim.run(3);
  for (const r of sim.readout()) for (const v of r) if (!Number.isFinite(v)) throw new Error(`accepted network reads out ${v}`);
}

test('fuzz .snn files: header bit flips, truncation, weights-region flips, re-signed header and blob mutations → a network that runs or a one-line UserError naming the file', () => {
  const rand = mulberry32(SEED + 2);
  const { snn, input } = smallSnn();
  const good = encodeSnn(snn);
  const hLen = good.readUInt32LE(12);
  const header = JSON.parse(good.subarray(16, 16 + hLen).toString('utf8')) as Record<string, unknown>;
  const blobStart = 16 + hLen + ((8 - ((16 + hLen) % 8)) % 8);
  const file = join(tmp, 'fuzz.snn');
  writeFileSync(file, good);
  checkSnn(loadSnn(file), input);
  const f = new Fuzzer(SEED + 2);
  for (let i = 0; i < 300 * SCALE; i++) {
    const ops: string[] = [];
    let bytes: Buffer;
    const u = rand();
    if (u < 0.25) {
      // raw damage: the checksums and the prefix checks must catch it
      bytes = Buffer.from(good);
      const region = pick(rand, [[0, 16, 'prefix'], [16, 16 + hLen, 'header'], [blobStart, good.length, 'weights']] as const);
      if (rand() < 0.3) {
        const cut = int(rand, good.length);
        bytes = bytes.subarray(0, cut);
        ops.push(`cut@${cut}`);
      } else {
        for (let k = 1 + int(rand, 3); k > 0; k--) {
          const pos = region[0] + int(rand, region[1] - region[0]), bit = int(rand, 8);
          bytes[pos] ^= 1 << bit;
          ops.push(`flip@${pos}.${bit} (${region[2]})`);
        }
      }
    } else if (u < 0.75) {
      // the header's fields mutated, then signed as a writer would: the field checks are what is tested
      const { headerSha256: _sig, ...unsigned } = header;
      const m = mutateJson(unsigned, rand);
      bytes = withSnnHeader(good, m.bytes);
      ops.push(...m.ops);
    } else {
      // weights flipped (exponent bits often: NaN, Infinity, huge) with both checksums made to match
      const blob = Buffer.from(good.subarray(blobStart));
      for (let k = 1 + int(rand, 4); k > 0; k--) {
        const pos = int(rand, blob.length);
        const bit = rand() < 0.6 ? ((pos & 3) === 3 ? 6 : 7) : int(rand, 8);
        blob[pos] ^= 1 << bit;
        ops.push(`weights flip@${pos}.${bit}`);
      }
      const { headerSha256: _sig, ...h } = header;
      h.blobSha256 = createHash('sha256').update(blob).digest('hex');
      bytes = Buffer.concat([withSnnHeader(good, Buffer.from(JSON.stringify(h))).subarray(0, blobStart), blob]);
    }
    writeFileSync(file, bytes);
    f.attempt(`snn #${i} [${ops.join(', ')}]`, () => checkSnn(loadSnn(file), input), namesFile(file));
  }
  f.assertClean('.snn files', 10, 100);
});

// ---------------------------------------------------------------------------------------------
// thresholds files

test('fuzz thresholds files: mutated JSON → thresholds that apply and run (two-phase switch included) or a one-line UserError naming the file', () => {
  const rand = mulberry32(SEED + 3);
  const { snn, input } = smallSnn();
  const original = {
    format: THRESHOLDS_FORMAT, version: THRESHOLDS_VERSION,
    model: { model: join(tmp, 'small.cfg'), size: 32 },
    network: { name: snn.ann.name, input: [snn.ann.input.w, snn.ann.input.h] },
    settings: snn.settings, compensate: true, twoPhase: true, tSwitch: 2, timesteps: 8,
    layers: spikingLayers(snn).map((l, k) => ({ snnLayer: l.index, name: l.name, group: k, scale: 0.75 + 0.25 * k, scale2: 1.25 - 0.125 * k })),
    objective: { wSop: 0.5 }, search: { method: 'bo', seed: 1, budget: 8, calibration: ['noise'] }, result: { ap: 0.5 },
  };
  const file = join(tmp, 'fuzz.thresholds.json');
  const run = () => {
    const applied = applyThresholdsFile(snn, file);
    for (const l of spikingLayers(applied.snn)) if (!(Number.isFinite(l.vthPos) && l.vthPos > 0)) throw new Error(`accepted: layer ${l.index} vthPos ${l.vthPos}`);
    const sim = applied.wrap(createSimulatorSync(applied.snn));
    sim.reset(input);
    sim.run(4); // past the switch
    for (const r of sim.readout()) for (const v of r) if (!Number.isFinite(v)) throw new Error(`accepted thresholds read out ${v}`);
  };
  writeFileSync(file, JSON.stringify(original));
  run();
  const f = new Fuzzer(SEED + 3);
  for (let i = 0; i < 400 * SCALE; i++) {
    const { bytes, ops } = mutateJson(original, rand);
    writeFileSync(file, bytes);
    f.attempt(`thresholds #${i} [${ops.join(', ')}]`, run, namesFile(file));
  }
  f.assertClean('thresholds files', 20, 100);
});

// ---------------------------------------------------------------------------------------------
// detections and ground-truth files, through eval

/** Text damage for XML and label files: truncation, byte flips, a token spliced in, a number replaced. */
function mutateText(text: string, rand: () => number, tokens: readonly string[]): { text: string; ops: string[] } {
  let t = text;
  const ops: string[] = [];
  for (let k = 1 + int(rand, 3); k > 0; k--) {
    const u = rand(), at = int(rand, t.length + 1);
    if (u < 0.15) {
      t = t.slice(0, at);
      ops.push(`cut@${at}`);
    } else if (u < 0.3) {
      const b = Buffer.from(t, 'utf8');
      const pos = int(rand, Math.max(1, b.length)), bit = int(rand, 8);
      if (b.length) b[pos] ^= 1 << bit;
      t = b.toString('utf8');
      ops.push(`flip@${pos}.${bit}`);
    } else if (u < 0.55) {
      const tok = pick(rand, tokens);
      t = t.slice(0, at) + tok + t.slice(at + int(rand, 3));
      ops.push(`insert@${at}:${JSON.stringify(tok)}`);
    } else {
      const nums = [...t.matchAll(/-?\d+(\.\d+)?/g)];
      if (!nums.length) continue;
      const m = pick(rand, nums);
      const v = pick(rand, ['-1', '0', '1e400', 'NaN', '1e308', '', 'x', '-0', '0x10', '99999', '1,2', '0.5']);
      t = t.slice(0, m.index) + v + t.slice(m.index! + m[0].length);
      ops.push(`number@${m.index}:${m[0]}->${v}`);
    }
  }
  return { text: t, ops };
}

/** Throws (a fuzz failure) when an evaluation of accepted files says something impossible. */
function checkEval(r: EvalResult): void {
  // VOC07 sums 11 × p/11 as the devkit does: a perfect AP may come out 1 + 2^-52
  const unit = (v: number | null) => v === null || (Number.isFinite(v) && v >= 0 && v <= 1 + 1e-12);
  if (!unit(r.map)) throw new Error(`accepted: mAP ${r.map}`);
  for (const c of r.perClass) if (!unit(c.ap)) throw new Error(`accepted: class ${c.className} AP ${c.ap}`);
  for (const k of ['images', 'detections', 'truthBoxes', 'ignoredTruth'] as const) if (!(Number.isInteger(r[k]) && r[k] >= 0)) throw new Error(`accepted: ${k} ${r[k]}`);
}

test('fuzz eval files: mutated detections, COCO, reference-detections, VOC XML and YOLO label files → a score in [0, 1] or a one-line UserError naming the file', () => {
  const rand = mulberry32(SEED + 4);
  const box = (x: number, y: number, cls: string, score: number) => ({ x, y, w: 20, h: 16, score, class: cls });
  const detections = {
    model: 'yolov2-tiny-voc', engine: 'snn', size: 416, classes: ['dog', 'cat'],
    images: [
      { file: 'photos/a.jpg', width: 120, height: 90, detections: [box(10, 10, 'dog', 0.9), box(50, 40, 'cat', 0.6), box(12, 11, 'dog', 0.3)] },
      { file: 'photos/b.jpg', width: 100, height: 100, detections: [box(30, 30, 'cat', 0.8)] },
    ],
  };
  const coco = {
    images: [{ id: 1, file_name: 'a.jpg', width: 120, height: 90 }, { id: 2, file_name: 'b.jpg', width: 100, height: 100 }],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, bbox: [11, 10, 19, 16], iscrowd: 0, area: 304 },
      { id: 2, image_id: 1, category_id: 2, bbox: [52, 41, 18, 15], iscrowd: 0 },
      { id: 3, image_id: 2, category_id: 2, bbox: [29, 31, 20, 16], iscrowd: 1 },
    ],
    categories: [{ id: 1, name: 'dog' }, { id: 2, name: 'cat' }],
  };
  const reference = { ...detections, engine: 'ann', images: detections.images.map((im) => ({ ...im, detections: im.detections.slice(0, 2) })) };
  const voc = (w: number, h: number, objects: [string, number, number, number, number, number][]) =>
    `<annotation>\n  <filename>x.jpg</filename>\n  <size><width>${w}</width><height>${h}</height><depth>3</depth></size>\n` +
    objects.map(([n, d, x0, y0, x1, y1]) => `  <object>\n    <name>${n}</name>\n    <difficult>${d}</difficult>\n    <bndbox><xmin>${x0}</xmin><ymin>${y0}</ymin><xmax>${x1}</xmax><ymax>${y1}</ymax></bndbox>\n  </object>\n`).join('') +
    '</annotation>\n';
  const vocFiles = { 'a.xml': voc(120, 90, [['dog', 0, 11, 11, 30, 26], ['cat', 1, 51, 41, 70, 56]]), 'b.xml': voc(100, 100, [['cat', 0, 31, 31, 50, 46]]) };
  const yoloFiles = { 'a.txt': '0 0.17 0.2 0.16 0.18\n1 0.5 0.53 0.16 0.17\n', 'b.txt': '1 0.4 0.38 0.2 0.16\n' };
  const XML_TOKENS = ['<', '>', '</object>', '<object>', '<name></name>', '&amp;', '&#0;', '<!--', '-->', '<![CDATA[', ']]>', '<?xml version="1.0"?>', '"', '<bndbox/>', '<size>', '</annotation>', '\u0000'];
  const TXT_TOKENS = ['\n', ' ', '\t', '-1 ', '0 ', '9 ', '1e999', 'nan', ' 0.5', '\r\n', '#', 'x'];
  const dir = join(tmp, 'eval');
  mkdirSync(join(dir, 'voc'), { recursive: true });
  mkdirSync(join(dir, 'yolo'), { recursive: true });
  const paths = { dets: join(dir, 'dets.json'), coco: join(dir, 'coco.json'), ref: join(dir, 'ref.json') };
  const writeAll = () => {
    writeFileSync(paths.dets, JSON.stringify(detections));
    writeFileSync(paths.coco, JSON.stringify(coco));
    writeFileSync(paths.ref, JSON.stringify(reference));
    for (const [n, t] of Object.entries(vocFiles)) writeFileSync(join(dir, 'voc', n), t);
    for (const [n, t] of Object.entries(yoloFiles)) writeFileSync(join(dir, 'yolo', n), t);
  };
  const truths = [paths.coco, paths.ref, join(dir, 'voc'), join(dir, 'yolo')];
  writeAll();
  for (const truth of truths) checkEval(runEval({ detections: paths.dets, truth, metric: 'voc', names: undefined }).result);
  const f = new Fuzzer(SEED + 4);
  for (let i = 0; i < 300 * SCALE; i++) {
    writeAll();
    const truth = pick(rand, truths);
    const metric = pick(rand, ['voc07', 'voc', 'coco'] as const);
    const target = rand() < 0.35 ? 'dets' : truth === paths.coco ? 'coco' : truth === paths.ref ? 'ref' : truth.endsWith('voc') ? 'voc' : 'yolo';
    let ops: string[];
    let damaged: string;
    if (target === 'voc' || target === 'yolo') {
      const name = pick(rand, target === 'voc' ? ['a.xml', 'b.xml'] : ['a.txt', 'b.txt']);
      const src = target === 'voc' ? vocFiles[name as 'a.xml'] : yoloFiles[name as 'a.txt'];
      const m = mutateText(src, rand, target === 'voc' ? XML_TOKENS : TXT_TOKENS);
      damaged = join(dir, target, name);
      writeFileSync(damaged, m.text);
      ops = m.ops;
    } else {
      const m = mutateJson(target === 'dets' ? detections : target === 'coco' ? coco : reference, rand);
      damaged = paths[target];
      writeFileSync(damaged, m.bytes);
      ops = m.ops;
    }
    // a damaged file may be refused where it is used: the detections file's class list is applied
    // to the labels of a YOLO directory, and a label beyond it is refused naming the label's line
    const namesAnInput = (msg: string) => (msg.includes(damaged) || msg.includes(truth) ? null : `the message names neither ${damaged} nor ${truth}`);
    f.attempt(`eval #${i} ${metric} ${target} [${ops.join(', ')}]`, () => checkEval(runEval({ detections: paths.dets, truth, metric, names: undefined }).result), namesAnInput);
  }
  f.assertClean('eval files', 20, 100);
});

// ---------------------------------------------------------------------------------------------
// numeric flags and output paths, through the CLI

/** Where a stack frame or an internal error would show in a CLI case's output. */
const STACK_FRAME = /\n\s+at |node:internal|\.ts:\d+|\b(TypeError|RangeError|ReferenceError|SyntaxError)\b|Maximum call stack/;

interface CliCase {
  name: string;
  args: string[];
  /** 0: the value is valid (the run must succeed); 2: refused, and the one error line matches `names` */
  code: 0 | 2;
  names?: RegExp;
}

/** every CLI case of this file and what it printed: the last test scans them all for stack frames */
const cliRuns: { name: string; out: string; err: string }[] = [];

/** The number yargs makes of a `type: 'number'` flag's text (hex included, '' → 0). */
const asYargsNumber = (v: string) => (v.trim() === '' ? 0 : Number(v));

/** Bad (and a few good) values for numeric flags. */
const NUMERIC_VALUES = ['-1', '1e400', 'NaN', '0x10', '', '1,2', 'abc', '-0', '0', '3.5', '0.5', '1e3', '96', '4294967296', 'Infinity'];

test('fuzz numeric flags and output paths through the CLI: exit 2 with one neuroemu: line naming the flag, or 0 where the value is valid', async () => {
  const rand = mulberry32(SEED + 5);
  const photo = faceSamplePhotos()[0];
  const dir = join(tmp, 'cli');
  mkdirSync(dir, { recursive: true });
  const dets = join(dir, 'dets.json');
  writeFileSync(dets, JSON.stringify({ model: 'face', engine: 'ann', size: 64, images: [{ file: 'a.jpg', width: 100, height: 100, detections: [{ x: 10, y: 10, w: 20, h: 20, score: 0.9, class: 'face' }] }] }));
  const chipFile = join(dir, 'chip.json');
  writeFileSync(chipFile, readFileSync(join(CHIPS_DIR, 'loihi.json')));
  const snn = ['detect', photo, '--size', '64', '--engine', 'snn', '--calib', photo];
  const isInt = (x: number, lo: number, hi: number) => Number.isInteger(x) && x >= lo && x <= hi;
  // per flag: the command around it and whether a value is valid (README / --help ranges); `thenCode`:
  // the exit of a valid value (sweep and run are kept from running by a later refusal)
  const flags: { flag: string; argv: (v: string) => string[]; valid: (v: string) => boolean; thenCode?: 0 | 2 }[] = [
    { flag: '--size', argv: (v) => ['info', 'face', '--size', v], valid: (v) => isInt(asYargsNumber(v), 32, 4096) && asYargsNumber(v) % 32 === 0 },
    { flag: '--threshold', argv: (v) => ['detect', photo, '--size', '64', '--threshold', v], valid: (v) => asYargsNumber(v) >= 0 && asYargsNumber(v) <= 1 },
    { flag: '--timesteps', argv: (v) => [...snn, '--timesteps', v], valid: (v) => isInt(asYargsNumber(v), 1, 1_000_000) },
    { flag: '--seed', argv: (v) => [...snn, '--timesteps', '2', '--seed', v], valid: (v) => isInt(asYargsNumber(v), 0, 2 ** 32 - 1) },
    { flag: '--candidate-threshold', argv: (v) => [...snn, '--timesteps', '2', '--candidate-threshold', v], valid: (v) => asYargsNumber(v) >= 0 && asYargsNumber(v) <= 1 },
    // --checkpoints is a list: every comma-separated entry an integer tick in 1..--timesteps
    { flag: '--checkpoints', argv: (v) => [...snn, '--timesteps', '4', '--checkpoints', v], valid: (v) => v.split(',').filter((x) => x.trim() !== '').every((x) => isInt(Number(x), 1, 4)) },
    { flag: '--iou', argv: (v) => ['eval', dets, '--truth', dets, '--iou', v], valid: (v) => asYargsNumber(v) > 0 && asYargsNumber(v) < 1 },
    { flag: '--rate', argv: (v) => ['map', '--chip', 'loihi', '--size', '64', '--calib', photo, '--rate', v], valid: (v) => Number.isFinite(asYargsNumber(v)) && asYargsNumber(v) >= 0 },
    { flag: '--max-points', argv: (v) => ['sweep', '--vary', 'core.neurons=1:100000:1', '--out', join(dir, 'never.csv'), '--max-points', v], valid: (v) => isInt(asYargsNumber(v), 1, 1_000_000), thenCode: 2 },
    { flag: '--workers', argv: (v) => ['run', '--timesteps', '2', '--chip', 'nosuchchip', '--workers', v], valid: (v) => isInt(asYargsNumber(v), 0, Infinity), thenCode: 2 },
  ];
  const cases: CliCase[] = [];
  for (const k of [0, 1]) {
    for (const f of flags) {
      // the second round takes another value than the first
      let v = pick(rand, NUMERIC_VALUES);
      if (k === 1) while (cases.some((c) => c.name === `${f.flag} ${JSON.stringify(v)}`)) v = pick(rand, NUMERIC_VALUES);
      const valid = f.valid(v);
      const escaped = f.flag.replace(/-/g, '\\-');
      cases.push({ name: `${f.flag} ${JSON.stringify(v)}`, args: f.argv(v), code: valid ? (f.thenCode ?? 0) : 2, names: valid ? (f.thenCode ? /./ : undefined) : new RegExp(`${escaped}\\b`) });
    }
  }
  const notADir = join(dir, 'plain-file');
  writeFileSync(notADir, 'x');
  const created = join(dir, 'new', 'deeper', 'dets.json');
  cases.push(
    { name: 'output is a directory', args: ['detect', photo, '--size', '64', '--json', dir], code: 2, names: /is a directory/ },
    { name: 'output under a missing directory (created)', args: ['detect', photo, '--size', '64', '--json', created], code: 0 },
    { name: 'output under a regular file', args: ['detect', photo, '--size', '64', '--json', join(notADir, 'd.json')], code: 2, names: /plain-file is a file, not a directory/ },
    { name: 'output is /dev/full', args: ['detect', photo, '--size', '64', '--json', '/dev/full'], code: 2, names: /\/dev\/full.*ENOSPC/ },
    { name: 'svg to /dev/full', args: ['map', '--chip', 'loihi', '--size', '64', '--calib', photo, '--svg', '/dev/full'], code: 2, names: /\/dev\/full/ },
    { name: 'output over the chip file read', args: ['map', '--chip', chipFile, '--size', '64', '--calib', photo, '--json', chipFile], code: 2, names: /chip\.json/ },
    { name: 'eval output over its truth', args: ['eval', dets, '--truth', dets, '--json', dets], code: 2, names: /dets\.json/ },
    { name: 'eval output is a directory', args: ['eval', dets, '--truth', dets, '--json', dir], code: 2, names: /is a directory/ },
  );
  const results: { c: CliCase; r: { code: number | null; out: string; err: string } }[] = [];
  // two at a time: the machine has two cores
  let next = 0;
  const lane = async () => {
    while (next < cases.length) {
      const c = cases[next++];
      results.push({ c, r: await runBinAsync(...c.args) });
    }
  };
  await Promise.all([lane(), lane()]);
  if (process.env.FUZZ_VERBOSE) for (const { c, r } of results) process.stderr.write(`cli ${c.name}: exit ${r.code} ${r.err.trimEnd().split('\n').pop()}\n`);
  const problems: string[] = [];
  for (const { c, r } of results) {
    cliRuns.push({ name: c.name, out: r.out, err: r.err });
    const errors = r.err.split('\n').filter((l) => l.startsWith('neuroemu: '));
    const lastLine = r.err.trimEnd().split('\n').pop() ?? '';
    if (r.code !== c.code) problems.push(`${c.name}: exit ${r.code}, expected ${c.code}: ${r.err.slice(-300)}`);
    else if (c.code === 2 && (errors.length !== 1 || lastLine !== errors[0])) problems.push(`${c.name}: expected one neuroemu: line, last on stderr: ${r.err.slice(-300)}`);
    else if (c.code === 2 && c.names && !c.names.test(errors[0])) problems.push(`${c.name}: ${JSON.stringify(errors[0])} does not match ${c.names}`);
    else if (c.code === 2 && /\b\w*Error: /.test(errors[0])) problems.push(`${c.name}: an error's name inside the message: ${errors[0]}`);
    else if (c.code === 0 && errors.length) problems.push(`${c.name}: exit 0 but ${errors[0]}`);
  }
  assert.equal(problems, [], problems.join('\n'));
  assert.ok(readFileSync(dets, 'utf8').includes('"engine":"ann"'), 'the file an output was aimed at is untouched');
  assert.ok(JSON.parse(readFileSync(created, 'utf8')).images.length === 1, 'the missing directories were created and the file written');
  assert.ok(JSON.parse(readFileSync(chipFile, 'utf8')).name === 'loihi');
});

test('regression: run, convergence and sweep refuse a --candidate-threshold outside [0, 1], and run a negative or fractional --workers, before any work (were accepted)', async () => {
  const cases: [CommandModule<never, never>, string[], RegExp][] = [
    [runCommand as never, ['run', '--workers', '-1', '--timesteps', '2'], /^--workers: -1 must be an integer >= 0$/],
    [runCommand as never, ['run', '--workers', '1.5', '--timesteps', '2'], /^--workers: 1\.5 must be an integer >= 0$/],
    [runCommand as never, ['run', '--candidate-threshold', '2', '--timesteps', '2'], /^--candidate-threshold: 2 must be between 0 and 1$/],
    [convergenceCommand as never, ['convergence', '--candidate-threshold', '-0.5', '--timesteps', '2', '--csv', join(tmp, 'c.csv'), '--svg', join(tmp, 'c.svg')], /^--candidate-threshold: -0\.5 must be between 0 and 1$/],
    [sweepCommand as never, ['sweep', '--vary', 'timesteps=2,4', '--candidate-threshold', '1.5', '--out', join(tmp, 'never.csv')], /^--candidate-threshold: 1\.5 must be between 0 and 1$/],
  ];
  for (const [command, argv, re] of cases) {
    const t0 = performance.now();
    await captureCli(command, argv).then(
      () => assert.unreachable(`${argv.join(' ')} was accepted`),
      (e: unknown) => assert.ok(e instanceof UserError && re.test(e.message), `${argv.join(' ')}: ${(e as Error).stack}`),
    );
    // refused up front: no conversion ran (that takes seconds)
    assert.ok(performance.now() - t0 < 1500, `${argv.join(' ')}: refused after ${(performance.now() - t0).toFixed(0)} ms`);
  }
});

test('regression: an output path under a regular file says so (was "cannot write (EEXIST)"), and eval no longer wraps the write error in "cannot write: UserError: …"', async () => {
  const plain = join(tmp, 'a-file');
  writeFileSync(plain, 'x');
  assert.throws(() => writeFileAtomic(join(plain, 'out.json'), '{}'), (e: unknown) => e instanceof UserError && e.message === `${join(plain, 'out.json')}: cannot write: a part of ${plain} is a file, not a directory`);
  const dets = join(tmp, 'eval-dets.json');
  writeFileSync(dets, JSON.stringify({ model: 'face', engine: 'ann', size: 64, images: [{ file: 'a.jpg', width: 10, height: 10, detections: [] }] }));
  await captureCli(evalCommand as never, ['eval', dets, '--truth', dets, '--json', tmp]).then(
    () => assert.unreachable('a directory was accepted as --json'),
    (e: unknown) => assert.ok(e instanceof UserError && e.message === `${tmp}: is a directory, not a file to write`, (e as Error).message),
  );
});

test('no CLI case of this file printed a stack frame or an internal error (stdout and stderr scanned)', () => {
  assert.ok(cliRuns.length >= 20, `only ${cliRuns.length} CLI cases ran`);
  const leaks = cliRuns.filter((r) => STACK_FRAME.test(r.out + r.err)).map((r) => `${r.name}: ${(r.out + r.err).slice(0, 400)}`);
  assert.equal(leaks, [], leaks.join('\n'));
});

test.run();
