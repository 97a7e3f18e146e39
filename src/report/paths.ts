/** Paths in reports relative to the working directory when they lie under it (shorter, same on every checkout). */
export function shortenPaths(text: string, cwd: string = process.cwd()): string {
  return text.split(`${cwd}/`).join('');
}
