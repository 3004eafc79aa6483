import type { CliCommand } from '../command.ts';
import { spCommands } from './sp.ts';
import { clientCommands } from './client.ts';
import { userCommands } from './user.ts';
import { directoryCommands } from './directory.ts';
import { policyCommands } from './policy.ts';
import { mfaCommands } from './mfa.ts';
import { keysCommands } from './keys.ts';
import { configCommands } from './config.ts';
import { auditCommands } from './audit.ts';
import { sessionCommands } from './session.ts';
import { adminCommands } from './admin.ts';

export const COMMANDS: CliCommand[] = [...userCommands, ...sessionCommands, ...directoryCommands, ...spCommands, ...clientCommands, ...policyCommands, ...mfaCommands, ...keysCommands, ...configCommands, ...auditCommands, ...adminCommands];
