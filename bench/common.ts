/** What every benchmark script shares: its flags, progress on stderr, the machine it ran on. */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';

/** the script's arguments */
export const argv = process.argv.slice(2);
/** `--json`: print a JSON summary after the figures */
export const json = argv.includes('--json');
/** a numeric flag `--name V`, or its default */
export const opt = (name: string, dflt: number): number => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
export const progress = (s: string) => process.stderr.write(`${s}\n`);
export const nowS = () => Number(process.hrtime.bigint()) / 1e9;

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? m[1].trim() : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** the machine, for the JSON summary (load average: the other vCPU may be busy) */
export function machineInfo() {
  return { cpu: cpuModel(), cores: availableParallelism(), node: process.version, platform: `${process.platform} ${process.arch}`, loadAvg1m: loadavg()[0] };
}

/** The JSON summary: written to `--out FILE` when given, printed with `--json`; true when printed (skip the text report). */
export function emitSummary(summary: unknown): boolean {
  const text = JSON.stringify(summary, null, 2) + '\n';
  const i = argv.indexOf('--out');
  if (i >= 0) writeFileSync(argv[i + 1], text);
  if (json) process.stdout.write(text);
  return json;
}
