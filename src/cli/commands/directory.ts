import type { CliCommand } from '../command.ts';
import { stringOption, UsageError } from '../command.ts';
import { PASSWORD_OPTIONS, readSecretOption } from '../read-secret.ts';
import { terminalSafe } from '../../core/terminal-text.ts';
import { quotedGroup } from '../../directory/local-user-rules.ts';

export const directoryCommands: CliCommand[] = [
  {
    name: 'directory test',
    summary: 'check the directory: connect, service bind, user lookup, groups, a test user\'s password',
    help: `Usage: npm run cli -- directory test [--user alice [--password-file FILE | --password-stdin]]

Checks the configured directory step by step and says exactly which step fails:
  connect        each LDAP server in order (primary, then backups)
  service-bind   the service account (and the backup account), on each reachable server in order until one binds;
                 WARN when only the backup account (backupBind) binds: bind.dn is refused there
  base-dn        reads users.baseDn and groups.baseDn (when set) on that server; fails naming the one
                 that does not exist (or that the service account may not read); WARN when groups are
                 visible but none shows its groups.memberAttribute to the service account (every user
                 would be in no group)
  user-lookup    finds --user with the configured filter and alternate login attributes, and shows
                 the id, username, name and email sign-ins will use (fails when the entry has no
                 users.idAttribute); WARN when the entry has no users.usernameAttribute (its sign-ins are refused), when another entry has the same id, when users.idAttribute
                 holds bytes but is not a known binary attribute (users.binaryAttributes), or when
                 users.filter is used completed
  groups         resolves the user's groups (nested to the configured depth); WARN when
                 groups.filter is used completed, when the user is in no group and no group (or no
                 member value) is visible to the service account, when a group entry has several
                 values of groups.nameAttribute, or when groups list the user in the member attribute
                 sign-ins do not read (uniqueMember when groups.memberAttribute is member, or the
                 reverse), naming them
  password-expiry
                 (OpenLDAP ppolicy, a user whose entry has pwdChangedTime) when the password
                 expires, from pwdChangedTime and the pwdMaxAge of the user's pwdPolicySubentry or of
                 accountState.defaultPolicyDn; WARN when that cannot be computed (neither is set, or
                 the service account cannot read the policy entry): sign-ins then warn only when slapd does
  password       with --password-file FILE or --password-stdin (a pipe): signs in as the user
                 would and says how it went: ok, invalid credentials, or the account's state
                 (disabled, locked, expired, password expired, must change). The directory counts
                 a wrong password as it counts any sign-in (towards its lockout).
For the local directory it checks the store and, with --user, that the user exists.
Exit code 0 when every step passed without a warning, 1 otherwise.`,
    options: { user: 'string', ...PASSWORD_OPTIONS },
    arguments: [],
    async run(args, context) {
      const user = stringOption(args, 'user');
      const password = readSecretOption(args);
      if (password !== undefined && user === undefined) throw new UsageError('a password is checked for a user: give --user too');
      const { config } = context;
      // Directory values (names, DNs, the server's messages) are printed: as terminalSafe text.
      const out = (line: string) => context.out(terminalSafe(line));
      if (config.directory.kind === 'local') {
        if (password !== undefined) throw new UsageError("the password check is for an LDAP directory; a local user's password is set with user set-password");
        const admin = await context.localUsers();
        out(`ok    store            local directory in ${config.dataDir}`);
        if (!user) return 0;
        try {
          const record = await admin.get(user);
          out(`ok    user-lookup      ${record.username} (id ${record.id})${record.disabled ? ' — disabled' : ''}`);
          out(`ok    groups           ${record.groups.map(quotedGroup).join(', ') || '(none)'}`);
          return 0;
        } catch (error) {
          out(`FAIL  user-lookup      ${(error as Error).message}`);
          return 1;
        }
      }
      const { diagnoseLdap } = await import('../../directory/ldap-diagnose.ts');
      const steps = await diagnoseLdap(config.directory, { user, password });
      for (const step of steps) {
        const mark = !step.ok ? 'FAIL' : step.warning ? 'WARN' : 'ok  ';
        out(`${mark}  ${step.step.padEnd(16)} ${step.detail}${step.warning ? `; ${step.warning}` : ''} (${Math.round(step.ms)} ms)`);
      }
      // a warning is a configuration to fix as well: the backup account works only until its own password expires
      return steps.every((step) => step.ok && !step.warning) ? 0 : 1;
    },
  },
];
