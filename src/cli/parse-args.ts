import type { CliCommand, ParsedArgs } from './command.ts';
import { UsageError } from './command.ts';

/** Ends the options: every word after it is a positional argument, even one starting with "--" (an id may). */
export const END_OF_OPTIONS = '--';

const isOptional = (argument: string) => argument.startsWith('[');

/**
 * The words after the command name, read against what the command declares. Anything it does not
 * declare is a usage error rather than ignored: a misspelt option, a value after a flag, or an extra
 * word would otherwise leave the command doing something other than what was typed.
 */
export function parseArgs(words: readonly string[], command: Pick<CliCommand, 'options' | 'arguments'>): ParsedArgs {
  const args: ParsedArgs = { positional: [], options: {}, lists: {} };
  /** The flag each positional followed, to name it when that word turns out to be one too many. */
  const afterFlag: (string | undefined)[] = [];
  let previousFlag: string | undefined;
  for (let index = 0; index < words.length; index++) {
    const word = words[index]!;
    if (word === END_OF_OPTIONS) {
      for (const rest of words.slice(index + 1)) {
        args.positional.push(rest);
        afterFlag.push(undefined);
      }
      break;
    }
    if (!word.startsWith('--')) {
      args.positional.push(word);
      afterFlag.push(previousFlag);
      previousFlag = undefined;
      continue;
    }
    const [name, inline] = word.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const kind = Object.hasOwn(command.options, name) ? command.options[name] : undefined;
    previousFlag = undefined;
    if (kind === undefined) throw new UsageError(`unknown option --${name}`);
    if (kind === 'flag') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      args.options[name] = true;
      previousFlag = name;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = words[index + 1];
      if (next === undefined) throw new UsageError(`--${name} needs a value`);
      if (next.startsWith('--')) throw new UsageError(`--${name} needs a value (for a value that starts with --, write --${name}=VALUE)`);
      value = next;
      index++;
    }
    if (kind === 'list') (args.lists[name] ??= []).push(value);
    else if (args.options[name] !== undefined) throw new UsageError(`--${name} is given twice`);
    else args.options[name] = value;
  }
  checkArgumentCount(args.positional, afterFlag, command.arguments);
  return args;
}

function checkArgumentCount(positional: readonly string[], afterFlag: readonly (string | undefined)[], declared: readonly string[]): void {
  const missing = declared.slice(positional.length).find((argument) => !isOptional(argument));
  if (missing) throw new UsageError(`${missing} is required`);
  if (positional.length <= declared.length) return;
  // "--must-change yes": the word after a flag is most likely meant as its value.
  const flagged = afterFlag.findIndex((flag) => flag !== undefined);
  if (flagged !== -1) throw new UsageError(`--${afterFlag[flagged]} takes no value (unexpected argument ${JSON.stringify(positional[flagged])})`);
  throw new UsageError(`unexpected argument ${JSON.stringify(positional[declared.length])}`);
}
