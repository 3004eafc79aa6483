import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Request, Response } from 'express';
import { JournalKeyValue } from '../../src/store/journal-kv.ts';
import type { KeyValue } from '../../src/store/store.ts';
import { testSealer } from './journal-sealer.ts';
import type { Clock } from '../../src/core/clock.ts';

/**
 * A browser for SessionService without HTTP: it keeps the cookies the service sets (last one wins,
 * an expired one is dropped) and sends them back with each request.
 */
export class SessionBrowser {
  readonly cookies = new Map<string, string>();
  readonly setCookies: string[] = [];

  request(): Request {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    return { headers: cookie ? { cookie } : {}, log: { error: () => undefined }, requestId: 'test' } as unknown as Request;
  }

  response(): Response {
    return {
      append: (header: string, value: string) => {
        if (header !== 'Set-Cookie') return;
        this.setCookies.push(value);
        const [pair] = value.split(';');
        const [name, cookieValue] = pair!.split('=') as [string, string];
        if (/max-age=0|expires=thu, 01 jan 1970/i.test(value) || cookieValue === '') this.cookies.delete(name);
        else this.cookies.set(name, cookieValue);
      },
    } as unknown as Response;
  }
}

/** A kv journal in a new temporary folder, closed and removed after `run`. */
export async function withSessionStore(clock: Clock, run: (kv: KeyValue) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stepgate-sessions-'));
  const kv = new JournalKeyValue(join(dir, 'kv.journal'), clock, { sealer: testSealer() });
  await kv.open();
  try {
    await run(kv);
  } finally {
    await kv.close();
    await rm(dir, { recursive: true, force: true });
  }
}
