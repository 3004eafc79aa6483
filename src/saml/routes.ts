import { Router } from 'express';
import type { LogoutPropagation } from '../session/logout-propagation.ts';
import type { Services } from '../services.ts';
import { createSamlContext } from './saml-context.ts';
import { SSO_RESUME_PATH, resumeSso, spLoginSettings, startIdpInitiated, startSso } from './sso-start.ts';
import { finishSso } from './sso-finish.ts';
import { SAML_FINISHER } from './pending-sso.ts';
import { sloContinue, sloPost, sloRedirect } from './slo.ts';
import { SLO_RESULT_PATH } from './slo-result.ts';
import { rawQuery } from './inbound.ts';
import { startLogoutRun } from './slo-propagation.ts';
import { auditRefusedRequests } from './refusal-audit.ts';

/**
 * The SAML 2.0 IdP routes. Each translates: request → LoginRequest → interaction → LoginResult →
 * response. Sign-in steps and policy live in login/ and policy/, never here. `propagateLogout` tells
 * the SAML participants of a session ended by the IdP's own logout page or an OIDC client's logout.
 */
export async function samlRoutes(services: Services): Promise<{ router: Router; propagateLogout: LogoutPropagation }> {
  const ctx = createSamlContext(services);
  await ctx.metadata.xml(); // sign the metadata once now, and fail at start-up rather than on the first request
  services.interaction.registerFinisher(
    SAML_FINISHER,
    (req, res, finished) => finishSso(req, res, ctx, finished),
    async (entityId) => {
      const sp = await ctx.registry.get(entityId);
      return sp && spLoginSettings(sp);
    },
  );
  const router = Router();
  router.get('/saml/metadata', async (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.type('application/samlmetadata+xml').send(await ctx.metadata.xml());
  });
  router.get('/saml/sso', (req, res) => startSso(req, res, 'redirect', ctx));
  router.post('/saml/sso', (req, res) => startSso(req, res, 'post', ctx));
  router.get(SSO_RESUME_PATH, (req, res) => resumeSso(req, res, ctx));
  router.get('/saml/idp-init', (req, res) => startIdpInitiated(req, res, ctx));
  router.get('/saml/slo', (req, res) => sloRedirect(req, res, ctx));
  router.post('/saml/slo', (req, res) => sloPost(req, res, ctx));
  router.get('/saml/slo/continue', (req, res) => sloContinue(req, res, ctx));
  router.get(SLO_RESULT_PATH, (req, res) => ctx.sloResults.page(req, res, new URLSearchParams(rawQuery(req)).get('id') ?? ''));
  router.use(auditRefusedRequests(services.store.audit));
  return { router, propagateLogout: (req, res, ended, continueTo, ownPage) => startLogoutRun(req, res, ctx, ended, continueTo === undefined ? { kind: 'idp' } : { kind: 'redirect', url: continueTo, ...(ownPage && { ownPage }) }) };
}
