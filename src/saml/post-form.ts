import type { Response } from 'express';
import { randomBytes } from 'node:crypto';
import { sendPage } from '../http/render.ts';
import { samlPostPage } from '../../views/saml/post-form.ts';

/**
 * Sends an HTTP-POST binding page. Its own Content-Security-Policy allows exactly one inline script
 * (by nonce) and form submission only to the destination's origin.
 */
export function sendPostForm(res: Response, options: { action: string; fields: Record<string, string | undefined>; appName?: string }): void {
  const nonce = randomBytes(16).toString('base64');
  const fields = Object.fromEntries(Object.entries(options.fields).filter((entry): entry is [string, string] => entry[1] !== undefined));
  res.setHeader(
    'Content-Security-Policy',
    `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'self'; img-src 'self'; form-action ${new URL(options.action).origin}; frame-ancestors 'none'; base-uri 'none'`,
  );
  sendPage(res, samlPostPage({ action: options.action, fields, nonce, appName: options.appName }));
}
