import type { KoaContextWithOIDC } from 'oidc-provider';
import type { SsoState } from './sso-state.ts';
import type { SsoLinks } from './sso-links.ts';

/** Registered as an oidc-provider extra parameter only to get its validator called; its value is ignored. */
export const PASSIVE_SSO_HOOK = 'stepgate_sso';

/**
 * prompt=none with Stepgate's SSO semantics: a browser signed in to Stepgate (through SAML, another
 * client, or Stepgate's own pages) but without an oidc-provider session yet is signed in silently
 * when Stepgate's flow would finish the request without a page. oidc-provider itself would answer
 * login_required, since it never sends prompt=none to an interaction.
 *
 * It runs as an extra-parameter validator because that is oidc-provider's only hook that sits after
 * every request check (client, redirect_uri, PKCE, scope, claims: a bad request never gets here, so
 * nothing is written for it) and before the session's account is loaded.
 */
export function passiveSso(sso: SsoState, links: SsoLinks) {
  return async (ctx: KoaContextWithOIDC): Promise<void> => {
    const { oidc } = ctx;
    if (oidc.route !== 'authorization' || !oidc.promptPending('none')) return;
    const session = oidc.session!;
    // An existing sign-in is judged by the login prompt and never replaced silently.
    if (session.accountId) return;
    const current = await sso.current(ctx);
    const silent = current && (await sso.silentLogin(ctx, current));
    if (!current || !silent) return;
    session.loginAccount({ accountId: silent.user.id, acr: silent.acr, amr: silent.amr, loginTs: Math.floor(silent.authTime / 1000) });
    await links.set(session.uid, current.id);
  };
}
