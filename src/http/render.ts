import type { Response } from 'express';
import type { SafeHtml } from './html.ts';

export function sendPage(res: Response, page: SafeHtml, status = 200): void {
  res.status(status).setHeader('Cache-Control', 'no-store').type('html').send(page.value);
}
