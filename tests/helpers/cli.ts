/** Driving the CLI from tests: as a process (`runBin`, `runBinAsync`), or one command in this process (`captureCli`). */
import { spawn, spawnSync } from 'node:child_process';
import yargs, { type CommandModule } from 'yargs';
import { UserError } from '../../src/util/errors.ts';

const bin = new URL('../../bin/neuroemu', import.meta.url).pathname;

/** `neuroemu ARGS...` in a child process: exit code, stdout, stderr. */
export function runBin(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/**
 * One command parsed and run in this process, its stdout and stderr captured; a usage error
 * throws a UserError as the CLI's main would print it.
 */
export async function captureCli(command: CommandModule<never, never>, argv: string[]): Promise<{ out: string; err: string }> {
  let out = '', err = '';
  const ow = process.stdout.write.bind(process.stdout), ew = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => ((out += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  try {
    await yargs(argv).command(command as never).strict().exitProcess(false).fail((msg, e) => {
      throw e ?? new UserError(msg);
    }).parseAsync();
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
  return { out, err };
}

/** runBin without blocking: several CLI cases can run side by side (each spawn costs about a second). */
export function runBinAsync(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}
