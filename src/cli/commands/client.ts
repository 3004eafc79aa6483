import { policyColumn } from '../policy-column.ts';
import type { CliCommand, CommandContext, ParsedArgs } from '../command.ts';
import { anyOptionGiven, listOption, stringOption, UsageError } from '../command.ts';
import { displayNameOption } from '../display-name.ts';
import { ID_TOKEN_ALGS, type ClientChanges, type IdTokenAlg, type OidcClientRecord } from '../../oidc/client-registry.ts';
import { policyExists } from '../named-policy.ts';
import { auditAdminAction } from '../admin-audit.ts';
import { fieldsChanged } from '../changed-fields.ts';

const ADD_HELP = `Usage: npm run cli -- client add --name NAME --redirect-uri URI [options]

Registers an OpenID Connect client (relying party) and prints its client_id. A confidential client's
secret is printed once, here; Stepgate keeps it only encrypted and cannot show it again.

Options:
  --name NAME                      Display name, shown on the sign-in page (no control characters).
  --redirect-uri "URI [URI...]"    Where codes are sent. Several URIs: separate them with spaces.
                                   https only, except http://localhost, http://127.0.0.1, http://[::1];
                                   absolute, without #fragment. Compared exactly, except that a
                                   --public client's http://127.0.0.1 and http://[::1] URIs take any
                                   port (a native app listens where the system lets it; RFC 8252).
  --post-logout-redirect-uri "URI [URI...]"
                                   Where RP-initiated logout may return to (same rules).
  --public                         A client that cannot keep a secret (single-page or native app):
                                   no secret, PKCE with S256 is mandatory.
  --auth-method basic|post         How a confidential client sends its secret to the token endpoint
                                   (client_secret_basic, the default, or client_secret_post).
  --scopes "openid profile email groups"
                                   The scopes it may request (default: all of them). openid is required.
  --id-token-alg RS256|ES256       ID Token signature algorithm (default RS256).
  --no-refresh-tokens              Do not issue refresh tokens to this client.
  --policy NAME                    Access policy for this application (default: the configured default).
  --allow-password-change          Users whose password expired may change it here and continue.
  --backchannel-logout-uri URI     OpenID Connect Back-Channel Logout: when the user signs out of Stepgate,
                                   a Logout Token is POSTed here (same rules as redirect URIs).
  --no-backchannel-logout-session-required
                                   The Logout Token, and the ID Tokens, leave out the session id (sid),
                                   which they carry by default (--backchannel-logout-session-required).

Examples:
  npm run cli -- client add --name Grafana --redirect-uri https://grafana.example.org/login/generic_oauth
  npm run cli -- client add --name Wiki --redirect-uri https://wiki.example.org/cb --backchannel-logout-uri https://wiki.example.org/backchannel-logout
  npm run cli -- client add --name "Dev SPA" --public --redirect-uri "http://localhost:5173/cb http://127.0.0.1:5173/cb"`;

const ADD_OPTIONS = {
  name: 'string',
  'redirect-uri': 'list',
  'post-logout-redirect-uri': 'list',
  public: 'flag',
  'auth-method': 'string',
  scopes: 'list',
  'id-token-alg': 'string',
  'no-refresh-tokens': 'flag',
  policy: 'string',
  'allow-password-change': 'flag',
  'backchannel-logout-uri': 'string',
  'backchannel-logout-session-required': 'flag',
  'no-backchannel-logout-session-required': 'flag',
} as const;

async function add(args: ParsedArgs, context: CommandContext): Promise<number> {
  const name = displayNameOption(args);
  const redirectUris = listOption(args, 'redirect-uri');
  if (!name || !redirectUris.length) throw new UsageError(`client add needs ${[!name && '--name', !redirectUris.length && '--redirect-uri'].filter(Boolean).join(' and ')}`);
  const authMethod = stringOption(args, 'auth-method');
  if (authMethod !== undefined && authMethod !== 'basic' && authMethod !== 'post') throw new UsageError('--auth-method is basic or post');
  const idTokenAlg = stringOption(args, 'id-token-alg');
  if (idTokenAlg !== undefined && !(ID_TOKEN_ALGS as readonly string[]).includes(idTokenAlg)) throw new UsageError(`--id-token-alg is one of ${ID_TOKEN_ALGS.join(', ')}`);
  const backchannel = backchannelOptions(args);
  // An empty value is how `client set` removes the URI; here it would silently register none.
  if (backchannel.backchannelLogoutUri === '') throw new UsageError('--backchannel-logout-uri needs a value');
  const clients = await context.clients();
  const policy = stringOption(args, 'policy');
  if (policy !== undefined && !(await policyExists(context, policy))) return 1;
  const outcome = await clients.add({
    ...backchannel,
    name,
    redirectUris,
    postLogoutRedirectUris: listOption(args, 'post-logout-redirect-uri'),
    public: args.options.public === true,
    authMethod: authMethod === undefined ? undefined : authMethod === 'post' ? 'client_secret_post' : 'client_secret_basic',
    scopes: args.lists.scopes === undefined ? undefined : listOption(args, 'scopes'),
    idTokenAlg: idTokenAlg as IdTokenAlg | undefined,
    refreshTokens: args.options['no-refresh-tokens'] !== true,
    policy,
    allowPasswordChange: args.options['allow-password-change'] === true,
  });
  if (!outcome.ok) {
    context.err(`The client was not registered:\n${outcome.problems.map((problem) => `  - ${problem}`).join('\n')}`);
    return 1;
  }
  context.out(`Registered "${outcome.client.name}".`);
  await auditAdminAction(context, { type: 'client.add', rp: outcome.client.id, name: outcome.client.name, policy: outcome.client.policy });
  context.out(`client_id:     ${outcome.client.id}`);
  if (outcome.secret) context.out(`client_secret: ${outcome.secret}\n(shown only now: store it in the application's configuration)`);
  return 0;
}

/** Shared by add and set. */
function backchannelOptions(args: ParsedArgs): Pick<ClientChanges, 'backchannelLogoutUri' | 'backchannelLogoutSessionRequired'> {
  const required = args.options['backchannel-logout-session-required'] === true;
  const notRequired = args.options['no-backchannel-logout-session-required'] === true;
  if (required && notRequired) throw new UsageError('choose one of --backchannel-logout-session-required and --no-backchannel-logout-session-required');
  return { backchannelLogoutUri: stringOption(args, 'backchannel-logout-uri'), backchannelLogoutSessionRequired: required ? true : notRequired ? false : undefined };
}

const SET_OPTIONS = {
  name: 'string',
  'redirect-uri': 'list',
  'post-logout-redirect-uri': 'list',
  scopes: 'list',
  'id-token-alg': 'string',
  policy: 'string',
  'allow-password-change': 'flag',
  'no-allow-password-change': 'flag',
  'backchannel-logout-uri': 'string',
  'backchannel-logout-session-required': 'flag',
  'no-backchannel-logout-session-required': 'flag',
  'rotate-secret': 'flag',
} as const;

const SET_HELP = `Usage: npm run cli -- client set CLIENT_ID [options]

A CLIENT_ID that starts with "--" goes after "--": client set [options] -- CLIENT_ID

Changes a registered OpenID Connect client in place: its client_id stays, and so does its secret unless
--rotate-secret is given. Only the options given change. The values are checked like those of client add;
every problem is listed and nothing is written when there is one (exit code 1), and also when the
client_id or the policy does not exist. Changes apply to the next request the client makes, and to
sign-ins under way: a redirect URI taken away gets no code (nor are codes sent there redeemed), and
a scope taken away is left out of every token, ID Token and userinfo answer given from then on,
refreshes of earlier tokens included.

Options:
  --name NAME                      Display name, shown on the sign-in page (no control characters).
  --redirect-uri "URI [URI...]"    Replaces the redirect URIs (same rules as client add: https only,
                                   except http://localhost, http://127.0.0.1, http://[::1]; absolute,
                                   without #fragment; compared exactly, except the port of a public
                                   client's http://127.0.0.1 and http://[::1] URIs).
  --post-logout-redirect-uri "URI [URI...]"
                                   Replaces the post-logout redirect URIs; "" removes them all.
  --scopes "openid profile email groups"
                                   Replaces the scopes it may request. openid is required.
  --id-token-alg RS256|ES256       ID Token signature algorithm.
  --policy NAME                    Access policy for this application.
  --allow-password-change / --no-allow-password-change
                                   Whether users whose password expired may change it here and continue.
  --backchannel-logout-uri URI     Where Logout Tokens are POSTed when the user signs out of Stepgate
                                   (same rules as redirect URIs); "" turns back-channel logout off.
  --backchannel-logout-session-required / --no-backchannel-logout-session-required
                                   Whether the Logout Token, and the ID Tokens, carry the session id (sid).
  --rotate-secret                  Confidential clients only: replace the secret with a new one, printed
                                   once, here. The old secret stops working at once: put the new one in
                                   the application's configuration.

A public client cannot become confidential (or the other way round), and --auth-method and
--no-refresh-tokens cannot be changed: client remove, then client add, for that (this changes the client_id).

Examples:
  npm run cli -- client set CLIENT_ID --redirect-uri "https://grafana.example.org/login/generic_oauth https://grafana2.example.org/login/generic_oauth"
  npm run cli -- client set CLIENT_ID --policy permit-everyone-require-mfa --no-allow-password-change
  npm run cli -- client set CLIENT_ID --rotate-secret`;

/** The registration changes the options ask for; a usage error for an empty or contradictory option. */
function clientChanges(args: ParsedArgs): ClientChanges {
  if (args.options['allow-password-change'] === true && args.options['no-allow-password-change'] === true) {
    throw new UsageError('choose one of --allow-password-change and --no-allow-password-change');
  }
  if (!anyOptionGiven(args)) throw new UsageError('nothing to change: give at least one option');
  const idTokenAlg = stringOption(args, 'id-token-alg');
  if (idTokenAlg !== undefined && !(ID_TOKEN_ALGS as readonly string[]).includes(idTokenAlg)) throw new UsageError(`--id-token-alg is one of ${ID_TOKEN_ALGS.join(', ')}`);
  const policy = stringOption(args, 'policy')?.trim();
  if (args.options.policy !== undefined && !policy) throw new UsageError('--policy needs a value');
  const list = (name: string) => (args.lists[name] === undefined ? undefined : listOption(args, name));
  const changes: ClientChanges = {};
  const name = displayNameOption(args);
  if (name !== undefined) changes.name = name;
  const redirectUris = list('redirect-uri');
  if (redirectUris) changes.redirectUris = redirectUris;
  const postLogoutRedirectUris = list('post-logout-redirect-uri');
  if (postLogoutRedirectUris) changes.postLogoutRedirectUris = postLogoutRedirectUris;
  const scopes = list('scopes');
  if (scopes) changes.scopes = scopes;
  if (idTokenAlg) changes.idTokenAlg = idTokenAlg as IdTokenAlg;
  if (policy) changes.policy = policy;
  if (args.options['allow-password-change'] === true) changes.allowPasswordChange = true;
  if (args.options['no-allow-password-change'] === true) changes.allowPasswordChange = false;
  const backchannel = backchannelOptions(args);
  if (backchannel.backchannelLogoutUri !== undefined) changes.backchannelLogoutUri = backchannel.backchannelLogoutUri;
  if (backchannel.backchannelLogoutSessionRequired !== undefined) changes.backchannelLogoutSessionRequired = backchannel.backchannelLogoutSessionRequired;
  return changes;
}

async function set(args: ParsedArgs, context: CommandContext): Promise<number> {
  const id = clientId(args);
  const changes = clientChanges(args);
  const rotate = args.options['rotate-secret'] === true;
  const registry = await context.clients();
  const current = await registry.get(id);
  if (!current) {
    context.err(`No OpenID Connect client ${id}.`);
    return 1;
  }
  if (changes.policy !== undefined && !(await policyExists(context, changes.policy))) return 1;
  if (rotate && current.tokenEndpointAuthMethod === 'none') {
    context.err(`The client was not changed:\n  - ${id} is a public client: it has no secret to rotate`);
    return 1;
  }
  const refused = (outcome: { problems: string[]; notFound?: true }) => {
    context.err(outcome.notFound ? `No OpenID Connect client ${id}.` : `The client was not changed:\n${outcome.problems.map((problem) => `  - ${problem}`).join('\n')}`);
    return 1;
  };
  let client = current;
  if (Object.keys(changes).length) {
    const outcome = await registry.update(id, changes);
    if (!outcome.ok) return refused(outcome);
    client = outcome.client;
  }
  let secret: string | undefined;
  if (rotate) {
    const outcome = await registry.rotateSecret(id);
    if (!outcome.ok) return refused(outcome);
    ({ client, secret } = outcome);
  }
  const changed = fieldsChanged(Object.keys(changes), current, client, { idTokenAlg: (record) => record.idTokenSignedResponseAlg });
  if (changed.length === 0 && !rotate) {
    // Run again (a script, a second administrator), it says so, and no event names a change not made.
    context.out(`"${client.name}" has those settings already; nothing changed.`);
  } else {
    context.out(`Updated "${client.name}".`);
    await auditAdminAction(context, { type: 'client.set', rp: client.id, changed, secretRotated: rotate });
  }
  for (const line of describe(client)) context.out(line);
  if (secret) context.out(`client_secret:             ${secret}\n(shown only now: store it in the application's configuration; the old secret no longer works)`);
  return 0;
}

function describe(client: OidcClientRecord): string[] {
  return [
    `client_id:                 ${client.id}`,
    `name:                      ${client.name}`,
    `type:                      ${client.tokenEndpointAuthMethod === 'none' ? 'public (PKCE S256 required)' : `confidential (${client.tokenEndpointAuthMethod}; secret kept encrypted, never shown)`}`,
    `redirect URIs:             ${client.redirectUris.join(' ')}`,
    `post-logout redirect URIs: ${client.postLogoutRedirectUris.join(' ') || '(none)'}`,
    `scopes:                    ${client.scopes.join(' ')}`,
    `grant types:               ${client.grantTypes.join(' ')}`,
    `ID Token algorithm:        ${client.idTokenSignedResponseAlg}`,
    `policy:                    ${client.policy ?? '(default)'}`,
    `password change:           ${client.allowPasswordChange ? 'allowed' : 'not allowed'}`,
    `back-channel logout:       ${client.backchannelLogoutUri ? `${client.backchannelLogoutUri} (${client.backchannelLogoutSessionRequired ? 'sid required' : 'sid not required'})` : '(none)'}`,
    `registered:                ${new Date(client.createdAt).toISOString()}`,
  ];
}

/** Declared as the one required argument of the commands that name a client. */
const clientId = (args: ParsedArgs): string => args.positional[0]!;

export const clientCommands: CliCommand[] = [
  { name: 'client add', summary: 'register an OpenID Connect client', help: ADD_HELP, options: ADD_OPTIONS, arguments: [], run: add },
  { name: 'client set', summary: 'change an OpenID Connect client (or rotate its secret)', help: SET_HELP, options: SET_OPTIONS, arguments: ['CLIENT_ID'], run: set },
  {
    name: 'client list',
    summary: 'list the OpenID Connect clients',
    help: 'Usage: npm run cli -- client list\n\nLists registered OpenID Connect clients: client_id, type, access policy (policy=(default) when\nthe client follows policies.default) and name. Secrets are never shown.',
    options: {},
    arguments: [],
    async run(_args, context) {
      const clients = await (await context.clients()).list();
      if (!clients.length) context.out('No OpenID Connect clients. Add one with: npm run cli -- client add --help');
      for (const client of clients) context.out(`${client.id}  ${client.tokenEndpointAuthMethod === 'none' ? 'public      ' : 'confidential'}  ${policyColumn(client.policy)}  ${client.name}`);
      return 0;
    },
  },
  {
    name: 'client show',
    summary: 'show one OpenID Connect client',
    help: 'Usage: npm run cli -- client show CLIENT_ID\n\nPrints the registration of one client. The secret is never shown: it is stored encrypted and\nwas printed once, by `client add`.',
    options: {},
    arguments: ['CLIENT_ID'],
    async run(args, context) {
      const id = clientId(args);
      const client = await (await context.clients()).get(id);
      if (!client) {
        context.err(`No OpenID Connect client ${id}.`);
        return 1;
      }
      for (const line of describe(client)) context.out(line);
      return 0;
    },
  },
  {
    name: 'client remove',
    summary: 'remove an OpenID Connect client',
    help: `Usage: npm run cli -- client remove CLIENT_ID

Removes a client and revokes everything issued to it: its refresh and access tokens and the codes it
has not redeemed stop working at once (a running server within a second), and the users' sessions no
longer count it as signed in (no back-channel logout goes to it). Registering the same client_id again
(config import of a backup) brings none of it back: its users sign in to it afresh.`,
    options: {},
    arguments: ['CLIENT_ID'],
    async run(args, context) {
      const id = clientId(args);
      if (!(await (await context.clients()).remove(id))) {
        context.err(`No OpenID Connect client ${id}.`);
        return 1;
      }
      context.out(`Removed client ${id}; its tokens and codes are revoked.`);
      await auditAdminAction(context, { type: 'client.remove', rp: id });
      return 0;
    },
  },
];
