import type { CommandModule } from 'yargs';
import { chipsCommand } from './chips.ts';
import { convergenceCommand } from './convergence.ts';
import { convertCommand } from './convert.ts';
import { detectCommand } from './detect.ts';
import { evalCommand } from './eval.ts';
import { infoCommand } from './info.ts';
import { mapCommand } from './map.ts';
import { replayCommand } from './replay.ts';
import { runCommand } from './run.ts';
import { sweepCommand } from './sweep.ts';
import { tuneCommand } from './tune.ts';

/** Every CLI command, one module per file. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [runCommand, detectCommand, convertCommand, convergenceCommand, evalCommand, chipsCommand, mapCommand, replayCommand, sweepCommand, tuneCommand, infoCommand];
