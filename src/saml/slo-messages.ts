import type { Response } from 'express';
import { NAMEID_FORMAT, type BindingName } from './constants.ts';
import { signCanonical } from './canonical-signature.ts';
import { activeSigner, type IdpSigner } from './idp-identity.ts';
import { persistentQualifiers } from './name-id.ts';
import { sendPostForm } from './post-form.ts';
import { signedRedirectUrl } from './redirect-binding.ts';
import { newMessageId } from './response-builder.ts';
import { logoutRequestXml, logoutResponseXml, type SamlStatus } from './response-xml.ts';
import type { SamlContext } from './saml-context.ts';
import { RUN_TTL_SECONDS } from './slo-run.ts';
import type { ServiceProviderRecord, SloEndpoint } from './sp-types.ts';

/** Where a LogoutRequest goes: HTTP-Redirect when the SP lists it (no page, no script), else HTTP-POST. */
export function requestEndpoint(sp: ServiceProviderRecord): SloEndpoint | undefined {
  return sp.slo.find((endpoint) => endpoint.binding === 'redirect') ?? sp.slo.find((endpoint) => endpoint.binding === 'post');
}

/** Where the LogoutResponse to an SP's own request goes: the binding it came by, when the SP lists it. */
export function responseEndpoint(sp: ServiceProviderRecord, binding: BindingName): SloEndpoint | undefined {
  return sp.slo.find((candidate) => candidate.binding === binding) ?? sp.slo[0];
}

/** Signed (query signature on Redirect, enveloped on POST); the RelayState carries the logout run's id. */
export async function sendLogoutRequest(
  res: Response,
  ctx: SamlContext,
  sp: ServiceProviderRecord,
  endpoint: SloEndpoint,
  target: { requestId: string; nameId: string; nameIdFormat?: string; sessionIndex?: string },
  relayState: string,
): Promise<void> {
  const signer = await activeSigner(ctx.services.keys);
  const now = ctx.services.clock.now();
  const header = { id: target.requestId, issueInstant: new Date(now), issuer: ctx.endpoints.entityId, destination: endpoint.location };
  const qualifiers = target.nameIdFormat === NAMEID_FORMAT.persistent ? persistentQualifiers(ctx.endpoints.entityId, sp.id) : {};
  const xml = logoutRequestXml(header, {
    nameId: { value: target.nameId, format: target.nameIdFormat, ...qualifiers },
    sessionIndex: target.sessionIndex,
    notOnOrAfter: new Date(now + RUN_TTL_SECONDS * 1000),
  });
  await sendSigned(res, { binding: endpoint.binding, destination: endpoint.location, appName: sp.name }, { param: 'SAMLRequest', kind: 'LogoutRequest', xml, relayState }, signer);
}

export async function sendLogoutResponse(
  res: Response,
  ctx: SamlContext,
  sp: ServiceProviderRecord,
  endpoint: SloEndpoint,
  request: { requestId: string; relayState?: string },
  status: SamlStatus,
): Promise<void> {
  const destination = endpoint.responseLocation ?? endpoint.location;
  const signer = await activeSigner(ctx.services.keys);
  const header = { id: newMessageId(), issueInstant: new Date(ctx.services.clock.now()), issuer: ctx.endpoints.entityId, destination, inResponseTo: request.requestId };
  const xml = logoutResponseXml(header, status);
  await sendSigned(res, { binding: endpoint.binding, destination, appName: sp.name }, { param: 'SAMLResponse', kind: 'LogoutResponse', xml, relayState: request.relayState }, signer);
}

/** By the endpoint's binding: the signature in the query of a redirect, or enveloped in the XML of a POST form. */
async function sendSigned(
  res: Response,
  to: { binding: BindingName; destination: string; appName: string },
  message: { param: 'SAMLRequest' | 'SAMLResponse'; kind: 'LogoutRequest' | 'LogoutResponse'; xml: string; relayState?: string },
  signer: IdpSigner,
): Promise<void> {
  if (to.binding === 'redirect') {
    res.redirect(303, await signedRedirectUrl(to.destination, message.param, message.xml, message.relayState, signer.privateKey));
    return;
  }
  const encoded = Buffer.from(await signCanonical(message.xml, message.kind, signer), 'utf8').toString('base64');
  sendPostForm(res, { action: to.destination, fields: { [message.param]: encoded, RelayState: message.relayState }, appName: to.appName });
}
