import type { Express } from 'express';
import type { Services } from '../services.ts';
import { clientRegistry } from './client-registry.ts';
import { SsoLinks } from './sso-links.ts';
import { SsoState } from './sso-state.ts';
import { SessionSync } from './session-sync.ts';
import { buildProvider, sessionTtlSeconds } from './provider.ts';
import { logProviderEvents } from './events.ts';
import { oidcInteractions } from './interactions.ts';
import { providerBridge } from './koa-bridge.ts';
import { inlineInteractions } from './inline-interaction.ts';
import { UserLookup } from './account.ts';
import { CookieSigner } from './cookie-signer.ts';

/**
 * The OpenID Connect provider: oidc-provider answers the protocol, Stepgate's sign-in answers
 * "who is this" in between (interactions.ts, inline-interaction.ts), and the SSO session is shared (see session-sync.ts,
 * session-adapter.ts, sso-state.ts). Mounted before the body parser: oidc-provider reads its own bodies.
 */
export async function mountOidc(app: Express, services: Services): Promise<void> {
  const clients = clientRegistry(services.store, services.box, services.clock);
  const links = new SsoLinks(services.store.kv, services.sessions, sessionTtlSeconds(services));
  const sso = new SsoState({ sessions: services.sessions, clients, links, interaction: services.interaction });
  const users = new UserLookup(services.directory, () => services.clock.now());
  const cookieSigner = new CookieSigner(services.box.mac('oidc-cookie-signing', 'v1'));
  const provider = await buildProvider(services, { cookieSigner, clients, users, links, sso });
  const sync = new SessionSync({ provider, sso, links, sessions: services.sessions, audit: services.store.audit });
  provider.use(sync.middleware());
  provider.use(inlineInteractions());
  logProviderEvents(provider, services.logger);
  // The bridge starts interactions; the interactions' finisher resumes through the bridge.
  const bridge = providerBridge(provider, services.config.server.publicUrl, { cookieSigner, startInteraction: (req, res, uid) => interactions.start(req, res, uid) });
  const interactions = oidcInteractions({ provider, services, clients, users, sync, resume: bridge.resume });
  app.use(bridge.middleware);
}
