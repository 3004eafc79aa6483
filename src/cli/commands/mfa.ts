import type { CliCommand } from '../command.ts';

export const mfaCommands: CliCommand[] = [];
