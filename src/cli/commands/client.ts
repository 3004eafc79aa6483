import type { CliCommand, CliContext, ParsedArgs } from '../command.ts';
import { listOption, stringOption, UsageError } from '../command.ts';
import { clientRegistry, ID_TOKEN_ALGS, type IdTokenAlg, type OidcClientRecord } from '../../oidc/client-registry.ts';
import { buildPolicies } from '../../policy/build-policies.ts';

const ADD_HELP = `Usage: client add --name NAME --redirect-uri URI [options]

Registers an OpenID Connect client (relying party) and prints its client_id. A confidential client's
secret is printed once, here; Stepgate keeps it only encrypted and cannot show it again.

Options:
  --name NAME                      Display name, shown on the sign-in page.
  --redirect-uri "URI [URI...]"    Where codes are sent. Several URIs: separate them with spaces.
                                   https only, except http://localhost, http://127.0.0.1, http://[::1];
                                   absolute, without #fragment. Compared exactly.
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

Examples:
  npm run cli -- client add --name Grafana --redirect-uri https://grafana.example.org/login/generic_oauth
  npm run cli -- client add --name "Dev SPA" --public --redirect-uri "http://localhost:5173/cb http://127.0.0.1:5173/cb"`;

async function add(args: ParsedArgs, context: CliContext): Promise<number> {
  const name = stringOption(args, 'name');
  const redirectUris = listOption(args, 'redirect-uri');
  if (!name || !redirectUris.length) throw new UsageError('client add needs --name and --redirect-uri');
  const authMethod = stringOption(args, 'auth-method');
  if (authMethod !== undefined && authMethod !== 'basic' && authMethod !== 'post') throw new UsageError('--auth-method is basic or post');
  const idTokenAlg = stringOption(args, 'id-token-alg');
  if (idTokenAlg !== undefined && !(ID_TOKEN_ALGS as readonly string[]).includes(idTokenAlg)) throw new UsageError(`--id-token-alg is one of ${ID_TOKEN_ALGS.join(', ')}`);
  const store = await context.store();
  const policy = stringOption(args, 'policy');
  if (policy !== undefined) {
    const { policies } = buildPolicies(context.config, store, context.clock);
    if (!(await policies.get(policy))) {
      context.err(`No policy named "${policy}". Known policies: ${(await policies.list()).map((known) => known.name).join(', ')}`);
      return 1;
    }
  }
  const outcome = await clientRegistry(store, context.box(), context.clock).add({
    name,
    redirectUris,
    postLogoutRedirectUris: listOption(args, 'post-logout-redirect-uri'),
    public: args.options.public === true,
    authMethod: authMethod === undefined ? undefined : authMethod === 'post' ? 'client_secret_post' : 'client_secret_basic',
    scopes: args.options.scopes === undefined ? undefined : listOption(args, 'scopes'),
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
  context.out(`client_id:     ${outcome.client.id}`);
  if (outcome.secret) context.out(`client_secret: ${outcome.secret}\n(shown only now: store it in the application's configuration)`);
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
    `registered:                ${new Date(client.createdAt).toISOString()}`,
  ];
}

function oneId(args: ParsedArgs, command: string): string {
  const [id, ...rest] = args.positional;
  if (!id || rest.length) throw new UsageError(`client ${command} takes exactly one client_id`);
  return id;
}

export const clientCommands: CliCommand[] = [
  { name: 'client add', summary: 'Register an OpenID Connect client', help: ADD_HELP, run: add },
  {
    name: 'client list',
    summary: 'List the OpenID Connect clients',
    help: 'Usage: client list\n\nLists registered OpenID Connect clients: client_id, type and name. Secrets are never shown.',
    async run(_args, context) {
      const clients = await clientRegistry(await context.store(), context.box(), context.clock).list();
      if (!clients.length) context.out('No OpenID Connect clients. Add one with: client add --help');
      for (const client of clients) context.out(`${client.id}  ${client.tokenEndpointAuthMethod === 'none' ? 'public      ' : 'confidential'}  ${client.name}`);
      return 0;
    },
  },
  {
    name: 'client show',
    summary: 'Show one OpenID Connect client',
    help: 'Usage: client show CLIENT_ID\n\nPrints the registration of one client. The secret is never shown: it is stored encrypted and\nwas printed once, by `client add`.',
    async run(args, context) {
      const id = oneId(args, 'show');
      const client = await clientRegistry(await context.store(), context.box(), context.clock).get(id);
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
    summary: 'Remove an OpenID Connect client',
    help: 'Usage: client remove CLIENT_ID\n\nRemoves a client. Its tokens stop working at once: every token use looks the client up.',
    async run(args, context) {
      const id = oneId(args, 'remove');
      if (!(await clientRegistry(await context.store(), context.box(), context.clock).remove(id))) {
        context.err(`No OpenID Connect client ${id}.`);
        return 1;
      }
      context.out(`Removed client ${id}.`);
      return 0;
    },
  },
];
