import type { Request, Response } from 'express';
import type { SsoSession } from './sso-session.ts';

/**
 * Tells the applications of a session this logout ended, through the browser (SAML front-channel
 * logout), then sends the browser on to `continueTo` (an OIDC client's post-logout redirect) or shows
 * which applications confirmed. `ownPage`: `continueTo` is the provider's own signed-out page, which
 * names no applications, so one that did not confirm is listed instead. Returns false, having
 * answered nothing, when it has nobody to tell.
 */
export type LogoutPropagation = (req: Request, res: Response, ended: SsoSession, continueTo?: string, ownPage?: boolean) => Promise<boolean>;
