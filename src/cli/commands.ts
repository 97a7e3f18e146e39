import type { CommandModule } from 'yargs';
import { infoCommand } from './info.ts';

/** Every CLI command, one module per file. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [infoCommand];
