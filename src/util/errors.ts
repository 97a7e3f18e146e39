/**
 * A problem the user can cause and fix: a bad file, a bad flag, a network that does not fit.
 * The CLI prints `message` as one line and exits with code 2. Anything else is a bug (exit 1).
 * The message is kept to one line whatever it quotes (a JSON parser's snippet, a decoder's text):
 * line breaks and other control characters become spaces.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(oneLine(message));
    this.name = 'UserError';
  }
}

/** Collapses line breaks, tabs and other control characters into single spaces. */
export function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
}

/** Throws a UserError naming `where` (a file, file:line or field path) and what is wrong. */
export function fail(where: string, what: string): never {
  throw new UserError(`${where}: ${what}`);
}

/** The message of anything thrown (libraries sometimes throw strings or plain objects). */
export function describeThrown(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}
