import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium, headless, with the flags this machine needs (no sandbox as root, no background traffic). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 30_000,
  });
}

/** A page that records Content-Security-Policy violations and page errors, so tests can assert there were none. */
export async function watchedPage(context: BrowserContext): Promise<{ page: Page; problems: string[] }> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return { page, problems };
}

/** The accessible description Chromium computes for the focused element (what a screen reader reads after its name). */
export async function focusedDescription(page: Page): Promise<{ id: string; description: string }> {
  // autofocus is applied a moment after the page is parsed.
  await page.waitForFunction(() => document.activeElement !== document.body);
  const id = await page.evaluate(() => document.activeElement?.id ?? '');
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: Array<{ properties?: Array<{ name: string; value: { value?: unknown } }>; description?: { value?: string } }> };
  // The page itself counts as focused too: the focused control is the last (innermost) one.
  const focused = nodes.findLast((node) => node.properties?.some((property) => property.name === 'focused' && property.value.value === true));
  return { id, description: focused?.description?.value ?? '' };
}
