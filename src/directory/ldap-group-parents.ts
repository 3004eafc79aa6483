import { BoundedMap } from '../core/bounded-map.ts';

/**
 * A group as the nesting walk sees it: its DN and the name users and policies know it by;
 * `nameValues`: every value of groups.nameAttribute, when the name is not simply the entry's one value
 * (it has several, or none that is its RDN's and the name is the DN's).
 */
export interface GroupRef {
  dn: string;
  name: string;
  nameValues?: string[];
}

const MAX_GROUPS = 50_000;

/**
 * Which groups contain a group (one level up), remembered for a while. A user's own memberships
 * are always read fresh; only the group-in-group structure above them is reused, so a nested group
 * change reaches sign-ins within `ttlMs` while each sign-in needs one group search instead of one
 * per nesting level. Groups are known by their DNs as the server spells them (the group search's
 * answer, spelled the same way every time): a DN folded by us could stand for two groups the server
 * keeps apart (toLowerCase takes STRAẞE for straße), and the members of one would get the other's parents.
 */
export class GroupParents {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #entries = new BoundedMap<string, { at: number; parents: GroupRef[] }>(MAX_GROUPS);

  constructor(ttlMs: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  get(groupDn: string): GroupRef[] | undefined {
    const entry = this.#entries.get(groupDn);
    if (!entry) return undefined;
    if (this.#now() - entry.at > this.#ttlMs) {
      this.#entries.delete(groupDn);
      return undefined;
    }
    return entry.parents;
  }

  set(groupDn: string, parents: GroupRef[]): void {
    this.#entries.set(groupDn, { at: this.#now(), parents });
  }
}
