import type { Express } from 'express';
import type { Services } from '../services.ts';
import { noCachePragma } from './no-cache-pragma.ts';
import { clientRegistry, relyingPartySettings, type ClientRegistry } from './client-registry.ts';
import { SsoLinks } from './sso-links.ts';
import { SsoState } from './sso-state.ts';
import { SessionSync } from './session-sync.ts';
import { buildProvider, mirrorTtlSeconds, ROUTES } from './provider.ts';
import { logProviderEvents } from './events.ts';
import { oidcInteractions, type OidcInteractions } from './interactions.ts';
import { asRouted, isProviderPath, providerBridge, type ProviderBridge } from './koa-bridge.ts';
import { inlineInteractions } from './inline-interaction.ts';
import { CookieSigner } from './cookie-signer.ts';
import { OIDC_FINISHER } from './binding.ts';
import type { LogoutPropagation } from '../session/logout-propagation.ts';
import { KvAdapter } from './adapter.ts';
import { BackchannelLogout } from './backchannel-logout.ts';
import { EndpointAudit } from './endpoint-audit.ts';
import { confirmServedPlaces } from './served-clients.ts';
import { ClientRevocations } from './client-revocations.ts';
import { SessionGrants } from './session-grants.ts';
import { EndedSessionSweep } from './ended-session-sweep.ts';
import type { WarningBudget } from '../http/warning-budget.ts';

/** What outlives a provider: none of it holds keys. */
interface Shared {
  propagateLogout?: LogoutPropagation;
  clients: ClientRegistry;
  revocations: ClientRevocations;
  links: SsoLinks;
  sso: SsoState;
  cookieSigner: CookieSigner;
  /** The Express error handler's: oidc-provider's refusals and client errors are thinned with the rest. */
  warnings: WarningBudget;
}

interface ProviderGeneration {
  bridge: ProviderBridge;
  interactions: OidcInteractions;
  backchannel: BackchannelLogout;
}

/**
 * The OpenID Connect provider: oidc-provider answers the protocol, Stepgate's sign-in answers
 * "who is this" in between (interactions.ts, inline-interaction.ts), and the SSO session is shared (see session-sync.ts,
 * session-adapter.ts, sso-state.ts); its logout reaches the clients (backchannel-logout.ts).
 * Mounted before the body parser: oidc-provider reads its own bodies.
 *
 * oidc-provider takes its signing keys once, when built. A key rotation made with the CLI (keys
 * add/activate/remove) is picked up by building a new provider on the same storage and shared parts;
 * requests already under way finish on the old one.
 */
export async function mountOidc(app: Express, services: Services, warnings: WarningBudget, propagateLogout?: LogoutPropagation): Promise<void> {
  const clients = clientRegistry(services.store, services.box, services.clock);
  const links = new SsoLinks(services.store.kv, services.sessions, mirrorTtlSeconds(services));
  const model = (name: string) => new KvAdapter(services.store.kv, services.clock, name);
  const grants = new SessionGrants({ providerSessions: model('Session'), grants: model('Grant'), issued: ['AuthorizationCode', 'AccessToken', 'RefreshToken'].map(model), links });
  const endedSessions = new EndedSessionSweep({ links, sessions: services.sessions, grants, clock: services.clock, logger: services.logger });
  const shared: Shared = {
    propagateLogout,
    clients,
    revocations: new ClientRevocations(services.store.kv),
    links,
    sso: new SsoState({ sessions: services.sessions, clients, links, interaction: services.interaction }),
    cookieSigner: new CookieSigner(services.box.mac('oidc-cookie-signing', 'v1')),
    warnings,
  };
  let keysVersion = await services.keys.version();
  let current = await assemble(services, shared);
  let rebuilding: Promise<void> | undefined;
  const upToDate = async (): Promise<void> => {
    const version = await services.keys.version();
    if (version === keysVersion) return;
    rebuilding ??= assemble(services, shared)
      .then((next) => {
        current = next;
        keysVersion = version;
        services.logger.info({ event: 'oidc.keys-reloaded', keysVersion: version }, 'oidc: signing keys changed; provider rebuilt');
      })
      .finally(() => (rebuilding = undefined));
    await rebuilding;
  };
  // Registered once: they reach whichever provider is current.
  services.interaction.registerFinisher(
    OIDC_FINISHER,
    (req, res, finished) => current.interactions.finish(req, res, finished),
    async (clientId) => {
      const client = await clients.get(clientId);
      return client && relyingPartySettings(client);
    },
  );
  // A logout may come with no request to /oidc/* since a key rotation (SAML SLO, the CLI): the
  // Logout Tokens must be signed with the keys the JWKS publishes now, not the provider's old ones.
  services.sessions.onLogout(async (ended, context) => {
    await upToDate();
    // As the provider sessions were when they ended: also a client another tab added since the logout began.
    await grants.revoke(await current.backchannel.afterLogout(ended, context));
  });
  services.sessions.onReplaced((previous, next) => shared.links.moveAll(previous.id, next.id));
  app.use((req, res, next) => {
    if (!isProviderPath(req.path)) return next();
    // Every authorization request is a start, as every SAML AuthnRequest is: also one the SSO
    // session answers without a page, which would otherwise let one signed-in browser write
    // audit successes and store codes as fast as it can ask. As oidc-provider routes it (`/oidc/auth/`
    // too); a form POST is only answered with a redirect to its GET, which is the start.
    if (asRouted(req.path) === ROUTES.authorization && req.method !== 'POST') {
      try {
        services.interaction.countStart(req);
      } catch (error) {
        return next(error);
      }
    }
    endedSessions.startIfDue();
    upToDate().then(() => current.bridge.middleware(req, res, next), next);
  });
}

async function assemble(services: Services, shared: Shared): Promise<ProviderGeneration> {
  const { clients, revocations, links, sso, cookieSigner } = shared;
  const endpointAudit = new EndpointAudit(services.store.audit);
  const provider = await buildProvider(services, { cookieSigner, clients, revocations, users: services.users, links, sso, endpointAudit });
  endpointAudit.watch(provider);
  const providerSessions = new KvAdapter(services.store.kv, services.clock, 'Session');
  const backchannel = new BackchannelLogout({ provider, providerSessions, revocations, links, sessions: services.sessions, audit: services.store.audit, logger: services.logger });
  const sync = new SessionSync({ links, providerSessions, backchannel, sessions: services.sessions, audit: services.store.audit, propagateLogout: shared.propagateLogout });
  provider.use(noCachePragma);
  provider.use(sync.middleware());
  provider.use(inlineInteractions());
  // The bridge starts interactions; the interactions' finisher resumes through the bridge.
  const interactions = oidcInteractions({ provider, services, clients, sync, sso, resume: (req, res, uid) => bridge.resume(req, res, uid) });
  provider.use(interactions.auditIssued());
  provider.use(endpointAudit.middleware());
  // Innermost: an issued code's grant is written before the middlewares above record the sign-in as done.
  provider.use(confirmServedPlaces(provider, links));
  logProviderEvents(provider, services.logger, shared.warnings);
  // Last: it takes oidc-provider's middleware as it is now.
  const bridge = providerBridge(provider, services.config.server.publicUrl, { cookieSigner, startInteraction: interactions.start });
  return { bridge, interactions, backchannel };
}
