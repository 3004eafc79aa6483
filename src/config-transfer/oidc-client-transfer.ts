import { z } from 'zod';
import { clientProblems, ID_TOKEN_ALGS, OIDC_CLIENTS, SECRET_AUTH_METHODS, sealClientSecret, type OidcClientRecord } from '../oidc/client-registry.ts';
import { timestampSchema, type RecordTransfer, type TransferContext } from './record-transfer.ts';

/**
 * The alphabet of the ids `client add` makes (randomId: base64url): one with a space or a line break
 * would break the plan's lines and every listing. A leading "-" is only warned about: ids made before
 * randomId skipped it have one, and a restore must take them.
 */
const CLIENT_ID = /^[A-Za-z0-9_-]+$/;

/** A client as the file holds it: the secret in clear (the file is encrypted), to be sealed with the importing installation's key. */
const exportedClientSchema = z.strictObject({
  id: z.string().min(1).max(256).regex(CLIENT_ID, 'a client id is made of letters, digits, "_" and "-" (as client add makes them)'),
  name: z.string(),
  redirectUris: z.array(z.string()),
  postLogoutRedirectUris: z.array(z.string()),
  tokenEndpointAuthMethod: z.enum([...SECRET_AUTH_METHODS, 'none']),
  secret: z.string().min(1).optional(),
  grantTypes: z.array(z.enum(['authorization_code', 'refresh_token'])).refine((grants) => grants.includes('authorization_code'), 'must include authorization_code'),
  scopes: z.array(z.string()),
  idTokenSignedResponseAlg: z.enum(ID_TOKEN_ALGS),
  policy: z.string().min(1).optional(),
  allowPasswordChange: z.boolean(),
  backchannelLogoutUri: z.string().optional(),
  backchannelLogoutSessionRequired: z.boolean().optional(),
  createdAt: timestampSchema,
});

export type ExportedClient = z.infer<typeof exportedClientSchema>;

export function oidcClientTransfer(context: TransferContext): RecordTransfer<ExportedClient, OidcClientRecord> {
  const { clients } = context;
  return {
    noun: 'OIDC client',
    collection: OIDC_CLIENTS,
    schema: exportedClientSchema,
    list: () => clients.list(),
    exported(client) {
      const { sealedSecret: _sealed, ...rest } = client;
      const secret = clients.secretOf(client);
      return { ...rest, ...(secret === undefined ? {} : { secret }) };
    },
    admit(client, replacing) {
      const isPublic = client.tokenEndpointAuthMethod === 'none';
      // The same rules `client add` applies (redirect URIs, scopes, back-channel logout URI).
      const problems = clientProblems({
        name: client.name,
        redirectUris: client.redirectUris,
        postLogoutRedirectUris: client.postLogoutRedirectUris,
        public: isPublic,
        scopes: client.scopes,
        backchannelLogoutUri: client.backchannelLogoutUri,
        backchannelLogoutSessionRequired: client.backchannelLogoutSessionRequired,
      });
      if (isPublic && client.secret !== undefined) problems.push('a public client has no secret');
      if (!isPublic && client.secret === undefined) problems.push('a confidential client needs its secret');
      if (replacing && (replacing.tokenEndpointAuthMethod === 'none') !== isPublic) problems.push(typeChange(client.id, isPublic));
      if (problems.length) return { ok: false, problems };
      const { secret, ...rest } = client;
      const warnings = client.id.startsWith('-') ? [`its id starts with "-" (an earlier version made such ids): on the command line, give it after "--" (client show -- ${client.id})`] : [];
      return { ok: true, record: { ...rest, ...(secret === undefined ? {} : { sealedSecret: sealClientSecret(context.box, client.id, secret) }) }, warnings };
    },
  };
}

/**
 * As `client set` refuses it: the refresh tokens of a client that authenticated must not become
 * usable without a secret (or the other way round, tokens of a public client under a secret).
 */
function typeChange(id: string, toPublic: boolean): string {
  const [here, inFile] = toPublic ? ['confidential', 'public'] : ['public', 'confidential'];
  return `it is ${here} here and ${inFile} in the file, and a client cannot change between public and confidential. To import it as the file has it, remove it here first (client remove ${id}, which revokes its tokens), then import again`;
}
