/**
 * A minimal cookie-keeping HTTP client that follows redirects and submits HTML forms the way a
 * browser without JavaScript would. Enough to drive sign-in pages; real Chromium is used where
 * JavaScript matters.
 */
export interface Page {
  url: string;
  status: number;
  body: string;
  headers: Headers;
}

export interface Form {
  action: string;
  method: string;
  fields: Record<string, string>;
}

/**
 * How long one request (its answer and body) may take: a server that accepts and never answers fails the
 * test naming the URL, instead of holding it until the runner's 240 s timeout. Generous for a loaded machine.
 */
const REQUEST_TIMEOUT_MS = 60_000;

/** `work` (a fetch and the read of its body) bounded by REQUEST_TIMEOUT_MS; the timeout is reported with the request. */
async function bounded<T>(method: string, url: string, work: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
  try {
    return await work(signal);
  } catch (error) {
    if (signal.aborted) throw new Error(`${method} ${url}: no complete answer within ${REQUEST_TIMEOUT_MS / 1000} s`, { cause: error });
    throw error;
  }
}

export class TestBrowser {
  readonly cookies = new Map<string, Map<string, string>>();
  /** Every URL visited, in order, including redirects. */
  readonly history: string[] = [];
  /**
   * Redirects to a URL starting with one of these are not followed: the redirect itself is returned
   * (its Location is e.g. a relying party's callback that nothing listens on).
   */
  readonly stopAt: string[] = [];

  cookieHeader(url: string): string {
    const host = new URL(url).host;
    return [...(this.cookies.get(host) ?? new Map()).entries()].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  #store(url: string, response: Response): void {
    const host = new URL(url).host;
    const jar = this.cookies.get(host) ?? new Map<string, string>();
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const index = pair!.indexOf('=');
      const name = pair!.slice(0, index).trim();
      const value = pair!.slice(index + 1).trim();
      const expired = attributes.some((attribute) => /^\s*max-age=0\s*$/i.test(attribute)) || value === '';
      if (expired) jar.delete(name);
      else jar.set(name, value);
    }
    this.cookies.set(host, jar);
  }

  async request(url: string, init: { method?: string; body?: URLSearchParams | string; headers?: Record<string, string>; followRedirects?: boolean } = {}): Promise<Page> {
    let current = url;
    let method = init.method ?? 'GET';
    let body: URLSearchParams | string | undefined = init.body;
    for (let hop = 0; hop < 20; hop++) {
      this.history.push(current);
      const headers: Record<string, string> = { accept: 'text/html', ...(init.headers ?? {}) };
      const cookie = this.cookieHeader(current);
      if (cookie) headers.cookie = cookie;
      if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/x-www-form-urlencoded';
      const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
      const response = await bounded(method, current, (signal) => fetch(current, { method, body, headers, redirect: 'manual', signal }), signal);
      this.#store(current, response);
      const location = response.headers.get('location');
      const next = location ? new URL(location, current).toString() : undefined;
      if (init.followRedirects !== false && next && response.status >= 300 && response.status < 400 && !this.stopAt.some((prefix) => next.startsWith(prefix))) {
        current = next;
        if (response.status !== 307 && response.status !== 308) {
          method = 'GET';
          body = undefined;
        }
        continue;
      }
      return { url: current, status: response.status, body: await bounded(method, current, () => response.text(), signal), headers: response.headers };
    }
    throw new Error(`too many redirects from ${url}`);
  }

  get(url: string, options: { followRedirects?: boolean; headers?: Record<string, string> } = {}): Promise<Page> {
    return this.request(url, options);
  }

  /** Fills and submits the first form of the page (or the one whose action contains `match`). */
  async submit(page: Page, values: Record<string, string> = {}, match?: string, headers: Record<string, string> = {}): Promise<Page> {
    const form = parseForms(page.body, page.url).find((candidate) => !match || candidate.action.includes(match));
    if (!form) throw new Error(`no form${match ? ` matching ${match}` : ''} on ${page.url} (status ${page.status}):\n${page.body.slice(0, 500)}`);
    const body = new URLSearchParams({ ...form.fields, ...values });
    return this.request(form.action, { method: form.method, body, headers });
  }
}

function decodeEntities(value: string): string {
  return value.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x2F;/g, '/').replace(/&amp;/g, '&');
}

export function parseForms(html: string, baseUrl: string): Form[] {
  const forms: Form[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attributes = match[1]!;
    const action = decodeEntities(/action="([^"]*)"/i.exec(attributes)?.[1] ?? baseUrl);
    const method = (/method="([^"]*)"/i.exec(attributes)?.[1] ?? 'GET').toUpperCase();
    const fields: Record<string, string> = {};
    for (const input of match[2]!.matchAll(/<input\b([^>]*)>/gi)) {
      const name = /name="([^"]*)"/i.exec(input[1]!)?.[1];
      if (name) fields[decodeEntities(name)] = decodeEntities(/value="([^"]*)"/i.exec(input[1]!)?.[1] ?? '');
    }
    forms.push({ action: new URL(action, baseUrl).toString(), method, fields });
  }
  return forms;
}
