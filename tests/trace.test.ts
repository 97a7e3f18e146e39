/**
 * Trace files (src/hw/trace.ts, traces/README.md):
 * - round trip: a replay on the recording chip reproduces the run's figures exactly;
 * - a replay on a chip with other per-event energies and times but the same geometry (Loihi vs
 *   Loihi@sana-fe, TrueNorth vs TrueNorth@allin26) equals a fresh run on that chip, exactly;
 * - another geometry (neurons per core, board, NoC) is refused with the reason;
 * - the committed traces/toy.bin (the hand-computed toy of tests/account.test.ts) replays to the
 *   hand-computed energy, so the format stays readable;
 * - truncated and foreign files are refused; the file appears only when complete;
 * - `neuroemu replay` prints the run's rows and writes its JSON.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadChip, type ChipParams } from '../src/hw/chip-schema.ts';
import type { ChipRunResult } from '../src/hw/account.ts';
import { concatTraces, readTrace, replayTrace, TRACE_MAGIC, TRACE_VERSION } from '../src/hw/trace.ts';
import { chipReportRows } from '../src/hw/report.ts';
import { emulateFrames } from '../src/sim/emulate.ts';
import type { SnnNetwork } from '../src/convert/snn-ir.ts';
import { PROJECT_ROOT, loadModel } from '../src/model/load.ts';
import { calibrate } from '../src/convert/calibrate.ts';
import { convertNetwork, defaultSettings } from '../src/convert/convert.ts';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import { loadImage } from '../src/image/decode.ts';
import { preprocess } from '../src/image/preprocess.ts';
import { replayCommand } from '../src/cli/replay.ts';
import { toyChip, toyNet } from './helpers/toy-chip.ts';

const dir = mkdtempSync(join(tmpdir(), 'neuroemu-trace-'));
const pJ = 1e-12, ns = 1e-9;

/** the figures of a result without its notes (a replay says where it came from) */
const figures = (r: ChipRunResult) => ({ ...r, notes: [] });

let face: { snn: SnnNetwork; inputs: Float32Array[] } | undefined;
function face96() {
  if (!face) {
    const ann = loadModel({ model: 'face', size: 96 });
    const photos = faceSamplePhotos();
    face = { snn: convertNetwork(ann, calibrate(ann, photos.slice(0, 1)), defaultSettings()), inputs: photos.slice(1, 3).map((p) => preprocess(ann, loadImage(p))) };
  }
  return face;
}

test('round trip: replay on the recording chip reproduces the run exactly', async () => {
  const { snn, inputs } = face96();
  const file = join(dir, 'loihi.trace');
  const chip = loadChip('loihi').params;
  const run = await emulateFrames(snn, chip, inputs, { timesteps: 8, seed: 3, trace: file });
  assert.ok(existsSync(file));
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temp file left');
  const rep = replayTrace(file, chip);
  assert.equal(figures(rep), figures(run.totals));
  assert.ok(run.totals.energy.per_frame_J > 0 && run.totals.counts.packets > 0);
  assert.match(rep.notes.join(' '), /replayed from .*loihi\.trace, recorded on loihi/);
  // the header: magic, version, geometry fingerprint
  const bytes = readFileSync(file);
  assert.is(bytes.subarray(0, 8).toString('latin1'), TRACE_MAGIC);
  assert.is(bytes.readUInt32LE(8), TRACE_VERSION);
  const t = readTrace(file);
  assert.equal([t.header.recordedOn, t.header.timesteps, t.header.seed, t.header.geometry.cores], ['loihi', 8, 3, run.mapping.coresUsed]);
  assert.equal(t.header.fingerprint.chip.core.neurons, 1024);
  assert.is(t.header.fingerprint.placementHash.length, 64);
  assert.is([...t.frames()].length, 2);
});

test('replay on other per-event energies and times = a fresh run on that chip', async () => {
  const { snn, inputs } = face96();
  for (const [base, other] of [['loihi', 'loihi@sana-fe'], ['truenorth', 'truenorth@allin26']]) {
    const file = join(dir, `${base}.trace`);
    const a = loadChip(base).params, b = loadChip(other).params;
    await emulateFrames(snn, a, inputs, { timesteps: 6, seed: 2, trace: file });
    const fresh = await emulateFrames(snn, b, inputs, { timesteps: 6, seed: 2 });
    const rep = replayTrace(file, b);
    assert.equal(figures(rep), figures(fresh.totals), `${base} → ${other}`);
    // and the other chip's figures do differ from the recording chip's
    assert.is.not(rep.energy.per_frame_J, replayTrace(file, a).energy.per_frame_J);
  }
});

test('another geometry is refused with the reason', async () => {
  const { snn, inputs } = face96();
  const file = join(dir, 'geo.trace');
  await emulateFrames(snn, loadChip('loihi').params, inputs.slice(0, 1), { timesteps: 2, trace: file });
  const refuse = (chip: ChipParams, re: RegExp) => {
    try {
      replayTrace(file, chip);
    } catch (e) {
      assert.is((e as Error).name, 'UserError');
      assert.match((e as Error).message, re);
      return;
    }
    assert.unreachable(`replay on ${chip.name} accepted`);
  };
  refuse(loadChip('truenorth').params, /cannot replay on truenorth: different core geometry: neurons per core 1024 vs 256 \(recorded on loihi\)/);
  const multicast = structuredClone(loadChip('loihi').params);
  multicast.noc.multicast = true;
  refuse(multicast, /different NoC: multicast false vs true/);
  const wide = structuredClone(loadChip('loihi').params);
  wide.board = { chipsX: 4, chipsY: 4 };
  refuse(wide, /different board: 12x64 chips vs 4x4/);
  const tiles = structuredClone(loadChip('loihi').params);
  tiles.chip.tilesX = 16;
  tiles.chip.tilesY = 2;
  refuse(tiles, /different chip geometry: tiles per chip 8x4 vs 16x2/);
  // a Loihi that differs only in what the mapping does not read replays fine
  const hot = structuredClone(loadChip('loihi').params);
  hot.energy.staticChipW *= 2;
  hot.noc.linkPacketsPerS = 1e6;
  assert.ok(replayTrace(file, hot).energy.breakdown_J.static > replayTrace(file, loadChip('loihi').params).energy.breakdown_J.static);
});

// ---------------------------------------------------------------------------------------------
// the committed toy trace (the hand-computed toy of tests/account.test.ts)


const TOY = join(PROJECT_ROOT, 'traces', 'toy.bin');

test('traces/toy.bin replays to the hand-computed toy figures', async () => {
  if (process.env.NEUROEMU_WRITE_TOY_TRACE) await emulateFrames(toyNet(), toyChip(), [Float32Array.of(1, 1)], { timesteps: 4, placement: 'layers', trace: TOY });
  assert.ok(existsSync(TOY), 'traces/toy.bin is missing (regenerate: NEUROEMU_WRITE_TOY_TRACE=1 node --import tsx tests/trace.test.ts)');
  const r = replayTrace(TOY, toyChip());
  // tests/account.test.ts derives these by hand: 1696 pJ of events, ticks 440 + 539 + 440 + 579 ns,
  // static (4 mW + 20 mW) over them
  const wall = 1998 * ns;
  assert.ok(Math.abs(r.energy.per_frame_J - (1696 * pJ + 24e-3 * wall)) < 1e-22, String(r.energy.per_frame_J));
  assert.ok(Math.abs(r.latency.frame_s - wall) < 1e-18);
  assert.equal([r.counts.synaptic_events, r.counts.packets, r.counts.hops, r.counts.chip_crossings, r.counts.sops], [24, 12, 18, 12, 24]);
  // and a fresh recording replays to the same figures
  const fresh = join(dir, 'toy.bin');
  await emulateFrames(toyNet(), toyChip(), [Float32Array.of(1, 1)], { timesteps: 4, placement: 'layers', trace: fresh });
  assert.equal(figures(replayTrace(fresh, toyChip())), figures(r));
});

test('truncated, foreign and missing files are refused', async () => {
  const good = readFileSync(TOY);
  const cut = join(dir, 'cut.bin');
  writeFileSync(cut, good.subarray(0, good.length - 6));
  assert.throws(() => replayTrace(cut, toyChip()), /truncated trace/);
  const junk = join(dir, 'junk.bin');
  writeFileSync(junk, 'hello, this is not a trace at all');
  assert.throws(() => replayTrace(junk, toyChip()), /not a neuroemu trace/);
  assert.throws(() => replayTrace(join(dir, 'nope.bin'), toyChip()), /no such file/);
  const v2 = Buffer.from(good);
  v2.writeUInt32LE(99, 8);
  writeFileSync(junk, v2);
  assert.throws(() => replayTrace(junk, toyChip()), /version 99; this neuroemu reads version 1/);
});

test('corrupt headers and inflation bombs: one-line errors naming the file and the field', async () => {
  const { deflateRawSync } = await import('node:zlib');
  const good = readFileSync(TOY);
  const n = good.readUInt32LE(12);
  const header = JSON.parse(good.subarray(16, 16 + n).toString('utf8'));
  const pad = (h: number) => (4 - ((16 + h) % 4)) % 4;
  const rest = good.subarray(16 + n + pad(n));
  const withHeader = (h: unknown) => {
    const t = Buffer.from(JSON.stringify(h), 'utf8');
    const b = Buffer.alloc(16 + t.length + pad(t.length));
    good.copy(b, 0, 0, 12);
    b.writeUInt32LE(t.length, 12);
    t.copy(b, 16);
    return Buffer.concat([b, rest]);
  };
  const f = join(dir, 'corrupt.bin');
  const { fingerprint: _fp, ...noFingerprint } = header;
  for (const [h, re] of [
    [noFingerprint, /corrupt trace header \(fingerprint\)/],
    [{ ...header, fingerprint: { ...header.fingerprint, chip: undefined } }, /fingerprint\.chip/],
    [{ ...header, timesteps: -4 }, /timesteps/],
    [{ ...header, timesteps: 1e12 }, /timesteps/],
    [{ ...header, geometry: { ...header.geometry, cores: 'x' } }, /geometry\.cores/],
  ] as const) {
    writeFileSync(f, withHeader(h));
    assert.throws(() => replayTrace(f, toyChip()), (e: unknown) => e instanceof Error && e.message.startsWith(f) && re.test(e.message) && !e.message.includes('\n'), JSON.stringify(re));
  }
  // the first frame replaced by 64 MiB of zeros deflated to a few kB: refused before inflating
  const cores = header.geometry.cores;
  let at = 16 + n + pad(n) + 8 * cores;
  const zLen = good.readUInt32LE(at + 8);
  const bomb = deflateRawSync(Buffer.alloc(64 << 20));
  const head = Buffer.alloc(12);
  head.writeUInt32LE(good.readUInt32LE(at), 0);
  head.writeUInt32LE(64 << 20, 4);
  head.writeUInt32LE(bomb.length, 8);
  writeFileSync(f, Buffer.concat([good.subarray(0, at), head, bomb, good.subarray(at + 12 + zLen)]));
  assert.ok(readFileSync(f).length < 1 << 20, 'a small file');
  assert.throws(() => replayTrace(f, toyChip()), /a frame claims 67108864 bytes, more than/);
});

test('a failed run leaves no trace file', async () => {
  const file = join(dir, 'failed.trace');
  await emulateFrames(toyNet(), toyChip(), [Float32Array.of(1, 1), new Float32Array(3)], { timesteps: 2, placement: 'layers', trace: file }).then(
    () => assert.unreachable('a bad input was accepted'),
    (e) => assert.match((e as Error).message, /input has 3 values/),
  );
  assert.not.ok(existsSync(file));
  assert.equal(readdirSync(dir).filter((f) => f.startsWith('failed')), []);
});

test('neuroemu replay prints the run\'s rows and writes the JSON', async () => {
  const { snn, inputs } = face96();
  const file = join(dir, 'cli.trace');
  const run = await emulateFrames(snn, loadChip('loihi').params, inputs.slice(0, 1), { timesteps: 4, trace: file });
  const json = join(dir, 'replay.json');
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  try {
    await (replayCommand.handler as (a: unknown) => Promise<void>)({ file, chip: ['loihi', 'loihi@sana-fe'], json, layers: false, _: [], $0: 'neuroemu' });
  } finally {
    process.stdout.write = write;
  }
  for (const [k, v] of chipReportRows(run.totals)) if (k) assert.ok(out.includes(v), `row ${k}: ${v}\n${out}`);
  assert.match(out, /on loihi@sana-fe/);
  const j = JSON.parse(readFileSync(json, 'utf8')) as { chip: string; energy: { per_frame_J: number }; latency: object; counts: object; mapping: object; timesteps: number; frames: number }[];
  assert.equal(j.map((x) => x.chip), ['loihi', 'loihi@sana-fe']);
  assert.is(j[0].energy.per_frame_J, run.totals.energy.per_frame_J);
  for (const k of ['chip', 'timesteps', 'frames', 'energy', 'latency', 'counts', 'mapping']) assert.ok(k in j[0], k);
});

test('concatTraces: parts of a run join into the serial trace; a part recorded otherwise is refused', async () => {
  const { snn, inputs } = face96();
  const chip = loadChip('loihi').params;
  const whole = join(dir, 'whole.trace'), p1 = join(dir, 'p1.trace'), p2 = join(dir, 'p2.trace'), joined = join(dir, 'joined.trace'), other = join(dir, 'other.trace');
  await emulateFrames(snn, chip, inputs, { timesteps: 6, seed: 3, trace: whole });
  await emulateFrames(snn, chip, inputs.slice(0, 1), { timesteps: 6, seed: 3, trace: p1 });
  await emulateFrames(snn, chip, inputs.slice(1), { timesteps: 6, seed: 3, trace: p2, frameOffset: 1 });
  concatTraces([p1, p2], joined);
  assert.ok(Buffer.compare(readFileSync(joined), readFileSync(whole)) === 0);
  await emulateFrames(snn, chip, inputs.slice(1), { timesteps: 6, seed: 4, trace: other, frameOffset: 1 });
  assert.throws(() => concatTraces([p1, other], join(dir, 'bad.trace')), /not recorded with the same header/);
  assert.not.ok(existsSync(join(dir, 'bad.trace')));
});

test.run();
