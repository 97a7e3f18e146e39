/**
 * `neuroemu map`: partition, place and route a spiking network on a chip model, print the cores
 * and chips used, per-layer utilization, fan-in splits, fan-out splitters and precision notes;
 * optionally write an SVG of the placement with the expected traffic, and a JSON summary.
 *
 * --model: a .snn file (from `neuroemu convert`), or a model that is converted on the fly with the
 * default settings (channel-wise max, IBT neurons). The calibration images of that on-the-fly
 * conversion: the first image given by --calib, or, for the face detector without --calib, the
 * face-api sample photos. (A mapping depends on the network's shapes only, and its precision note
 * on the weights; λ changes neither, so one image is enough.)
 */
import { resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { calibrate } from '../convert/calibrate.ts';
import { convertNetwork, defaultSettings } from '../convert/convert.ts';
import { isSnnFile, loadSnn } from '../convert/snn-file.ts';
import type { SnnNetwork } from '../convert/snn-ir.ts';
import { loadChip } from '../hw/chip-schema.ts';
import { mappingSvg } from '../hw/map-svg.ts';
import { mapNetwork, thousandsOf, type Board, type Mapping } from '../hw/mapper.ts';
import { expectedTraffic, keyCount, KEY_FIELDS, recordCount, routeTableBytes } from '../hw/routing.ts';
import { faceSamplePhotos } from '../model/faceapi.ts';
import { loadModel } from '../model/load.ts';
import { isNirFile } from '../model/nir.ts';
import { loadNirSnn } from '../convert/nir-import.ts';
import { nirDt } from '../convert/nir-input.ts';
import { formatTable } from '../report/table.ts';
import { writeFileAtomic } from '../util/atomic.ts';
import { fail } from '../util/errors.ts';
import { modelOptions, placementOption } from './options.ts';
import type { PlacementOrder } from '../hw/mapper.ts';

interface MapArgs {
  model: string;
  'nir-dt'?: number;
  weights?: string;
  size?: number;
  names?: string;
  calib?: string[];
  chip: string;
  board?: string;
  'auto-board': boolean;
  placement: string;
  svg?: string;
  json?: string;
  rate: number;
}

export function parseBoard(s: string): Board {
  const m = /^(\d+)x(\d+)$/i.exec(s.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) fail('--board', `"${s}" must be WxH chips, e.g. 4x4`);
  return { chipsX: Number(m[1]), chipsY: Number(m[2]) };
}

/** The network to map: a .snn file, or the model converted with the default settings. */
export function networkFor(a: Pick<MapArgs, 'model' | 'weights' | 'size' | 'names' | 'calib' | 'nir-dt'>, progress: (s: string) => void): SnnNetwork {
  if (isNirFile(a.model)) {
    if (a.weights || a.size) fail('--model', `${a.model} is a NIR graph: --weights and --size do not apply`);
    progress(`map: importing the NIR graph ${a.model}`);
    return loadNirSnn(a.model, { dtS: nirDt(a['nir-dt']) }).snn;
  }
  if (a.model !== 'face' && isSnnFile(a.model)) {
    if (a.weights || a.size) fail('--model', `${a.model} is a converted network (.snn): --weights and --size do not apply`);
    progress(`map: reading ${a.model}`);
    return loadSnn(a.model);
  }
  const net = loadModel({ model: a.model, weights: a.weights, size: a.size, names: a.names });
  const given = (a.calib ?? []).map(String);
  let images: string[];
  if (given.length) images = [given[0]];
  else if (net.format === 'face-api') images = faceSamplePhotos();
  else fail('--calib', `converting ${net.name} on the fly needs a calibration image (--calib IMAGE), or give a .snn file from \`neuroemu convert\``);
  if (images.length === 0) fail('--calib', 'the face-api sample photos are missing; give --calib IMAGE');
  const stats = calibrate(net, images, { onImage: (i, n, f, ms) => progress(`calibrate [${i + 1}/${n}] ${f} (${ms.toFixed(0)} ms)`) });
  const snn = convertNetwork(net, stats, defaultSettings(), images);
  return snn;
}

const pct = (used: number, avail: number) => (!Number.isFinite(avail) ? '—' : avail <= 0 ? '—' : `${((100 * used) / avail).toFixed(1)} %`);
const fix = (x: number, d = 2) => (Number.isInteger(x) ? String(x) : x.toFixed(d));

/** The text report of a mapping (stdout of `neuroemu map`). */
export function mapReport(m: Mapping): string {
  const chip = m.chip;
  const lines: string[] = [];
  const perChip = chip.chip.cores;
  lines.push(`neuroemu map — ${m.network} on ${m.chipName}`);
  lines.push(
    `cores used: ${thousandsOf(m.coresUsed)} on ${m.chipsUsed} chip${m.chipsUsed === 1 ? '' : 's'} (${thousandsOf(perChip)} cores per chip, ` +
      `${chip.chip.tilesX}x${chip.chip.tilesY} routers × ${chip.chip.coresPerTile} core${chip.chip.coresPerTile === 1 ? '' : 's'}); ${m.boardNote}`,
  );
  lines.push(
    `core: ${thousandsOf(chip.core.neurons)} neurons, ${thousandsOf(chip.core.axons)} axons, ${thousandsOf(chip.core.synapseMemoryBits)} bits of synapse memory ` +
      `(${chip.core.bitsPerSynapse} bits per synapse, kernels ${chip.core.sharesKernels ? 'shared' : 'unrolled'}); NoC ${chip.noc.multicast ? 'multicast' : 'unicast'}, XY routing`,
  );
  lines.push('');
  const rows: (string | number)[][] = [];
  for (const l of m.layers) {
    if (!l) continue;
    const u = l.utilization;
    rows.push([
      l.layer,
      l.kind + (l.analogInput ? ' (analog in)' : l.emits ? '' : ' (readout)'),
      `${l.shape.h}x${l.shape.w}x${l.shape.c}`,
      `${l.tile.h}x${l.tile.w}x${l.tile.c}`,
      thousandsOf(l.neuronCores),
      l.split ? `${thousandsOf(l.split.partialCores)} (m=${l.split.m})` : '',
      pct(u.neurons.used, u.neurons.available),
      l.analogInput ? '0 (host)' : pct(u.axons.used, u.axons.available),
      l.analogInput ? '0 (host)' : pct(u.synapseBits.used, u.synapseBits.available),
      l.limit,
      l.emits ? fix(l.fanout.avgDestinations) : '',
      l.fanout.splitterNeurons ? `${thousandsOf(l.fanout.splitterNeurons)} (${thousandsOf(l.fanout.splitterCores)} cores)` : '',
    ]);
  }
  lines.push(
    formatTable(
      [
        { header: '#' }, { header: 'kind', align: 'left' }, { header: 'HxWxC', align: 'left' }, { header: 'tile', align: 'left' },
        { header: 'cores' }, { header: 'partial cores' }, { header: 'neurons' }, { header: 'axons' }, { header: 'syn. memory' },
        { header: 'limit', align: 'left' }, { header: 'dest/neuron' }, { header: 'splitters' },
      ],
      rows,
    ),
  );
  lines.push('');
  lines.push('neurons / axons / syn. memory: used over available in the layer\'s cores (splitter copies and partial sums included); limit: the constraint its tiles are closest to');
  const splits = m.layers.filter((l) => l?.split);
  if (splits.length) {
    lines.push('');
    lines.push('fan-in splits (one neuron\'s fan-in exceeds the axons of a core: m partial-sum neurons + 1 accumulator):');
    for (const l of splits) {
      const s = l!.split!;
      const r = s.relayPerSpike;
      lines.push(
        `  layer ${l!.layer}: fan-in ${thousandsOf(s.fanIn)} > ${thousandsOf(chip.core.axons)} axons → m = ${s.m} slices of ≤ ${thousandsOf(s.sliceInputs)} inputs; ` +
          `${thousandsOf(s.partialNeurons)} partial neurons on ${thousandsOf(s.partialCores)} cores (${s.tile.h}x${s.tile.w}x${s.tile.c} per core)` +
          (r ? `; relay estimate per output spike: ${fix(r.spikes)} spikes, ${fix(r.packets)} packets, ${fix(r.hopsEW + r.hopsNS)} hops, ${fix(r.chipCrossings, 3)} chip crossings, ${fix(r.synops)} synaptic events` : ''),
      );
    }
    lines.push('  relay cost is an ESTIMATE (the simulator runs the accumulators only): m relay spikes per output spike of the layer, each a packet partial → accumulator core and a synaptic event there');
  }
  if (Number.isFinite(chip.core.maxFanoutPerNeuron)) {
    const sp = m.layers.filter((l) => l && l.fanout.splitterNeurons > 0);
    if (sp.length) {
      lines.push('');
      lines.push(`fan-out splitters (a neuron reaches at most ${chip.core.maxFanoutPerNeuron} core${chip.core.maxFanoutPerNeuron === 1 ? '' : 's'}: d destination cores need ⌈d/${chip.core.maxFanoutPerNeuron}⌉ − 1 duplicates in the source core, which fire with it):`);
      for (const l of sp) {
        lines.push(
          `  layer ${l!.layer}: ${fix(l!.fanout.avgDestinations)} destination cores per neuron on average (max ${l!.fanout.maxDestinations}), ` +
            `${thousandsOf(l!.fanout.splitterNeurons)} splitter neurons, ${thousandsOf(l!.fanout.splitterCores)} cores added`,
        );
      }
    }
  }
  const prec = m.layers.filter((l) => l?.precision);
  if (prec.length) {
    lines.push('');
    lines.push('precision:');
    for (const l of prec) lines.push(`  layer ${l!.layer}: ${l!.precision}`);
  }
  lines.push('');
  lines.push('notes:');
  for (const n of m.notes) lines.push(`  - ${n}`);
  const t = m.routes;
  lines.push('');
  lines.push(`route tables: ${thousandsOf(keyCount(t))} keys sharing ${thousandsOf(recordCount(t))} records (${KEY_FIELDS} header fields each), ${thousandsOf(t.entries.length / 2)} entries, ${thousandsOf(routeTableBytes(t))} bytes`);
  return lines.join('\n') + '\n';
}

/** The JSON summary of a mapping (no tables). */
export function mapJson(m: Mapping): object {
  return {
    network: m.network,
    chip: m.chipName,
    board: { chips_x: m.board.chipsX, chips_y: m.board.chipsY, note: m.boardNote },
    cores: m.coresUsed,
    chips: m.chipsUsed,
    routers: m.routersUsed,
    layers: m.layers
      .filter((l) => l)
      .map((l) => ({
        layer: l!.layer,
        name: l!.name,
        kind: l!.kind,
        rule: l!.rule,
        shape: { h: l!.shape.h, w: l!.shape.w, c: l!.shape.c },
        analog_input: l!.analogInput,
        fan_in: l!.fanIn,
        tile: l!.tile,
        cores: l!.cores,
        neuron_cores: l!.neuronCores,
        first_core: l!.firstCore,
        limit: l!.limit,
        utilization: {
          neurons: l!.utilization.neurons,
          axons: Number.isFinite(l!.utilization.axons.available) ? l!.utilization.axons : { used: l!.utilization.axons.used, available: null },
          synapse_bits: l!.utilization.synapseBits,
        },
        split: l!.split
          ? { m: l!.split.m, fan_in: l!.split.fanIn, slice_inputs: l!.split.sliceInputs, tile: l!.split.tile, partial_neurons: l!.split.partialNeurons, partial_cores: l!.split.partialCores, relay_per_spike_estimate: l!.split.relayPerSpike }
          : null,
        fanout: l!.fanout,
        per_spike: l!.perSpike,
        precision: l!.precision,
      })),
    route_tables: { keys: keyCount(m.routes), records: recordCount(m.routes), entries: m.routes.entries.length / 2, bytes: routeTableBytes(m.routes) },
    notes: m.notes,
  };
}

export const mapCommand: CommandModule<object, MapArgs> = {
  command: 'map',
  describe: 'Map a spiking network onto a chip model: partition into cores, place on the mesh, route; print utilization, fan-in splits and fan-out splitters',
  builder: (y) =>
    placementOption(modelOptions(y))
      .option('model', {
        type: 'string',
        default: 'face',
        describe: 'a converted network (.snn from `neuroemu convert`), or a model converted on the fly: face, a tfjs manifest .json, a darknet .cfg or a bundled cfg name (yolov2-tiny-voc, yolov2-tiny, yolov3-tiny)',
      })
      .option('calib', { type: 'string', array: true, describe: 'calibration image for an on-the-fly conversion (the first one is used; default for the face detector: the face-api sample photos)' })
      .option('nir-dt', { type: 'number', describe: 'a NIR graph with LIF or LI nodes: the simulation step in seconds (their time constants become a leak per tick)' })
      .option('chip', { type: 'string', demandOption: true, describe: 'chip model: a built-in name (truenorth, loihi, …), NAME@VARIANT, or a chip .json file' })
      .option('board', { type: 'string', describe: 'board size WxH in chips (default: the chip file\'s board)' })
      .option('auto-board', { type: 'boolean', default: false, describe: 'when the board is too small, use the smallest square board that fits instead of refusing' })
      .option('svg', { type: 'string', describe: 'write an SVG of the placement (cores colored by layer, chip outlines, expected traffic)' })
      .option('json', { type: 'string', describe: 'write a JSON summary of the mapping' })
      .option('rate', { type: 'number', default: 0.05, describe: 'assumed spikes per neuron per tick of every layer, for the expected traffic in the SVG' })
      .example('$0 map --model face --size 224 --chip truenorth --svg face-truenorth.svg', 'the face detector on TrueNorth (converted on the fly from the sample photos)')
      .example('$0 map --model face224.snn --chip loihi --json map.json', 'a converted network on Loihi, JSON summary')
      .example('$0 map --model yolov2-tiny-voc --weights synthetic --calib photo.jpg --chip truenorth --auto-board', 'Tiny YOLO v2 at 416 on the smallest square TrueNorth board that holds it')
      .example('$0 map --model yolov2-tiny-voc --weights yolov2-tiny-voc.weights --calib photo.jpg --chip loihi --board 12x12', 'on a 12x12 Loihi board') as never,
  handler: async (args) => {
    const progress = (s: string) => process.stderr.write(s + '\n');
    if (!(args.rate >= 0) || !Number.isFinite(args.rate)) fail('--rate', `${args.rate} must be a number >= 0`);
    const board = args.board !== undefined ? parseBoard(args.board) : undefined;
    const chip = loadChip(args.chip);
    const snn = networkFor(args, progress);
    const m = mapNetwork(snn, chip.params, { board, autoBoard: args['auto-board'], placement: args.placement as PlacementOrder, onProgress: progress });
    process.stdout.write(mapReport(m));
    if (args.svg) {
      const rates = snn.layers.map(() => args.rate);
      const traffic = expectedTraffic(m, rates);
      writeFileAtomic(args.svg, mappingSvg(m, { traffic, trafficNote: `assumed ${args.rate} spikes per neuron per tick in every layer` }));
      process.stdout.write(`wrote ${args.svg} (busiest link ${traffic.maxLink.packets.toPrecision(3)} packets per tick at ${traffic.maxLink.ew ? 'E-W' : 'N-S'} (${traffic.maxLink.x}, ${traffic.maxLink.y}))\n`);
    }
    if (args.json) {
      writeFileAtomic(args.json, JSON.stringify(mapJson(m), null, 2) + '\n');
      process.stdout.write(`wrote ${resolve(args.json)}\n`);
    }
  },
};
