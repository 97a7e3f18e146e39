import { UserError } from './errors.ts';

/** Deepest nesting a neuroemu file may have: far above any real file, far below the stack limit. */
export const MAX_JSON_DEPTH = 64;

/**
 * Refuses JSON text nested deeper than `max` arrays/objects before anything recursive (a schema
 * validator, a deep copy) walks it and overflows the stack: one scan, strings skipped.
 */
export function checkJsonDepth(text: string, where: string, max = MAX_JSON_DEPTH): void {
  let depth = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92) i++; // backslash: skip the escaped character
      else if (ch === 34) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 91 || ch === 123) {
      if (++depth > max) throw new UserError(`${where}: JSON nested deeper than ${max} levels (at character ${i})`);
    } else if (ch === 93 || ch === 125) depth--;
  }
}
