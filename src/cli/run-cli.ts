import { randomUUID } from 'node:crypto';
import type { CliCommand, CliContext } from './command.ts';
import { UsageError } from './command.ts';
import { END_OF_OPTIONS, parseArgs } from './parse-args.ts';
import { commandContext } from './command-context.ts';

/** Finds the command by its longest matching name and runs it; prints help for --help or unknown input. */
export async function runCli(commands: CliCommand[], words: string[], context: Omit<CliContext, 'config' | 'commandId'> & { config: () => CliContext['config'] }): Promise<number> {
  const byLength = [...commands].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  const command = byLength.find((candidate) => {
    const parts = candidate.name.split(' ');
    return parts.every((part, index) => words[index] === part);
  });
  const beforeEnd = words.includes(END_OF_OPTIONS) ? words.slice(0, words.indexOf(END_OF_OPTIONS)) : words;
  const wantsHelp = beforeEnd.includes('--help') || beforeEnd.includes('-h');
  if (!command) {
    if (words.length && !wantsHelp && words[0] !== 'help') context.err(`Unknown command: ${words.join(' ')}\n`);
    const prefix = words.filter((word) => !word.startsWith('-') && word !== 'help');
    const matching = commands.filter((candidate) => prefix.every((word, index) => candidate.name.split(' ')[index] === word));
    context.out('Usage: npm run cli -- <command> [options]   (each command takes --help)\n\nCommands:');
    for (const candidate of matching.length ? matching : commands) context.out(`  ${candidate.name.padEnd(22)} ${candidate.summary}`);
    return words.length && !wantsHelp && words[0] !== 'help' ? 2 : 0;
  }
  if (wantsHelp) {
    context.out(command.help.trim());
    return 0;
  }
  try {
    const args = parseArgs(words.slice(command.name.split(' ').length), command);
    return await command.run(args, commandContext({ ...context, config: context.config(), commandId: randomUUID() }));
  } catch (error) {
    if (error instanceof UsageError) {
      context.err(`${error.message}\n\n${command.help.trim()}`);
      return 2;
    }
    throw error;
  }
}
