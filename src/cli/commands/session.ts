import type { CliCommand } from '../command.ts';
import { stringOption, UsageError } from '../command.ts';
import type { CliContext } from '../command.ts';
import { SessionAdmin, type UserSessions } from '../session-admin.ts';
import type { SsoSession } from '../../session/sso-session.ts';
import { utcMinute } from '../../core/utc-minute.ts';
import { terminalSafe } from '../../core/terminal-text.ts';

/** One line of `session list`; the username is the directory's, shown as terminalSafe text. */
async function describe(admin: SessionAdmin, session: SsoSession): Promise<string> {
  const factors = session.factors.map((factor) => factor.method).join(',');
  const samlApps = session.participants.filter((p) => p.protocol === 'saml').map((p) => p.rpId);
  const oidcClients = await admin.oidcClients(session);
  const columns = [
    admin.handle(session),
    session.user.username,
    `signed in ${utcMinute(session.authTime)}`,
    `last seen ${utcMinute(session.lastSeenAt)}`,
    `factors ${factors || '-'}`,
    ...(samlApps.length ? [`saml ${samlApps.join(' ')}`] : []),
    ...(oidcClients.length ? [`oidc ${oidcClients.join(' ')}`] : []),
  ];
  return terminalSafe(columns.join('  '));
}

const USER_HELP = `--user takes a name as a sign-in does (DOMAIN\\user, user@domain, an email, any case), looked up
in the configured directory, or a user id: after an LDAP rename the new name finds the user's
sessions. A name the directory does not have (a removed user) matches the name the sessions' user
had at sign-in; so does any name while the directory cannot be asked (the command says so).`;

/** Every live session, or those of the user --user names (with its notes on stderr). */
async function chosenSessions(admin: SessionAdmin, context: CliContext, login: string | undefined): Promise<UserSessions> {
  if (login === undefined) return { name: '', sessions: await admin.list(), notes: [] };
  const found = await admin.sessionsOf(login);
  for (const note of found.notes) context.err(terminalSafe(note));
  return found;
}

export const sessionCommands: CliCommand[] = [
  {
    name: 'session list',
    summary: 'list live SSO sessions (all, or one user\'s): handle, user, sign-in, last seen, factors, applications',
    help: `Usage: npm run cli -- session list [--user <username or user id>]

One line per live SSO session, oldest sign-in first. The handle names a session for "session end";
it is derived from the session with the secret key (the session's own id is the browser's cookie
and is never shown). Applications: the SAML SPs (entityIDs) and OIDC clients (client_ids) the session
signed in to.

${USER_HELP}`,
    options: { user: 'string' },
    arguments: [],
    async run(args, context) {
      const admin = await SessionAdmin.open(context);
      const { sessions } = await chosenSessions(admin, context, stringOption(args, 'user'));
      if (sessions.length === 0) context.err('no live sessions');
      for (const session of sessions) context.out(await describe(admin, session));
      return 0;
    },
  },
  {
    name: 'session end',
    summary: 'end SSO sessions now: one (by handle), a user\'s, or all (a stolen laptop, an incident)',
    help: `Usage: npm run cli -- session end <handle> | --user <username or user id> | --all

The running server ends each session within about two seconds (a server that is down does so as it
starts): the next request of its browser gets the password page, and OIDC refresh tokens tied to it
stop working; the session's OIDC clients that have a back-channel logout URI are told. SAML service providers cannot be told without the
user's browser; their own sessions last until they expire. Each ended session is audited
(session.ended, reason administrator). Exit 1 when nothing matched.
A handle that starts with "--" goes after "--": session end -- --handle

${USER_HELP}`,
    options: { user: 'string', all: 'flag' },
    arguments: ['[handle]'],
    async run(args, context) {
      const handle = args.positional[0];
      const user = stringOption(args, 'user');
      const all = args.options['all'] === true;
      if ([handle !== undefined, user !== undefined, all].filter(Boolean).length !== 1) {
        throw new UsageError('session end needs exactly one of: a handle (from "session list"), --user <username>, --all');
      }
      const admin = await SessionAdmin.open(context);
      const { name, sessions: live } = await chosenSessions(admin, context, user);
      const chosen = handle === undefined ? live : live.filter((session) => admin.handle(session) === handle);
      if (chosen.length === 0) {
        context.err(terminalSafe(handle !== undefined ? `no live session has the handle ${handle}` : user !== undefined ? `${name} has no live session` : 'no live sessions'));
        return 1;
      }
      await admin.end(chosen, 'administrator');
      context.out(terminalSafe(`Ended ${chosen.length} session${chosen.length === 1 ? '' : 's'}${user !== undefined ? ` of ${name}` : ''}.`));
      for (const line of SessionAdmin.afterEnd(chosen)) context.out(line);
      return 0;
    },
  },
];
