/**
 * Whether the service account sees the groups and their members. One that may not read or search
 * groups.memberAttribute (an ACL, a new service account) finds every user in no group, with no error
 * anywhere: a rule permitting a group refuses everyone, which users report, but a rule denying a group
 * admits everyone, which nobody sees. `directory test`, the start-up check and the health check ask.
 */
import type { Logger } from 'pino';
import type { LdapDirectoryConfig } from './ldap-config.ts';
import { describeError } from './ldap-errors.ts';
import { compileFilter, type SearchFn } from './ldap-filter.ts';
import { groupBaseOf } from './ldap-derived-bases.ts';

/**
 * What two searches can tell apart. `no-group`: no entry matching groups.filter is visible under the
 * base, which is what a directory without groups, a base or filter that fits none, and groups hidden
 * from the service account all look like. `members-hidden`: groups are visible but none shows a member
 * value, which no directory that uses groups looks like (a groupOfNames always has a member): the
 * service account may not read or search the member attribute, or the groups keep their members in
 * the other attribute (groupOfUniqueNames' uniqueMember), which the message then names.
 */
export type HiddenGroups = { kind: 'no-group' | 'members-hidden'; message: string };

/**
 * Why users would be in no group although the directory may have groups, or undefined when groups and
 * their members are visible under `base` (slapd leaves out of a search's answer the entries whose
 * filter attributes the requester may not search). `account`: who searched, for the message.
 */
export async function hiddenGroups(search: SearchFn, groups: LdapDirectoryConfig['groups'], base: string, account: string): Promise<HiddenGroups | undefined> {
  const visible = async (filter: string): Promise<boolean> =>
    (await search(base, { scope: 'sub', filter: compileFilter(filter), attributes: ['1.1'], sizeLimit: 1 })).searchEntries.length > 0;
  if (!(await visible(groups.filter))) {
    return {
      kind: 'no-group',
      message: `no group matching groups.filter ${groups.filter} is visible under ${base} to the service account ${account}: check groups.baseDn and groups.filter, and that the service account may read the groups`,
    };
  }
  if (!(await visible(`(&${groups.filter}(${groups.memberAttribute}=*))`))) {
    // The default filter takes groupOfUniqueNames too, whose members are in uniqueMember: then the attribute is wrong, not the access rules.
    const other = groups.memberAttribute === 'member' ? 'uniqueMember' : 'member';
    if (await visible(`(&${groups.filter}(${other}=*))`)) {
      return {
        kind: 'members-hidden',
        message: `no group under ${base} shows a ${groups.memberAttribute} value (groups.memberAttribute) to the service account ${account}, but groups there list their members in ${other}: set groups.memberAttribute to "${other}"${OTHER_FILTER_ADVICE[other]}`,
      };
    }
    return {
      kind: 'members-hidden',
      message: `no group under ${base} shows a ${groups.memberAttribute} value (groups.memberAttribute) to the service account ${account}: groups are found by that attribute, so the service account must be allowed to read and search it`,
    };
  }
  return undefined;
}

/** What goes with each member attribute besides, as README "Groups" gives it. */
const OTHER_FILTER_ADVICE: Readonly<Record<'member' | 'uniqueMember', string>> = {
  uniqueMember: ' and groups.filter to "(objectClass=groupOfUniqueNames)"',
  member: ' (or leave it out: it is the default)',
};

/** hiddenGroups under the base sign-ins search for groups; undefined also when groups are memberOf values alone (nestedDepth 0: no group is searched). */
async function hiddenGroupsOfConfig(search: SearchFn, config: LdapDirectoryConfig, account: string): Promise<HiddenGroups | undefined> {
  const { groups, users } = config;
  if (groups.mode === 'memberOf' && groups.nestedDepth === 0) return undefined;
  return hiddenGroups(search, groups, (await groupBaseOf(search, groups, users.baseDn)).dn, account);
}

/** A look at the groups that failed: its subtree searches can fail where sign-ins work (a time or admin limit, an ACL refusing the search). */
export type UncheckedGroups = { kind: 'unchecked'; message: string; error: string };

/** hiddenGroupsOfConfig, with its own failure as a finding: whoever asked still gets the rest of the answer. */
export async function groupVisibility(search: SearchFn, config: LdapDirectoryConfig, account: string): Promise<HiddenGroups | UncheckedGroups | undefined> {
  try {
    return await hiddenGroupsOfConfig(search, config, account);
  } catch (err) {
    const error = describeError(err);
    return { kind: 'unchecked', error, message: `could not check whether the service account ${account} sees the groups and their members: ${error}` };
  }
}

export function logUncheckedGroups(logger: Logger | undefined, unchecked: UncheckedGroups, account: string): void {
  logger?.warn({ event: 'ldap.groups.visibility-unchecked', account, error: unchecked.error }, unchecked.message);
}

/** groupVisibility for the start-up check, whose verdict must not hang on it: a failure is logged as a warning and counts as no finding. */
export async function hiddenGroupsOrWarn(search: SearchFn, config: LdapDirectoryConfig, account: string, logger: Logger | undefined): Promise<HiddenGroups | undefined> {
  const visibility = await groupVisibility(search, config, account);
  if (visibility?.kind !== 'unchecked') return visibility;
  logUncheckedGroups(logger, visibility, account);
  return undefined;
}
