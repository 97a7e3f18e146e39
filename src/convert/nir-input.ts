/**
 * The input of an imported NIR graph (a graph carries none): a seeded Poisson stream at given
 * firing probabilities per tick, or recorded event tensors from a NumPy .npy file. Shared by
 * `run --model FILE.nir` and `sweep --model FILE.nir`, so both read the same flags the same way.
 */
import { readFileSync } from 'node:fs';
import { readNpy } from '../model/npy.ts';
import type { Shape } from '../model/ir.ts';
import { fail } from '../util/errors.ts';
import { sha256Hex } from './calibrate.ts';
import { nirInputRates } from './nir-import.ts';
import { shortenPaths } from '../report/paths.ts';

/** --nir-dt: a positive number of seconds, or absent */
export function nirDt(v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!(Number.isFinite(v) && v > 0)) fail('--nir-dt', `${v} must be a positive number of seconds`);
  return v;
}

/** "1,0.25" → [1, 0.25] */
export function parseRates(s: string | undefined): number[] {
  if (s === undefined || s === '') fail('--input-rate', 'a NIR graph needs its input: --input-rate R (every input channel) or R0,R1,... (per channel), firing probabilities per tick');
  const xs = String(s).split(',').map((t) => Number(t.trim()));
  if (xs.some((x) => !Number.isFinite(x))) fail('--input-rate', `"${s}" must be numbers separated by commas`);
  return xs;
}

/**
 * --input-events FILE.npy: the samples' spike tensors (T×C×H×W each, C×H×W the graph's input; a
 * 1-D input N×1×1 takes T×N), one frame per sample; values 0, 1 or −1.
 */
export function eventInputs(file: string, input: Shape): { ticks: number; frames: Float32Array[]; events: number } {
  const a = readNpy(file);
  const unit = input.h === 1 && input.w === 1 ? [input.c] : [input.c, input.h, input.w];
  const s = a.shape;
  const per = unit.reduce((x, y) => x * y, 1);
  const tail = s.slice(-unit.length);
  const lead = s.slice(0, s.length - unit.length);
  if (tail.join('x') !== unit.join('x') || (lead.length !== 1 && lead.length !== 2)) {
    fail(file, `shape (${s.join(', ')}): the graph's input is ${unit.join('x')}, so the events must be T×${unit.join('×')} or S×T×${unit.join('×')}`);
  }
  const [S, T] = lead.length === 2 ? lead : [1, lead[0]];
  if (T < 1 || S < 1) fail(file, `shape (${s.join(', ')}) holds no tick`);
  let events = 0;
  for (let i = 0; i < a.data.length; i++) {
    const v = a.data[i];
    if (v !== 0 && v !== 1 && v !== -1) {
      const sample = Math.floor(i / (T * per)), tick = Math.floor(i / per) % T;
      fail(file, `value ${v} at sample ${sample}, tick ${tick}: one spike per unit and tick (0, 1, or −1 for a negative spike)`);
    }
    if (v !== 0) events++;
  }
  const frames = Array.from({ length: S }, (_, k) => Float32Array.from(a.data.subarray(k * T * per, (k + 1) * T * per)));
  return { ticks: T, frames, events };
}

export interface NirInputFlags {
  /** --input-rate: R or R0,R1,... */
  rate?: string;
  /** --input-events: a .npy file */
  events?: string;
}

/** An imported graph's frames and how they were made. */
export interface NirInputs {
  /** one per inference: a C×H×W map of firing probabilities, or a T×C×H×W event tensor */
  frames: Float32Array[];
  /** event input: the ticks of each tensor (PlanOptions.inputEvents); undefined for Poisson */
  inputEvents?: number;
  /** one line for the report: what the input is */
  said: string;
  /** the same for a JSON report */
  json: { kind: 'events'; file: string; samples: number; ticks: number; events: number } | { kind: 'poisson'; rates: number[]; seed: number };
  /** what defines the input, for a sweep's id: the rates, or the events file's hash */
  identity: { rates: number[] } | { events_sha256: string };
}

/** The frames of --input-rate or --input-events (exactly one of them) for a graph of input shape `input`. */
export function nirInputs(input: Shape, flags: NirInputFlags, seed: number): NirInputs {
  if (flags.events !== undefined && flags.rate !== undefined) fail('--input-events', 'give the input once: --input-events or --input-rate, not both');
  if (flags.events !== undefined) {
    const file = flags.events;
    const ev = eventInputs(file, input);
    const nF = ev.frames.length;
    return {
      frames: ev.frames, inputEvents: ev.ticks,
      said: `input: events from ${shortenPaths(file)}: ${nF} sample${nF === 1 ? '' : 's'} × ${ev.ticks} ticks, ${ev.events.toLocaleString('en-US')} events (${(ev.events / nF).toFixed(1)} per sample); tick t reads the file's tick t − 1, no input after tick ${ev.ticks}`,
      json: { kind: 'events', file, samples: nF, ticks: ev.ticks, events: ev.events },
      identity: { events_sha256: sha256Hex(readFileSync(file)) },
    };
  }
  const rates = parseRates(flags.rate);
  return {
    frames: [nirInputRates(input, rates)],
    said: `input: seeded Poisson events, firing probability per tick ${rates.length === 1 ? rates[0] : rates.map((r, c) => `${r} (channel ${c})`).join(', ')} at every input position`,
    json: { kind: 'poisson', rates, seed },
    identity: { rates },
  };
}
