import { html, type SafeHtml } from '../../src/http/html.ts';

/** The sample apps' pages: plain, so a newcomer sees exactly what the application received. */
export function demoPage(title: string, body: SafeHtml): string {
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}a.button{display:inline-block;padding:.6rem 1rem;background:#2b5fd9;color:#fff;border-radius:6px;text-decoration:none}</style>
</head><body><h1>${title}</h1>${body}</body></html>`.value;
}

export function valuesTable(values: Record<string, unknown>): SafeHtml {
  const rows = Object.entries(values).map(([key, value]) => html`<tr><th>${key}</th><td>${Array.isArray(value) ? value.join(', ') : typeof value === 'object' ? JSON.stringify(value) : String(value)}</td></tr>`);
  return html`<table>${rows}</table>`;
}
