import type { CliCommand } from '../command.ts';

export const userCommands: CliCommand[] = [];
