import type { User } from '../core/types.ts';
import type { MfaMethod, MfaMethodId } from './mfa-method.ts';

/** The configured second-factor methods, by id. */
export class MfaRegistry {
  readonly #methods: ReadonlyMap<MfaMethodId, MfaMethod>;

  constructor(methods: readonly MfaMethod[]) {
    this.#methods = new Map(methods.map((method) => [method.id, method]));
  }

  get(id: MfaMethodId): MfaMethod | undefined {
    return this.#methods.get(id);
  }

  /** Methods the user has set up, in registry order. */
  async enrolledMethods(user: User): Promise<MfaMethodId[]> {
    const enrolled: MfaMethodId[] = [];
    for (const method of this.#methods.values()) if (await method.isEnrolled(user)) enrolled.push(method.id);
    return enrolled;
  }

  /** Methods a user can set up by themselves after signing in. */
  enrollableMethods(): MfaMethodId[] {
    return [...this.#methods.values()].filter((method) => method.enrollment).map((method) => method.id);
  }
}
