import type { Response } from 'express';
import { randomBytes } from 'node:crypto';
import { sendPage } from '../http/render.ts';
import { samlPostPage } from '../../views/saml/post-form.ts';

/**
 * Sends an HTTP-POST binding page. Its own Content-Security-Policy allows exactly one inline script
 * (by nonce). It has no form-action: Chromium checks form-action against every redirect that follows
 * the submission too, and where an SP sends the browser after its ACS or SLO endpoint (another host of
 * its own, an http→https upgrade, a Redirect-binding LogoutResponse back here) is not in its metadata.
 * Any list narrower than every address would strand the user on this page; the destination itself is
 * always a registered endpoint, and the page has no markup a request could inject a form into.
 */
export function sendPostForm(res: Response, options: { action: string; fields: Record<string, string | undefined>; appName?: string }): void {
  const nonce = randomBytes(16).toString('base64');
  const fields = Object.fromEntries(Object.entries(options.fields).filter((entry): entry is [string, string] => entry[1] !== undefined));
  res.setHeader(
    'Content-Security-Policy',
    `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'`,
  );
  sendPage(res, samlPostPage({ action: options.action, fields, nonce, appName: options.appName }));
}
