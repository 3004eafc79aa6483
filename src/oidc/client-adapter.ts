import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { ClientRegistry, OidcClientRecord } from './client-registry.ts';
import type { Logger } from '../core/log.ts';
import { SealedValueRejected } from '../core/secret-box.ts';

/**
 * oidc-provider's Client model reads the administrator's registrations (collection 'oidc-clients')
 * through this adapter. The secret is opened here, at the moment oidc-provider needs it to check
 * client authentication; it exists in clear only in memory. Registration through the protocol is
 * disabled, so the writing half of the contract is never called.
 */
export class ClientAdapter implements Adapter {
  readonly #registry: ClientRegistry;
  readonly #logger: Logger | undefined;

  constructor(registry: ClientRegistry, logger?: Logger) {
    this.#registry = registry;
    this.#logger = logger;
  }

  /**
   * A client whose stored secret does not open (sealed with another installation's key, or altered)
   * cannot authenticate: it is answered as unknown (invalid_client), not with a server error on every
   * request, and the log says which client and what to do.
   */
  async find(id: string): Promise<AdapterPayload | undefined> {
    const client = await this.#registry.get(id);
    if (!client) return undefined;
    try {
      return this.#metadata(client);
    } catch (error) {
      if (!(error instanceof SealedValueRejected)) throw error;
      this.#logger?.error({ code: 'OIDC_CLIENT_SECRET_UNREADABLE', clientId: id }, 'oidc: the stored secret of this client does not open with this installation key; give it a new one with `client set <id> --rotate-secret`');
      return undefined;
    }
  }

  #metadata(client: OidcClientRecord): AdapterPayload {
    return {
      client_id: client.id,
      client_secret: this.#registry.secretOf(client),
      client_name: client.name,
      application_type: 'web',
      redirect_uris: client.redirectUris,
      post_logout_redirect_uris: client.postLogoutRedirectUris,
      token_endpoint_auth_method: client.tokenEndpointAuthMethod,
      grant_types: client.grantTypes,
      response_types: ['code'],
      scope: client.scopes.join(' '),
      id_token_signed_response_alg: client.idTokenSignedResponseAlg,
      ...(client.backchannelLogoutUri && { backchannel_logout_uri: client.backchannelLogoutUri, backchannel_logout_session_required: client.backchannelLogoutSessionRequired ?? false }),
    };
  }

  upsert(): Promise<void> {
    return readOnly();
  }

  destroy(): Promise<void> {
    return readOnly();
  }

  consume(): Promise<void> {
    return readOnly();
  }

  async findByUid(): Promise<undefined> {
    return undefined;
  }

  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  revokeByGrantId(): Promise<void> {
    return readOnly();
  }
}

function readOnly(): Promise<never> {
  return Promise.reject(new Error('OIDC clients are managed with the CLI (client add/remove), not through the protocol'));
}
