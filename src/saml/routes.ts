import { Router } from 'express';
import type { Services } from '../services.ts';

/** Placeholder until the SAML adapter lands: no SAML routes. */
export async function samlRoutes(_services: Services): Promise<Router> {
  return Router();
}
