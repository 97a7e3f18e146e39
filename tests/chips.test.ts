// Chip files, their schema and the `neuroemu chips` command.
// UPDATE_SCHEMA=1 node --import tsx tests/chips.test.ts rewrites chips/schema.json from the zod schema.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { chipsCommand } from '../src/cli/chips.ts';
import {
  builtinChipNames,
  chipJsonSchema,
  CHIPS_DIR,
  EVIDENCE_TAGS,
  loadChip,
  sourceKey,
  validateChip,
  validateChipFile,
  withBoard,
  type Figure,
} from '../src/hw/chip-schema.ts';
import { UserError } from '../src/util/errors.ts';

const SIX = ['generic', 'loihi', 'odin', 'spinnaker', 'spinnaker2', 'truenorth'];
const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'neuroemu-chips-'));
const loihiRaw = () => JSON.parse(readFileSync(join(CHIPS_DIR, 'loihi.json'), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Writes a modified copy of loihi.json and returns the UserError message validating it raises. */
function errorOf(name: string, edit: (o: Record<string, any>) => void): string { // eslint-disable-line @typescript-eslint/no-explicit-any
  const o = loihiRaw();
  edit(o);
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(o));
  try {
    validateChipFile(file);
  } catch (e) {
    assert.instance(e, UserError, `${name}: ${e}`);
    const m = (e as Error).message;
    assert.not.match(m, /\n/, 'one line');
    assert.ok(m.startsWith(`${file}: `), `${name}: names the file: ${m}`);
    return m.slice(file.length + 2);
  }
  assert.unreachable(`${name}: no error`);
  return '';
}

test.after(() => rmSync(dir, { recursive: true, force: true }));

function* figures(v: unknown, path = ''): Generator<[string, Figure]> {
  if (typeof v !== 'object' || v === null) return;
  if ('value' in v && 'source' in v) {
    yield [path, v as Figure];
    return;
  }
  for (const [k, c] of Object.entries(v)) yield* figures(c, path ? `${path}.${k}` : k);
}

test('the six built-in chips load, with every variant, and each numeric figure has a declared source', () => {
  assert.equal(builtinChipNames(), SIX);
  for (const name of SIX) {
    const { spec, variants } = validateChipFile(join(CHIPS_DIR, `${name}.json`), `chips/${name}.json`);
    assert.is(spec.name, name);
    for (const v of variants) assert.is(loadChip(`${name}@${v}`).variant, v);
    // independent of the schema's own check: walk the raw file, every number sits in a figure
    const raw = JSON.parse(readFileSync(join(CHIPS_DIR, `${name}.json`), 'utf8'));
    const keys = new Set([...Object.keys(raw.sources), 'neuroemu']);
    let n = 0;
    for (const [path, f] of figures(raw)) {
      n++;
      assert.ok(keys.has(sourceKey(f.source)), `${name} ${path}: source "${f.source}"`);
      assert.ok(f.tag === undefined || (EVIDENCE_TAGS as readonly string[]).includes(f.tag), `${name} ${path}: tag ${f.tag}`);
      if (name !== 'generic') assert.ok(f.tag, `${name} ${path}: built-in figures carry a tag`);
      if ((f.tag === 'U' || f.tag === 'D') && name !== 'generic') assert.ok(f.note, `${name} ${path}: a model choice or derivation says why`);
    }
    assert.ok(n > 30, `${name}: ${n} figures`);
    const bare = (v: unknown, path: string): void => {
      if (typeof v === 'number') assert.unreachable(`${name} ${path}: bare number ${v}`);
      if (typeof v !== 'object' || v === null || ('value' in v && 'source' in v)) return;
      for (const [k, c] of Object.entries(v)) if (!k.startsWith('_')) bare(c, `${path}.${k}`);
    };
    bare(raw, name);
    assert.ok(spec.model_notes && spec.model_notes.length > 50, `${name}: says which model it uses and why`);
  }
});

test('headline figures from FACTS.md §2', () => {
  const tn = loadChip('truenorth').params;
  assert.equal([tn.chip.cores, tn.chip.tilesX, tn.chip.tilesY, tn.core.neurons, tn.core.axons], [4096, 64, 64, 256, 256]);
  assert.equal([tn.core.bitsPerSynapse, tn.core.maxSynapses, tn.core.maxWeightsPerNeuron, tn.core.maxFanoutPerNeuron, tn.core.sharesKernels], [1, 65536, 4, 1, false]);
  assert.is(tn.noc.maxHopSpan, 255);
  assert.is(tn.timing.tick.rule, 'fixed');
  assert.is(tn.timing.clockHz, null);
  const l = loadChip('loihi').params;
  assert.equal([l.chip.cores, l.chip.mgmtCores, l.core.neurons, l.core.axons, l.core.maxFanoutPerCore, l.core.sharesKernels], [128, 3, 1024, 4096, 4096, true]);
  assert.is(l.core.synapseMemoryBits, 128 * 1024 * 8);
  const o = loadChip('odin').params;
  assert.equal([o.chip.cores, o.core.neurons, o.core.axons, o.core.maxSynapses, o.core.weightBits], [1, 256, 256, 65536, 3]);
  const s1 = loadChip('spinnaker').params;
  assert.equal([s1.chip.cores + s1.chip.mgmtCores, s1.core.neurons, s1.noc.routeEntries, s1.timing.clockHz], [18, 255, 1024, 200e6]);
  assert.is(s1.core.axons, Infinity);
  const s2 = loadChip('spinnaker2').params;
  assert.equal([s2.chip.cores, s2.chip.coresPerTile, s2.noc.routeEntries], [152, 4, 16384]);
});

test('defaults fill optional fields and say they are defaults', () => {
  const o = loadChip('odin');
  assert.equal(o.spec.board.chips_x, { value: 1, source: 'neuroemu default', tag: 'U', note: 'schema default: one chip' });
  assert.is(o.params.board.chipsX * o.params.board.chipsY, 1);
  assert.is(o.spec.energy.learn_pJ.value, 0);
  assert.is(o.spec.chip.mgmt_cores.value, 0);
  assert.is(o.params.noc.linkPacketsPerS, Infinity);
  const tn = loadChip('truenorth');
  assert.is(tn.spec.noc.cores_per_tile.source, 'neuroemu default');
  assert.ok(tn.spec.timing.tick.rule === 'fixed');
  const l = loadChip('loihi');
  assert.ok(l.spec.timing.tick.rule === 'barrier');
  assert.is(l.spec.timing.tick.min_period_s.value, 0);
});

test('generic.json is a documented template: _comment keys are ignored, the rest validates', () => {
  const raw = JSON.parse(readFileSync(join(CHIPS_DIR, 'generic.json'), 'utf8'));
  assert.type(raw._comment, 'string');
  for (const k of ['board', 'chip', 'core', 'timing', 'noc', 'energy']) assert.type(raw[k]._comment, 'string', k);
  const g = loadChip('generic');
  assert.is(g.params.timing.eventS.synop, 1 / 200e6);
  // a comment in a place that is otherwise strict
  raw.energy.synop_pJ._why = 'comments are allowed inside figures too';
  assert.is(validateChip(raw, 'x.json').energy.synop_pJ.value, 5);
});

test('schema errors name the file and the field path, in one line', () => {
  assert.is(errorOf('missing', (o) => delete o.core.neurons), 'core.neurons: required field missing');
  assert.is(errorOf('wrongtype', (o) => (o.energy.synop_pJ.value = 'abc')), 'energy.synop_pJ.value: expected a number >= 0, got "abc"');
  assert.is(errorOf('negative', (o) => (o.energy.hop_ew_pJ.value = -3)), 'energy.hop_ew_pJ.value: expected a number >= 0, got -3');
  assert.match(errorOf('nosource', (o) => (o.energy.synop_pJ = 23.6)), /^energy\.synop_pJ: a bare number needs a source: write \{"value": 23\.6, "source"/);
  assert.is(errorOf('emptysource', (o) => delete o.energy.synop_pJ.source), 'energy.synop_pJ.source: required field missing');
  assert.match(errorOf('badkey', (o) => (o.energy.synop_pJ.source = 'XYZ Table 9')), /^energy\.synop_pJ\.source: unknown source key "XYZ" \(declare it in "sources"/);
  assert.match(errorOf('typo', (o) => (o.energy.synop_pj = o.energy.synop_pJ)), /^energy: unknown field "synop_pj"/);
  assert.is(errorOf('int', (o) => (o.core.neurons.value = 10.5)), 'core.neurons.value: expected an integer >= 1, got 10.5');
  assert.is(errorOf('tag', (o) => (o.core.neurons.tag = 'X')), 'core.neurons.tag: expected one of the evidence tags P, P*, C, D, S, U, got "X"');
  assert.match(errorOf('model', (o) => (o.energy.power_model = { kind: 'magic' })), /^energy\.power_model\.kind: expected a power model: .*got "magic"/);
  assert.is(errorOf('modelparam', (o) => (o.energy.power_model = { kind: 'odin' })), 'energy.power_model.p_leak_W: required field missing (and 3 more problems)');
  assert.is(errorOf('cycles', (o) => ((o.timing.synop_cycles = { value: 3, source: 'D18' }), delete o.timing.synop_ns)), 'timing.synop_cycles: cycles need a sync clock ({"kind": "sync", "hz": ...}); give ns');
  assert.is(errorOf('noevent', (o) => delete o.timing.hop_ns_ns), 'timing.hop_ns_ns: required field missing (give hop_ns_ns or hop_ns_cycles)');
  assert.match(errorOf('cores', (o) => (o.chip.cores.value = 200)), /^chip\.cores\.value: expected <= tiles_x × tiles_y × noc\.cores_per_tile = 128, got 200/);
  assert.match(errorOf('table', (o) => (o.timing.tick.barrier_tiles_ns.value = [[32, 465], [1, 113]])), /^timing\.tick\.barrier_tiles_ns\.value\[1\]\[0\]: expected x values strictly increasing/);
  assert.match(errorOf('toplevel', (o) => (o.sources = {})), /^sources: declare at least one source/);
});

test('a bad variant names the variant; loadChip refuses unknown chips and variants', () => {
  const o = loihiRaw();
  o.variants['sana-fe'].set['energy.synop_pJ'] = { value: -1, source: 'SANA' };
  const file = join(dir, 'badvariant.json');
  writeFileSync(file, JSON.stringify(o));
  assert.throws(() => validateChipFile(file), (e: Error) => e.message === `${file}@sana-fe: energy.synop_pJ.value: expected a number >= 0, got -1`, 'variant');
  assert.throws(() => loadChip('nosuchchip'), (e: Error) => e instanceof UserError && /unknown chip "nosuchchip": built-in chips are generic, loihi, odin, spinnaker, spinnaker2, truenorth/.test(e.message), 'unknown chip');
  assert.throws(() => loadChip('loihi@nosuch'), (e: Error) => e instanceof UserError && /chips\/loihi\.json: no variant "nosuch" \(variants: sana-fe, realtime\)/.test(e.message), 'unknown variant');
  assert.throws(() => loadChip(join(dir, 'absent.json')), (e: Error) => e instanceof UserError && /absent\.json: cannot read the chip file \(no such file\)/.test(e.message), 'missing file');
  const bad = join(dir, 'broken.json');
  writeFileSync(bad, '{ "name": "x",\n');
  assert.throws(() => loadChip(bad), (e: Error) => e instanceof UserError && e.message.startsWith(`${bad}: invalid JSON:`) && !e.message.includes('\n'), 'invalid JSON');
});

test('loadChip: a name looks in chips/, anything else is a path; variants apply; boards can grow', () => {
  const byName = loadChip('loihi');
  assert.is(byName.file, 'chips/loihi.json');
  const path = join(CHIPS_DIR, 'loihi.json');
  const byPath = loadChip(path);
  assert.is(byPath.file, path);
  assert.equal(byPath.params, byName.params);
  const v = loadChip(`${path}@sana-fe`);
  assert.is(v.variant, 'sana-fe');
  assert.is(v.params.energy.synopJ, 24e-12);
  assert.is(v.spec.variants, undefined);
  const tn = loadChip('truenorth@allin26');
  assert.is(tn.params.power.kind, 'per_event');
  assert.is(tn.params.energy.staticChipW, 0);
  const big = withBoard(loadChip('truenorth'), 8, 8);
  assert.equal(big.params.board, { chipsX: 8, chipsY: 8 });
  assert.is(big.spec.board.chips_x.tag, 'U');
});

test('chips/schema.json is the JSON Schema generated from the zod schema', () => {
  const file = join(CHIPS_DIR, 'schema.json');
  const generated = JSON.stringify(chipJsonSchema(), null, 2) + '\n';
  if (process.env.UPDATE_SCHEMA) writeFileSync(file, generated);
  assert.is(readFileSync(file, 'utf8'), generated, 'chips/schema.json is stale: run `UPDATE_SCHEMA=1 node --import tsx tests/chips.test.ts`');
  const s = JSON.parse(generated);
  assert.ok(s.properties.$schema && s.properties.energy && s.required.includes('energy'));
  assert.not.ok(s.required.includes('board'), 'board has a default');
  // figures are objects with a required source
  const synop = s.properties.energy.properties.synop_pJ;
  assert.equal(synop.required, ['value', 'source']);
});

// ---------------------------------------------------------------------------------------------
// The command

async function runChips(args: string[]): Promise<{ out: string; error?: Error }> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await yargs(args)
      .command(chipsCommand)
      .strict()
      .fail((msg, err) => {
        throw err ?? new UserError(msg);
      })
      .parseAsync();
    return { out };
  } catch (error) {
    return { out, error: error as Error };
  } finally {
    process.stdout.write = write;
  }
}

test('`chips` lists all six chips with their headline figures', async () => {
  const r = await runChips(['chips']);
  assert.is(r.error, undefined);
  const lines = r.out.split('\n');
  assert.match(lines[0], /^chip\s+cores\/chip\s+neurons\/core\s+fan-in\s+SOP energy\s+hop E-W \/ N-S\s+static power\s+tick rule\s+power model/);
  for (const n of SIX) assert.ok(lines.some((l) => l.startsWith(n + ' ')), n);
  const row = (n: string) => lines.find((l) => l.startsWith(n + ' '))!;
  assert.match(row('truenorth'), /4096\s+256\s+256\s+2\.297 pJ\s+2\.3 pJ \(in SOP\)\s+64\.43 mW\/chip\s+fixed 1 ms\s+truenorth_affine\s+@allin26/);
  assert.match(row('loihi'), /128\s+1024\s+4096\s+23\.6 pJ\s+3 pJ \/ 4 pJ\s+104 mW\/chip\s+barrier 113 ns–465 ns\s+per_event/);
  assert.match(row('odin'), /1\s+256\s+256\s+8\.43 pJ/);
  assert.match(row('spinnaker '), /16\s+255\s+memory\s+13\.3 nJ†\s+800 pJ\/router\s+360 mW\/chip \+ 35\.56 mW\/busy core\s+fixed 1 ms/);
  const j = await runChips(['chips', '--json']);
  const parsed = JSON.parse(j.out);
  assert.equal(parsed.map((h: { chip: string }) => h.chip), SIX);
});

test('`chips validate` accepts good files and refuses a bad one with one line naming the field', async () => {
  const ok = await runChips(['chips', 'validate', join(CHIPS_DIR, 'truenorth.json'), 'odin']);
  assert.is(ok.error, undefined);
  assert.match(ok.out, /truenorth\.json: ok: truenorth \(variants: allin26\)\nchips\/odin\.json: ok: odin\n/);
  const o = loihiRaw();
  o.energy.synop_pJ.value = 'abc';
  const bad = join(dir, 'cli-bad.json');
  writeFileSync(bad, JSON.stringify(o));
  const r = await runChips(['chips', 'validate', bad]);
  assert.instance(r.error, UserError);
  assert.is(r.error!.message, `${bad}: energy.synop_pJ.value: expected a number >= 0, got "abc"`);
  const show = await runChips(['chips', 'show', 'loihi@sana-fe']);
  assert.is(show.error, undefined);
  assert.match(show.out, /energy\.synop_pJ\s+24 pJ\s+C\s+SANA loihi_conv_synapse/);
  const schema = await runChips(['chips', 'schema']);
  assert.is(schema.out, JSON.stringify(chipJsonSchema(), null, 2) + '\n');
});

test('`chips validate BAD` exits 2 with one line on stderr (the CLI process)', () => {
  const o = loihiRaw();
  delete o.core.neurons;
  const bad = join(dir, 'proc-bad.json');
  writeFileSync(bad, JSON.stringify(o));
  // through bin/neuroemu once the command is registered there; until then through a runner that
  // handles errors exactly as src/cli/main.ts does
  const registered = readFileSync(join(root, 'src/cli/commands.ts'), 'utf8').includes('chipsCommand');
  let args: string[];
  if (registered) args = [join(root, 'bin/neuroemu'), 'chips', 'validate', bad];
  else {
    const runner = join(dir, 'runner.mts');
    writeFileSync(
      runner,
      `import yargs from ${JSON.stringify(import.meta.resolve('yargs'))};
import { chipsCommand } from ${JSON.stringify(join(root, 'src/cli/chips.ts'))};
import { UserError } from ${JSON.stringify(join(root, 'src/util/errors.ts'))};
try {
  await yargs(process.argv.slice(2)).command(chipsCommand).strict().fail((m, e) => { if (e) throw e; throw new UserError(m); }).parseAsync();
} catch (e) {
  if (!(e instanceof UserError)) throw e;
  process.stderr.write('neuroemu: ' + e.message + '\\n');
  process.exitCode = 2;
}
`,
    );
    args = ['--import', 'tsx', runner, 'chips', 'validate', bad];
  }
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: root });
  assert.is(r.status, 2, r.stdout + r.stderr);
  assert.is(r.stderr, `neuroemu: ${bad}: core.neurons: required field missing\n`);
  const good = spawnSync(process.execPath, args.slice(0, -1).concat(join(CHIPS_DIR, 'generic.json')), { encoding: 'utf8', cwd: root });
  assert.is(good.status, 0, good.stderr);
  assert.match(good.stdout, /generic\.json: ok: generic/);
});

test.run();
