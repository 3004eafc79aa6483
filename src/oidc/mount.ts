import type { Express } from 'express';
import type { Services } from '../services.ts';

/** Placeholder until the OIDC adapter lands. */
export async function mountOidc(_app: Express, _services: Services): Promise<void> {}
