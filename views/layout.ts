import { html, type SafeHtml } from '../src/http/html.ts';

export interface PageOptions {
  title: string;
  body: SafeHtml;
}

/** The one page layout: no scripts, works without JavaScript, one stylesheet from /assets (the CSP's style-src 'self' allows no inline style). */
export function layout({ title, body }: PageOptions): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Stepgate</title>
<link rel="stylesheet" href="/assets/stepgate.css">
</head>
<body>
<main class="card">
<p class="brand" aria-hidden="true">Stepgate</p>
${body}
</main>
</body>
</html>`;
}
