import type { Request } from 'express';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { ExchangeCheck, ExchangedToken } from './account.ts';
import type { SsoState } from './sso-state.ts';
import type { EndpointAudit } from './endpoint-audit.ts';
import { redirectUriRegistered } from './redirect-uri.ts';

export interface ExchangeCheckDeps {
  sso: SsoState;
  endpointAudit: EndpointAudit;
}

/**
 * What a code or refresh token was issued under must still hold when it is exchanged for tokens
 * (findAccount asks; a refusal is oidc-provider's invalid_grant, audited with the reason):
 * - a code, that its redirect URI is still registered for the client: an administrator removes one
 *   that is no longer the client's (a lost domain, a retired app), and a code that went there must
 *   not be redeemed. oidc-provider itself only compares it with the request's redirect_uri.
 * - a refresh, that the client's access policy still lets the user in (and the sign-in has not ended).
 */
export function exchangeCheck(deps: ExchangeCheckDeps): ExchangeCheck {
  return (ctx, token) => (token.kind === 'AuthorizationCode' ? redirectStillRegistered(ctx, token, deps.endpointAudit) : refreshPermitted(ctx, token, deps));
}

async function redirectStillRegistered(ctx: KoaContextWithOIDC, code: ExchangedToken, endpointAudit: EndpointAudit): Promise<boolean> {
  const client = ctx.oidc.client!;
  if (code.redirectUri !== undefined && redirectUriRegistered(client.redirectUris ?? [], code.redirectUri, client.clientAuthMethod === 'none')) return true;
  (ctx.req as Request).log.warn({ code: 'OIDC_CODE_REDIRECT_URI_REMOVED', clientId: client.clientId, userId: code.accountId }, 'oidc: code refused, it was sent to a redirect URI the client no longer has registered');
  endpointAudit.exchangeRefused(ctx, 'redirect-uri-removed');
  return false;
}

async function refreshPermitted(ctx: KoaContextWithOIDC, refreshToken: ExchangedToken, { sso, endpointAudit }: ExchangeCheckDeps): Promise<boolean> {
  const { permitted, sso: session } = await sso.permitsRefresh(ctx, refreshToken.sessionUid);
  if (permitted) return true;
  (ctx.req as Request).log.warn({ code: 'OIDC_REFRESH_POLICY', clientId: ctx.oidc.client?.clientId, userId: refreshToken.accountId }, 'oidc: refresh refused, the access policy no longer lets this user in (or the sign-in has ended)');
  // Audited with the invalid_grant oidc-provider answers next: one event for the request.
  endpointAudit.exchangeRefused(ctx, 'policy', session?.user.username);
  return false;
}
