import type { Services } from '../services.ts';

/** Placeholder until the demo lands. */
export async function seedDemo(_services: Services): Promise<void> {}
