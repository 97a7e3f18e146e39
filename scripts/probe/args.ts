/**
 * The command line the probes share: flags, then `--`, then the photos. `--calib` takes every
 * non-flag word after it, so it comes last among the flags.
 */
export function probeArgs(argv: string[] = process.argv.slice(2)) {
  const sep = argv.indexOf('--');
  const flags = argv.slice(0, sep < 0 ? argv.length : sep);
  const photos = sep < 0 ? [] : argv.slice(sep + 1);
  const at = flags.indexOf('--calib');
  const calib = at >= 0 ? flags.slice(at + 1).filter((x) => !x.startsWith('--')) : undefined;
  /** the word after --name, else def */
  function flag(name: string): string | undefined;
  function flag(name: string, def: string): string;
  function flag(name: string, def?: string): string | undefined {
    const i = flags.indexOf(`--${name}`);
    return i >= 0 ? flags[i + 1] : def;
  }
  return { photos, calib, flag };
}
