import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { builtinChipNames, chipJsonSchema, CHIPS_DIR, loadChip, validateChipFile, type Chip, type Figure } from '../hw/chip-schema.ts';
import { formatTable } from '../report/table.ts';

/** 2.297e-12 → "2.297 pJ"; 0.06443 → "64.43 mW" (3 significant digits, 4 when they matter). */
export function si(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '∞';
  if (value === 0) return `0 ${unit}`;
  const prefixes: [number, string][] = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
    [1, ''],
    [1e-3, 'm'],
    [1e-6, 'µ'],
    [1e-9, 'n'],
    [1e-12, 'p'],
    [1e-15, 'f'],
  ];
  const a = Math.abs(value);
  const [scale, p] = prefixes.find(([s]) => a >= s * 0.9999) ?? prefixes[prefixes.length - 1];
  const v = value / scale;
  const text = Number(v.toPrecision(4)).toString();
  return `${text} ${p}${unit}`;
}

function tickText(c: Chip): string {
  const t = c.params.timing.tick;
  if (t.rule === 'fixed') return `fixed ${si(t.periodS, 's')}`;
  const b = c.params.timing.barrierTilesS;
  let s = 'barrier';
  if (b.length === 1) s += ` ${si(b[0][1], 's')}`;
  else if (b.length > 1) s += ` ${si(b[0][1], 's')}–${si(b[b.length - 1][1], 's')}`;
  else s += ' (no cost)';
  if (t.minPeriodS > 0) s += `, ≥${si(t.minPeriodS, 's')}`;
  return s;
}

/** The SOP energy the chip's power model charges (per-event view marked † where the model charges none). */
function sopText(c: Chip): string {
  const pm = c.params.power;
  if (pm.kind === 'truenorth_affine' || pm.kind === 'odin') return si(pm.sopJ, 'J');
  if (pm.kind === 'spinnaker') return `${si(c.params.energy.synopJ, 'J')}†`;
  return si(c.params.energy.synopJ, 'J');
}

function staticText(c: Chip): string {
  const pm = c.params.power;
  const e = c.params.energy;
  switch (pm.kind) {
    case 'per_event':
      return [e.staticChipW > 0 || e.staticCoreW === 0 ? `${si(e.staticChipW, 'W')}/chip` : '', e.staticCoreW > 0 ? `${si(e.staticCoreW, 'W')}/core` : '']
        .filter(Boolean)
        .join(' + ');
    case 'truenorth_affine':
      return `${si(pm.p0W, 'W')}/chip`;
    case 'odin':
      return `${si(pm.pLeakW + pm.pIdleWPerHz * (c.params.timing.clockHz ?? 0), 'W')}/chip`;
    case 'spinnaker':
      return `${si(pm.idleChipW, 'W')}/chip + ${si(pm.activeCoreW, 'W')}/busy core`;
  }
}

function hopText(c: Chip): string {
  const pm = c.params.power;
  const e = c.params.energy;
  if (pm.kind === 'odin') return 'n/a (1 core)';
  if (pm.kind === 'truenorth_affine') return `${si(e.hopEwJ, 'J')} (in SOP)`;
  if (pm.kind === 'spinnaker') return `${si(pm.packetJ, 'J')}/router`;
  return e.hopEwJ === e.hopNsJ ? si(e.hopEwJ, 'J') : `${si(e.hopEwJ, 'J')} / ${si(e.hopNsJ, 'J')}`;
}

export interface ChipHeadline {
  chip: string;
  coresPerChip: number;
  neuronsPerCore: number;
  fanIn: number | null;
  sop: string;
  hop: string;
  static: string;
  tick: string;
  powerModel: string;
  variants: string[];
  description: string;
}

export function chipHeadline(c: Chip): ChipHeadline {
  return {
    chip: c.spec.name,
    coresPerChip: c.params.chip.cores,
    neuronsPerCore: c.params.core.neurons,
    fanIn: Number.isFinite(c.params.core.axons) ? c.params.core.axons : null,
    sop: sopText(c),
    hop: hopText(c),
    static: staticText(c),
    tick: tickText(c),
    powerModel: c.params.power.kind,
    variants: Object.keys(c.spec.variants ?? {}),
    description: c.spec.description,
  };
}

function listChips(json: boolean): void {
  const chips = builtinChipNames().map((n) => loadChip(n));
  const heads = chips.map(chipHeadline);
  if (json) {
    process.stdout.write(JSON.stringify(heads, null, 2) + '\n');
    return;
  }
  const rows = heads.map((h) => [
    h.chip,
    h.coresPerChip,
    h.neuronsPerCore,
    h.fanIn ?? 'memory',
    h.sop,
    h.hop,
    h.static,
    h.tick,
    h.powerModel,
    h.variants.map((v) => `@${v}`).join(' '),
  ]);
  process.stdout.write(
    formatTable(
      [
        { header: 'chip', align: 'left' },
        { header: 'cores/chip' },
        { header: 'neurons/core' },
        { header: 'fan-in' },
        { header: 'SOP energy' },
        { header: 'hop E-W / N-S' },
        { header: 'static power', align: 'left' },
        { header: 'tick rule', align: 'left' },
        { header: 'power model', align: 'left' },
        { header: 'variants', align: 'left' },
      ],
      rows,
    ) + '\n',
  );
  process.stdout.write(
    '\n† per-event view only: the spinnaker model charges busy-core power instead of per-SOP energy.\n' +
      'Every figure has its source: `neuroemu chips show NAME`; what each field means: chips/README.md.\n',
  );
}

const UNITS: [RegExp, string][] = [
  [/_pJ$/, 'pJ'],
  [/_nJ$/, 'nJ'],
  [/_W_per_MHz$/, 'W/MHz'],
  [/_W$/, 'W'],
  [/_V$/, 'V'],
  [/_ns$/, 'ns'],
  [/_s$/, 's'],
  [/_cycles$/, 'cycles'],
  [/_bits$/, 'bits'],
  [/^hz$/, 'Hz'],
  [/_nm$/, 'nm'],
  [/_mm2$/, 'mm²'],
  [/_per_s$/, '/s'],
];

function unitOf(key: string): string {
  return UNITS.find(([re]) => re.test(key))?.[1] ?? '';
}

function isFigure(v: unknown): v is Figure {
  return typeof v === 'object' && v !== null && 'value' in v && 'source' in v;
}

function figureLines(v: unknown, path: string[], out: string[][]): void {
  if (isFigure(v)) {
    const key = path[path.length - 1];
    const value = Array.isArray(v.value) ? JSON.stringify(v.value) : String(v.value);
    out.push([path.join('.'), `${value} ${unitOf(key)}`.trim(), v.tag ?? '', v.source + (v.note ? ` — ${v.note}` : '')]);
    return;
  }
  if (typeof v !== 'object' || v === null) {
    if (path.length > 1) out.push([path.join('.'), String(v), '', '']);
    return;
  }
  for (const [k, child] of Object.entries(v)) {
    if (k === 'variants' || k === 'sources' || k === 'notes' || k === 'description' || k === 'model_notes') continue;
    figureLines(child, [...path, k], out);
  }
}

function showChip(name: string): void {
  const c = loadChip(name);
  const s = c.spec;
  process.stdout.write(`${s.name}${c.variant ? '@' + c.variant : ''}  (${c.file})\n${s.description}\n\n`);
  if (s.model_notes) process.stdout.write(`Model: ${s.model_notes}\n\n`);
  const rows: string[][] = [];
  figureLines(s, [], rows);
  process.stdout.write(formatTable([{ header: 'field', align: 'left' }, { header: 'value' }, { header: 'tag', align: 'left' }, { header: 'source — note', align: 'left' }], rows) + '\n\n');
  process.stdout.write('Sources:\n' + Object.entries(s.sources).map(([k, v]) => `  ${k}: ${v}`).join('\n') + '\n');
  const variants = Object.entries(s.variants ?? {});
  if (variants.length) process.stdout.write('\nVariants:\n' + variants.map(([k, v]) => `  ${s.name}@${k}: ${v.description}`).join('\n') + '\n');
}

interface ChipsArgs {
  json?: boolean;
}
interface ValidateArgs {
  files: string[];
}
interface ShowArgs {
  chip: string;
}

const validateCommand: CommandModule<ChipsArgs, ValidateArgs> = {
  command: 'validate <files..>',
  describe: 'Check chip files against the schema (every variant too); exit 2 with one line naming the file and field on the first problem',
  builder: (y: Argv<ChipsArgs>) =>
    y
      .positional('files', { type: 'string', array: true, demandOption: true, describe: 'chip .json files (or built-in chip names)' })
      .example('$0 chips validate my-chip.json', 'check an architect\'s own design') as unknown as Argv<ValidateArgs>,
  handler: (args) => {
    for (const f of args.files) {
      const builtin = !existsSync(f) && /^[a-z0-9][a-z0-9_-]*$/.test(f) && builtinChipNames().includes(f);
      const path = builtin ? join(CHIPS_DIR, `${f}.json`) : f;
      const shown = builtin ? `chips/${f}.json` : f;
      const { spec, variants } = validateChipFile(path, shown);
      process.stdout.write(`${shown}: ok: ${spec.name}${variants.length ? ` (variants: ${variants.join(', ')})` : ''}\n`);
    }
  },
};

const showCommand: CommandModule<ChipsArgs, ShowArgs> = {
  command: 'show <chip>',
  describe: 'Every figure of a chip with its unit, evidence tag, source and note',
  builder: (y: Argv<ChipsArgs>) =>
    y
      .positional('chip', { type: 'string', demandOption: true, describe: 'chip name, NAME@VARIANT, or a chip .json file' })
      .example('$0 chips show loihi@sana-fe', 'the silicon-calibrated Loihi figures') as unknown as Argv<ShowArgs>,
  handler: (args) => showChip(args.chip),
};

const schemaCommand: CommandModule<ChipsArgs, ChipsArgs> = {
  command: 'schema',
  describe: 'Print the JSON Schema of a chip file (chips/schema.json)',
  handler: () => {
    process.stdout.write(JSON.stringify(chipJsonSchema(), null, 2) + '\n');
  },
};

export const chipsCommand: CommandModule<object, ChipsArgs> = {
  command: 'chips',
  describe: 'List the chip models with their headline figures; `chips validate FILE`, `chips show NAME`, `chips schema`',
  builder: (y) =>
    y
      .option('json', { type: 'boolean', default: false, describe: 'print the list as JSON' })
      .command(validateCommand)
      .command(showCommand)
      .command(schemaCommand)
      .example('$0 chips', 'cores, neurons, fan-in, SOP and hop energy, static power and tick rule of every chip')
      .example('$0 chips validate my-chip.json', 'check a chip file') as unknown as Argv<ChipsArgs>,
  handler: (args) => listChips(Boolean(args.json)),
};
