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
  for (const [k, v] of Object.entries(p.energy)) if (!(Number.isFinite(v) && v >= 0)) bad(`energy.${k} = ${v}`);
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

test.run();
