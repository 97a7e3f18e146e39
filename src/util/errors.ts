/**
 * A problem the user can cause and fix: a bad file, a bad flag, a network that does not fit.
 * The CLI prints `message` as one line and exits with code 2. Anything else is a bug (exit 1).
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Throws a UserError naming `where` (a file, file:line or field path) and what is wrong. */
export function fail(where: string, what: string): never {
  throw new UserError(`${where}: ${what}`);
}
