import type { CliCommand } from '../command.ts';

export const clientCommands: CliCommand[] = [];
