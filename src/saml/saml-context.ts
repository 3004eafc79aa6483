import type { Services } from '../services.ts';
import { idpEndpoints, type IdpEndpoints } from './idp-identity.ts';
import { IdpMetadata } from './idp-metadata.ts';
import type { InboundDeps } from './inbound.ts';
import { ResponseBuilder } from './response-builder.ts';
import { SamlifyEntities } from './samlify-entities.ts';
import { registerWithSamlify, samlSchemas } from './schema-validator.ts';
import { SloResults } from './slo-result.ts';
import { SloRuns } from './slo-run.ts';
import { createSpRegistry, type SpRegistry } from './sp-registry.ts';

/** Everything the SAML routes share, built once when the routes are mounted. */
export interface SamlContext {
  services: Services;
  endpoints: IdpEndpoints;
  registry: SpRegistry;
  inbound: InboundDeps;
  responses: ResponseBuilder;
  metadata: IdpMetadata;
  sloRuns: SloRuns;
  sloResults: SloResults;
}

export function createSamlContext(services: Services): SamlContext {
  const schemas = samlSchemas();
  registerWithSamlify(schemas);
  const endpoints = idpEndpoints(services.config);
  const entities = new SamlifyEntities(endpoints);
  const registry = createSpRegistry(services.store, services.clock, schemas);
  const { saml } = services.config;
  return {
    services,
    endpoints,
    registry,
    inbound: { limits: saml, schemas, registry, endpoints, clock: services.clock },
    responses: new ResponseBuilder({ keys: services.keys, entities, endpoints, clock: services.clock, assertionLifetimeSeconds: saml.assertionLifetimeSeconds }),
    metadata: new IdpMetadata(services.keys, endpoints, saml.wantAuthnRequestsSigned),
    sloRuns: new SloRuns(services.store.kv, services.box, services.browserBinding),
    sloResults: new SloResults(services.store.kv, services.box, services.browserBinding, services.sessions),
  };
}
