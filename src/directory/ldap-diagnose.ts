/**
 * "Test connection" for admins (`directory test [--user alice]`): each step says what worked and
 * where it stopped, with timings, instead of one opaque failure.
 */
import type { Client, SearchOptions } from 'ldapts';
import type { Logger } from 'pino';
import type { LdapDirectoryConfig } from './ldap-config.ts';
import { LdapConnector, describeError, type Connection } from './ldap-pool.ts';
import { entryValues, findUserEntry, type SearchFn } from './ldap-filter.ts';
import { resolveGroups } from './ldap-groups.ts';

export interface DiagnoseStep {
  step: 'connect' | 'service-bind' | 'user-lookup' | 'groups';
  /** The server the step ran against. */
  url: string;
  ok: boolean;
  detail: string;
  ms: number;
}

async function timed(step: DiagnoseStep['step'], url: string, steps: DiagnoseStep[], fn: () => Promise<string>): Promise<boolean> {
  const start = performance.now();
  try {
    const detail = await fn();
    steps.push({ step, url, ok: true, detail, ms: Math.round(performance.now() - start) });
    return true;
  } catch (err) {
    steps.push({ step, url, ok: false, detail: describeError(err), ms: Math.round(performance.now() - start) });
    return false;
  }
}

/**
 * Connects to every configured server (one 'connect' step each), then on the first reachable one:
 * service bind, and with `user` the lookup and group resolution. Steps after a failure are not run.
 */
export async function diagnoseLdap(config: LdapDirectoryConfig, options: { user?: string; logger?: Logger } = {}): Promise<DiagnoseStep[]> {
  const connector = new LdapConnector(config, options.logger);
  const steps: DiagnoseStep[] = [];
  const connections: Connection[] = [];
  try {
    for (const url of config.urls) {
      await timed('connect', url, steps, async () => {
        const connection = await connector.connectTo(url);
        connections.push(connection);
        return `${url} reachable${connection.secure ? ' (TLS)' : ' (not encrypted)'}`;
      });
    }
    const first = connections[0];
    if (!first) return steps;
    const client: Client = first.client;
    const bound = await timed('service-bind', first.url, steps, async () => `bound as ${await connector.serviceBind(client)} on ${first.url}`);
    if (!bound || options.user === undefined) return steps;

    const search: SearchFn = (base: string, searchOptions: SearchOptions) => client.search(base, searchOptions);
    let userDn: string | undefined;
    let memberOf: string[] = [];
    const user = options.user;
    const found = await timed('user-lookup', first.url, steps, async () => {
      const result = await findUserEntry(search, config.users, user, ['1.1', 'memberOf']);
      if (!result.entry) {
        const why = { 'invalid-login': 'is not a valid login', 'not-found': 'matches no entry', ambiguous: 'matches more than one entry (the filter must find 0 or 1)' };
        throw new Error(`"${user}" ${why[result.reason]} under ${config.users.baseDn}`);
      }
      userDn = result.entry.dn;
      memberOf = entryValues(result.entry, 'memberOf');
      return `found ${userDn}`;
    });
    if (!found || !userDn) return steps;
    const dn = userDn;
    await timed('groups', first.url, steps, async () => {
      const groups = (await resolveGroups(search, config.groups, config.users.baseDn, { dn, memberOf })).names;
      return groups.length ? `${groups.length} group(s): ${groups.join(', ')}` : 'member of no group';
    });
    return steps;
  } finally {
    await Promise.all(connections.map((c) => c.client.unbind().catch(() => undefined)));
  }
}
