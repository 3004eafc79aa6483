import { AppError } from '../core/errors.ts';
import { BINDING } from './constants.ts';
import type { AcsEndpoint, ServiceProviderRecord } from './sp-types.ts';

export interface AcsRequest {
  url?: string;
  index?: number;
  protocolBinding?: string;
}

/**
 * The ACS a response goes to, always one of the SP's registered HTTP-POST endpoints. An address the
 * metadata does not list is refused with an error page: never a redirect or POST to it.
 */
export function resolveAcs(sp: ServiceProviderRecord, request: AcsRequest = {}): AcsEndpoint {
  if (request.url !== undefined && request.index !== undefined) {
    throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'acs-url-and-index' } }); // mutually exclusive, saml-core §3.4.1
  }
  if (request.protocolBinding !== undefined && request.protocolBinding !== BINDING.post) {
    throw new AppError('SAML_REQUEST_INVALID', { detail: { reason: 'unsupported-protocol-binding', protocolBinding: request.protocolBinding } });
  }
  const posts = sp.acs.filter((endpoint) => endpoint.binding === BINDING.post);
  if (request.index !== undefined) {
    const byIndex = posts.find((endpoint) => endpoint.index === request.index);
    if (!byIndex) throw new AppError('ACS_NOT_REGISTERED', { detail: { sp: sp.id, index: request.index } });
    return byIndex;
  }
  if (request.url !== undefined) {
    const byUrl = posts.find((endpoint) => endpoint.location === request.url);
    if (!byUrl) throw new AppError('ACS_NOT_REGISTERED', { detail: { sp: sp.id, url: request.url.slice(0, 512) } });
    return byUrl;
  }
  return defaultAcs(posts);
}

/**
 * Where an SP that asked for a response binding Stepgate does not send (Artifact, PAOS) is told so:
 * its default HTTP-POST ACS, never an address from the request. None for a record without a POST ACS
 * (registration refuses those): that request keeps its error page.
 */
export function defaultPostAcs(sp: ServiceProviderRecord): AcsEndpoint | undefined {
  const posts = sp.acs.filter((endpoint) => endpoint.binding === BINDING.post);
  return posts.length ? defaultAcs(posts) : undefined;
}

/** saml-metadata §2.2.3, in document order: isDefault="true", else the first not marked isDefault="false", else the first. */
function defaultAcs(posts: AcsEndpoint[]): AcsEndpoint {
  return posts.find((endpoint) => endpoint.isDefault === true) ?? posts.find((endpoint) => endpoint.isDefault === undefined) ?? posts[0]!;
}
