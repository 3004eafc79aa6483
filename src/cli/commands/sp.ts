import type { CliCommand } from '../command.ts';

export const spCommands: CliCommand[] = [];
