import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { KvAdapter } from './adapter.ts';

/**
 * An oidc-provider adapter that hands every call to the store's adapter: the models whose reads
 * Stepgate filters (grants, sessions) extend it and override what they filter.
 */
export class DelegatingAdapter implements Adapter {
  protected readonly inner: KvAdapter;

  constructor(inner: KvAdapter) {
    this.inner = inner;
  }

  find(id: string): Promise<AdapterPayload | undefined> {
    return this.inner.find(id);
  }

  upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    return this.inner.upsert(id, payload, expiresIn);
  }

  destroy(id: string): Promise<void> {
    return this.inner.destroy(id);
  }

  consume(id: string): Promise<void> {
    return this.inner.consume(id);
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.inner.findByUid(uid);
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.inner.findByUserCode(userCode);
  }

  revokeByGrantId(grantId: string): Promise<void> {
    return this.inner.revokeByGrantId(grantId);
  }
}
