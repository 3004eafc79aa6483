import type { CliCommand } from '../command.ts';

export const policyCommands: CliCommand[] = [];
