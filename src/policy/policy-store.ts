import type { Collection } from '../store/store.ts';
import type { Clock } from '../core/clock.ts';
import type { Policy, PolicyDefinition } from './policy-types.ts';
import { BUILT_IN_POLICIES, toPolicy } from './templates.ts';
import { validatePolicyDefinition, type ValidationResult } from './policy-validation.ts';

export const POLICY_COLLECTION = 'policies';

/** A custom policy as stored in the POLICY_COLLECTION; the id is the policy name. */
export interface PolicyRecord {
  id: string;
  definition: PolicyDefinition;
  updatedAt: number;
}

export interface PolicySettings {
  /** Applies to relying parties that name no policy. */
  defaultPolicy: string;
  networkNames: readonly string[];
}

export type RemoveOutcome = 'removed' | 'not-found' | 'built-in' | 'is-default';

const MISSING_MESSAGE = 'This application cannot be used right now: its access policy is not set up. Contact your helpdesk.';

/** Built-in policies from code plus custom ones from the store (CLI writes reach a running server). */
export class PolicyStore {
  readonly #records: Collection<PolicyRecord>;
  readonly #settings: PolicySettings;
  readonly #clock: Clock;

  constructor(records: Collection<PolicyRecord>, settings: PolicySettings, clock: Clock) {
    this.#records = records;
    this.#settings = settings;
    this.#clock = clock;
  }

  get defaultPolicy(): string {
    return this.#settings.defaultPolicy;
  }

  async get(name: string): Promise<Policy | undefined> {
    const builtIn = BUILT_IN_POLICIES.find((policy) => policy.name === name);
    if (builtIn) return builtIn;
    const record = await this.#records.get(name);
    return record ? toPolicy(record.definition, 'custom') : undefined;
  }

  /** The policy for a relying party. A name that does not exist denies everyone rather than letting anyone through. */
  async resolve(name: string | undefined): Promise<Policy> {
    const wanted = name ?? this.#settings.defaultPolicy;
    return (await this.get(wanted)) ?? { name: wanted, description: 'does not exist: denies everyone', source: 'missing', rules: [{ name: 'policy missing', then: { effect: 'deny', message: MISSING_MESSAGE } }] };
  }

  async list(): Promise<Policy[]> {
    const custom = (await this.#records.list()).map((record) => toPolicy(record.definition, 'custom'));
    return [...BUILT_IN_POLICIES, ...custom.sort((a, b) => a.name.localeCompare(b.name))];
  }

  /** Raw definition of a custom policy, for `policy show` and export. */
  async definition(name: string): Promise<PolicyDefinition | undefined> {
    return (await this.#records.get(name))?.definition;
  }

  /** `lint: 'warn'`: for records an earlier version may have saved (see validatePolicyDefinition). */
  validate(input: unknown, options?: { lint: 'refuse' | 'warn' }): ValidationResult {
    return validatePolicyDefinition(input, { networkNames: this.#settings.networkNames, reservedNames: BUILT_IN_POLICIES.map((policy) => policy.name) }, options);
  }

  /**
   * The custom policies `policy set` would refuse as they are stored, by name, each with the problems
   * it would name: saved by an earlier version, whose checks were looser, or naming a trusted network
   * the configuration no longer has. They still apply as saved; only the administrator can correct them.
   */
  async storedProblems(): Promise<Map<string, string[]>> {
    const problems = new Map<string, string[]>();
    for (const record of await this.#records.list()) {
      const result = this.validate(record.definition);
      if (!result.ok) problems.set(record.id, result.errors);
    }
    return problems;
  }

  /** Validates, then saves (insert or replace). Nothing is saved when there is any problem. */
  async save(input: unknown): Promise<ValidationResult> {
    const result = this.validate(input);
    if (result.ok) {
      // Names are compared as typed elsewhere, but two that differ only in case are one mistake away from each other.
      const name = result.definition.name;
      const lookalike = [...BUILT_IN_POLICIES.map((policy) => policy.name), ...(await this.#records.list()).map((record) => record.id)].find((other) => other !== name && other.toLowerCase() === name.toLowerCase());
      if (lookalike) return { ok: false, errors: [`name: "${name}" differs from the existing policy "${lookalike}" only in case; use that name or another one`] };
    }
    if (result.ok) await this.#records.put({ id: result.definition.name, definition: result.definition, updatedAt: this.#clock.now() });
    return result;
  }

  async remove(name: string): Promise<RemoveOutcome> {
    if (BUILT_IN_POLICIES.some((policy) => policy.name === name)) return 'built-in';
    if (name === this.#settings.defaultPolicy) return 'is-default';
    return (await this.#records.remove(name)) ? 'removed' : 'not-found';
  }
}
