/**
 * What a design-space sweep saves by pricing points from a trace instead of emulating them:
 * the face detector on Loihi, one emulation with a trace, then the same run priced on 8 chips
 * that differ only in energy and timing constants, one replay per chip and all 8 in one pass
 * over the trace (src/hw/trace.ts replayTraceOnChips, what `neuroemu sweep` does).
 *
 *   npm run -s bench:sweep [-- --size 416 --timesteps 64 --frames 6] [--json] [--out FILE]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calibrateModel, convertCalibrated } from '../src/convert/from-model.ts';
import { chipWithOverrides } from '../src/hw/chip-schema.ts';
import { replayTrace, replayTraceOnChips } from '../src/hw/trace.ts';
import { loadImage } from '../src/image/decode.ts';
import { preprocess } from '../src/image/preprocess.ts';
import { faceSamplePhotos } from '../src/model/faceapi.ts';
import { emulateFrames } from '../src/sim/emulate.ts';
import { emitSummary, machineInfo, nowS, opt, progress } from './common.ts';

const size = opt('--size', 416);
const T = opt('--timesteps', 64);
const frames = opt('--frames', 6);
const machine = machineInfo();
const photos = faceSamplePhotos().slice(0, frames);
progress(`face ${size}, ${photos.length} frames × ${T} ticks on loihi; load ${machine.loadAvg1m.toFixed(2)}`);

const snn = convertCalibrated(calibrateModel({ model: 'face', size }, { calib: faceSamplePhotos() }), {}).snn;
const inputs = photos.map((f) => preprocess(snn.ann, loadImage(f)));
const chips = [12, 15, 18, 21, 24, 27, 30, 33].map((pj) => chipWithOverrides('loihi', { 'energy.synop_pJ': pj }, `synop ${pj} pJ`).params);
const dir = mkdtempSync(join(tmpdir(), 'neuroemu-bench-'));
const trace = join(dir, 'run.trace');

let t = nowS();
const live = await emulateFrames(snn, chips[0], inputs, { timesteps: T, seed: 1, autoBoard: true, trace });
const emulateS = nowS() - t;
const traceBytes = statSync(trace).size;
t = nowS();
const one = replayTrace(trace, chips[0]);
const replayOneS = nowS() - t;
t = nowS();
const many = replayTraceOnChips(trace, chips);
const replayManyS = nowS() - t;
rmSync(dir, { recursive: true, force: true });
if (one.energy.per_frame_J !== live.totals.energy.per_frame_J || many[0].energy.per_frame_J !== live.totals.energy.per_frame_J)
  throw new Error('a replay on the recording chip differs from the live run');

const summary = {
  bench: 'sweep', machine, network: `face ${size}`, frames: photos.length, timesteps: T, chip: 'loihi', cores: live.totals.mapping.cores,
  emulate_with_trace_s: emulateS, trace_bytes: traceBytes, replay_one_chip_s: replayOneS, replay_8_chips_one_pass_s: replayManyS,
  per_point_s: { emulated: emulateS, replayed_alone: replayOneS, replayed_in_batch_of_8: replayManyS / chips.length },
};
if (!emitSummary(summary)) {
  console.log(`sweep pricing — face ${size}, ${photos.length} frames × ${T} ticks on loihi (${live.totals.mapping.cores.toLocaleString('en-US')} cores); ${machine.cpu}, load ${machine.loadAvg1m.toFixed(2)}`);
  console.log(`  emulate (with trace)        ${emulateS.toFixed(2)} s per point (trace ${(traceBytes / 2 ** 20).toFixed(1)} MiB)`);
  console.log(`  replay, one chip            ${replayOneS.toFixed(2)} s per point (${(emulateS / replayOneS).toFixed(1)}× faster)`);
  console.log(`  replay, 8 chips in one pass ${(replayManyS / chips.length).toFixed(3)} s per point (${(emulateS / (replayManyS / chips.length)).toFixed(0)}× faster)`);
}
