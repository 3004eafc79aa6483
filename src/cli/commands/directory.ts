import type { CliCommand } from '../command.ts';

export const directoryCommands: CliCommand[] = [];
