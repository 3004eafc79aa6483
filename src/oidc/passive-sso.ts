import type { KoaContextWithOIDC } from 'oidc-provider';
import type { SsoState } from './sso-state.ts';
import type { SsoLinks } from './sso-links.ts';

/** Registered as an oidc-provider extra parameter only to get its validator called; its value is ignored. */
export const PASSIVE_SSO_HOOK = 'stepgate_sso';

/**
 * prompt=none with Stepgate's SSO semantics: a browser signed in to Stepgate (through SAML, another
 * client, or Stepgate's own pages) but without an oidc-provider session yet is signed in silently
 * when Stepgate's flow would finish the request without a page. oidc-provider itself would answer
 * login_required, since it never sends prompt=none to an interaction. The same holds for a provider
 * session that mirrors this SSO session but is behind it (a step-up at a SAML SP raised the acr):
 * it is brought up to date with the acr, amr and auth time the flow gives now, which a request
 * without prompt=none gets by a silent pass through Stepgate.
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
    const current = await sso.current(ctx);
    if (!current) return;
    // Another sign-in (another user's, or another SSO session's) is judged by the login prompt and never replaced silently.
    const signedIn = session.accountId !== undefined;
    if (signedIn && !(await sso.mirrors(ctx, current))) return;
    const silent = await sso.silentLogin(ctx, current);
    if (!silent) return;
    // transient: a browser-session cookie, as for a sign-in through the pages (binding.ts).
    session.loginAccount({ accountId: silent.user.id, acr: silent.acr, amr: silent.amr, loginTs: Math.floor(silent.authTime / 1000), transient: true });
    if (!signedIn) await links.set(session.uid, current.id);
  };
}
