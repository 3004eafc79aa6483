import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decide, type DecisionFacts } from '../../src/policy/policy-engine.ts';
import { explainDecision } from '../../src/policy/explain.ts';
import { toPolicy } from '../../src/policy/templates.ts';
import { compileNetworks } from '../../src/policy/networks.ts';
import type { Decision, Policy, Rule } from '../../src/policy/policy-types.ts';
import type { Factor, User } from '../../src/core/types.ts';

/**
 * A directory may keep apart what full case folding joins (slapd 2.5 keeps `admın` (dotless ı) and
 * `admin`, `straße` and `strasse` apart; other servers may keep `ADMİN` or `ａdmin` apart too), and users
 * may create groups: a look-alike must never let a user in or ask less of them, while a rule that
 * refuses or asks more must still catch it.
 */
const NOW = Date.parse('2026-11-22T10:00:00Z');
const networks = compileNetworks({});
const PASSWORD: Factor[] = [{ method: 'pwd', at: NOW }];
const WITH_TOTP: Factor[] = [...PASSWORD, { method: 'otp', at: NOW - 600_000 }];

function member(groups: string[], extra: Partial<User> = {}): User {
  return { id: `id-${groups.join('|')}`, username: 'pat', groups, attributes: {}, ...extra };
}

function policy(...rules: Rule[]): Policy {
  return { name: 'polarity', description: '', source: 'custom', rules };
}

function decision(p: Policy, user: User, factors = PASSWORD): Decision {
  const facts: DecisionFacts = { policy: p, user, enrolledMethods: ['totp'], factors, network: { ip: '198.51.100.1' }, protocol: 'oidc', now: NOW };
  return decide(facts, networks);
}

const effect = (p: Policy, user: User, factors = PASSWORD) => decision(p, user, factors).effect;

/** Spellings of `admin` that only foldCase takes for it (slapd 2.5 holds `admın` as a group of its own; not every server folds the others). */
const ADMIN_LOOK_ALIKES = ['adm\u0131n', 'ADM\u0130N', '\uFF41dmin', '\uFF21\uFF24\uFF2D\uFF29\uFF2E'];
/** Spellings every LDAP server takes for `admin`. */
const ADMIN_SPELLINGS = ['admin', 'ADMIN', 'Admin', ' admin '];

describe('a rule that lets a user in compares names exactly but for ASCII case and spaces', () => {
  const permitAdmin = toPolicy({ name: 'admins-only', template: 'permit-specific-groups', parameters: { groups: ['admin'] } }, 'custom');

  test('permit-specific-groups: a look-alike group is not the group', () => {
    for (const group of ADMIN_LOOK_ALIKES) assert.equal(effect(permitAdmin, member([group])), 'deny', `a member of ${JSON.stringify(group)} is not let in by a rule for admin`);
    for (const group of ADMIN_SPELLINGS) assert.equal(effect(permitAdmin, member([group])), 'allow', `${JSON.stringify(group)} is admin to every directory`);
  });

  test('ß is not ss, nor the Kelvin sign k, for a permit rule', () => {
    const permit = (name: string) => policy({ when: { groups: [name] }, then: { effect: 'permit' } });
    assert.equal(effect(permit('STRASSE'), member(['straße'])), 'deny');
    assert.equal(effect(permit('straße'), member(['STRASSE'])), 'deny');
    assert.equal(effect(permit('straße'), member(['straße'])), 'allow', 'the same spelling');
    assert.equal(effect(permit('kiosk'), member(['\u212Aiosk'])), 'deny');
    assert.equal(effect(permit('Sales EMEA'), member(['sales  emea'])), 'allow', 'doubled U+0020 spaces do not count');
  });

  test('group DNs: a look-alike value is another entry', () => {
    const dn = 'cn=admin,ou=groups,dc=example,dc=org';
    const permit = policy({ when: { groups: [dn] }, then: { effect: 'permit' } });
    for (const spelled of ['cn=adm\u0131n,ou=groups,dc=example,dc=org', 'cn=\uFF41dmin,ou=groups,dc=example,dc=org', 'CN=ADM\u0130N,OU=Groups,DC=example,DC=org']) {
      assert.equal(effect(permit, member(['x'], { groupDns: [spelled] })), 'deny', spelled);
    }
    assert.equal(effect(permit, member(['x'], { groupDns: ['CN=Admin, OU=Groups, DC=example, DC=org'] })), 'allow', 'ASCII case and spaces around separators');
    assert.equal(effect(permit, member(['x'], { attributes: { memberof: ['CN=\uFF21DMIN,OU=Groups,DC=example,DC=org'] } })), 'deny', 'a memberOf value too');
    const denyDn = policy({ when: { groups: [dn] }, then: { effect: 'deny' } }, { then: { effect: 'permit' } });
    assert.equal(effect(denyDn, member(['x'], { groupDns: ['cn=adm\u0131n,ou=groups,dc=example,dc=org'] })), 'deny', 'a deny rule catches the look-alike DN');
  });

  test('attribute and username patterns', () => {
    const byDepartment = policy({ when: { attributes: { department: ['eng*'] } }, then: { effect: 'permit' } });
    assert.equal(effect(byDepartment, member([], { attributes: { department: ['\uFF45ngineering'] } })), 'deny');
    assert.equal(effect(byDepartment, member([], { attributes: { department: ['ENGINEERING'] } })), 'allow');
    const byName = policy({ when: { username: ['alice'] }, then: { effect: 'permit' } });
    assert.equal(effect(byName, member([], { username: 'al\u0131ce' })), 'deny');
    assert.equal(effect(byName, member([], { username: 'ALICE' })), 'allow');
  });
});

describe('a rule that refuses or asks more compares names broadly', () => {
  const denyContractors = policy({ name: 'no contractors', when: { groups: ['contractors'] }, then: { effect: 'deny', message: 'Not for contractors.' } }, { name: 'everyone else', then: { effect: 'permit' } });

  test('a deny rule catches look-alikes', () => {
    for (const group of ['CONTRACTORS', '\uFF43ontractors', 'contractor\u017F', ' contractors ']) assert.equal(effect(denyContractors, member([group])), 'deny', group);
    assert.equal(effect(denyContractors, member(['contractor'])), 'allow', 'another name');
    const interns = policy({ when: { groups: ['interns'] }, then: { effect: 'deny' } }, { then: { effect: 'permit' } });
    assert.equal(effect(interns, member(['\u0130NTERNS'])), 'deny', 'Turkish capitals');
  });

  test('a deny rule on usernames and attributes catches look-alikes', () => {
    const denyService = policy({ when: { username: ['svc-*'] }, then: { effect: 'deny' } }, { then: { effect: 'permit' } });
    assert.equal(effect(denyService, member([], { username: '\uFF53vc-backup' })), 'deny');
    const denyExternal = policy({ when: { attributes: { employeeType: ['external'] } }, then: { effect: 'deny' } }, { then: { effect: 'permit' } });
    assert.equal(effect(denyExternal, member([], { attributes: { employeetype: ['EXTERNAL'] } })), 'deny');
    assert.equal(effect(denyExternal, member([], { attributes: { employeetype: ['\uFF25XTERNAL'] } })), 'deny');
  });

  test('an MFA rule above a permit rule asks look-alikes for a second factor', () => {
    const mfaForAdmins = toPolicy({ name: 'mfa', template: 'permit-everyone-require-mfa-for-groups', parameters: { groups: ['admin'] } }, 'custom');
    for (const group of [...ADMIN_LOOK_ALIKES, ...ADMIN_SPELLINGS]) assert.equal(effect(mfaForAdmins, member([group])), 'step-up', group);
  });
});

describe('polarity follows what the rules below would decide (first match)', () => {
  const mfaThenDeny = policy({ name: 'admins with MFA', when: { groups: ['admin'] }, then: { effect: 'require-mfa' } }, { name: 'nobody else', then: { effect: 'deny' } });

  test('an MFA rule above a deny rule lets in: look-alikes are refused, not asked for a code', () => {
    for (const group of ADMIN_LOOK_ALIKES) {
      assert.equal(effect(mfaThenDeny, member([group])), 'deny', `${group}, no second factor yet`);
      assert.equal(effect(mfaThenDeny, member([group]), WITH_TOTP), 'deny', `${group}, with a second factor`);
    }
    assert.equal(effect(mfaThenDeny, member(['Admin'])), 'step-up');
    assert.equal(effect(mfaThenDeny, member(['Admin']), WITH_TOTP), 'allow');
  });

  test('an MFA rule that is the last rule lets in too (no rule matched denies)', () => {
    const onlyRule = policy({ when: { groups: ['admin'] }, then: { effect: 'require-mfa' } });
    const refused = decision(onlyRule, member(['adm\u0131n']));
    assert.equal(refused.effect, 'deny');
    assert.equal(refused.rule.index, -1);
  });

  test('a look-alike permit rule above an MFA rule does not skip the second factor', () => {
    const p = policy({ when: { groups: ['admin'] }, then: { effect: 'permit' } }, { then: { effect: 'require-mfa' } });
    assert.equal(effect(p, member(['\uFF41dmin'])), 'step-up');
    assert.equal(effect(p, member(['admin'])), 'allow');
  });

  test('a look-alike deny rule below a rule that surely matches does not count (first match)', () => {
    const p = policy({ when: { groups: ['staff'] }, then: { effect: 'permit' } }, { when: { groups: ['contractors'] }, then: { effect: 'deny' } });
    assert.equal(effect(p, member(['staff', 'CONTRACTOR\u017F'])), 'allow');
  });

  test('a look-alike MFA rule that asks the same as the rule below it does not decide', () => {
    const p = policy({ name: 'admins', when: { groups: ['admin'] }, then: { effect: 'require-mfa', maxAgeSec: 600 } }, { name: 'everyone', then: { effect: 'require-mfa', maxAgeSec: 600 } });
    const decided = decision(p, member(['adm\u0131n']));
    assert.equal(decided.effect, 'step-up');
    assert.equal(decided.rule.name, 'everyone');
    const stricter = policy({ name: 'admins', when: { groups: ['admin'] }, then: { effect: 'require-mfa', methods: ['totp'] } }, { name: 'everyone', then: { effect: 'require-mfa' } });
    assert.equal(decision(stricter, member(['adm\u0131n'])).rule.name, 'admins', 'totp alone is a narrower ask than any method');
  });

  test('a look-alike MFA rule with another freshness than the rule that decides: both count', () => {
    const p = policy(
      { name: 'admins: fresh totp', when: { groups: ['admin'] }, then: { effect: 'require-mfa', maxAgeSec: 300 } },
      { name: 'everyone: totp', then: { effect: 'require-mfa', methods: ['totp'] } },
      { then: { effect: 'permit' } },
    );
    const lookAlike = decision(p, member(['adm\u0131n']), WITH_TOTP);
    assert.equal(lookAlike.effect, 'step-up', 'a code 10 minutes old is too old for the admins rule');
    assert.ok(lookAlike.effect === 'step-up' && lookAlike.maxAgeSec === 300 && lookAlike.anyOf.join() === 'totp', JSON.stringify(lookAlike));
    const other = decision(p, member(['staff']), WITH_TOTP);
    assert.equal(other.effect, 'allow', 'not like admin at all: the second rule alone');
    const twoWays = policy({ when: { groups: ['admin'] }, then: { effect: 'require-mfa', methods: ['webauthn'] } }, { then: { effect: 'require-mfa', methods: ['totp'] } });
    assert.equal(effect(twoWays, member(['adm\u0131n']), WITH_TOTP), 'deny', 'no factor counts for both');
  });
});

describe('inside not, the comparison turns round', () => {
  test('deny with not: the name inside is compared exactly', () => {
    const staffOnly = policy({ when: { not: { groups: ['staff'] } }, then: { effect: 'deny' } }, { then: { effect: 'permit' } });
    assert.equal(effect(staffOnly, member(['\uFF53taff'])), 'deny', 'a look-alike of staff is not staff');
    assert.equal(effect(staffOnly, member(['\u017Ftaff'])), 'deny', 'long s');
    assert.equal(effect(staffOnly, member(['STAFF'])), 'allow');
  });

  test('permit with not: the name inside is compared broadly', () => {
    const notContractors = policy({ when: { not: { groups: ['contractors'] } }, then: { effect: 'permit' } }, { then: { effect: 'deny' } });
    assert.equal(effect(notContractors, member(['\uFF23ONTRACTORS'])), 'deny', 'a look-alike of contractors is not "not a contractor"');
    assert.equal(effect(notContractors, member(['staff'])), 'allow');
  });

  test('a nested not turns round again', () => {
    const permitAdmin = policy({ when: { not: { not: { groups: ['admin'] } } }, then: { effect: 'permit' } });
    assert.equal(effect(permitAdmin, member(['adm\u0131n'])), 'deny');
    assert.equal(effect(permitAdmin, member(['ADMIN'])), 'allow');
    const denyContractors = policy({ when: { not: { not: { groups: ['contractors'] } } }, then: { effect: 'deny' } }, { then: { effect: 'permit' } });
    assert.equal(effect(denyContractors, member(['\uFF43ontractors'])), 'deny');
  });

  test('an MFA rule with not above a deny rule: look-alikes of the excluded group are not let in', () => {
    const p = policy({ when: { not: { groups: ['contractors'] } }, then: { effect: 'require-mfa' } }, { then: { effect: 'deny' } });
    assert.equal(effect(p, member(['CONTRACTOR\u017F'])), 'deny');
    assert.equal(effect(p, member(['staff'])), 'step-up');
  });
});

describe('policy explain tells the same story, and why a look-alike did or did not count', () => {
  function explain(p: Policy, user: User): { decided: Decision; lines: string[] } {
    const decided = decision(p, user);
    return { decided, lines: explainDecision(p, decided, { user, enrolledMethods: ['totp'], ip: '198.51.100.1' }, networks) };
  }

  test('a permit rule held only for a look-alike: not counted, and the trace says which name', () => {
    const p = toPolicy({ name: 'admins-only', template: 'permit-specific-groups', parameters: { groups: ['admin'] } }, 'custom');
    const { decided, lines } = explain(p, member(['adm\u0131n']));
    assert.equal(decided.effect, 'deny');
    assert.match(lines[1]!, /^ {2}alike #1 permit the listed groups: /);
    assert.match(lines[2]!, /^ {8}not counted: group "adm\u0131n" is not "admin": where a rule lets a user in, or asks less than the rules below it, names compare exactly but for ASCII case and the spaces a directory does not count \(a space next to \* stands for spaces only\)$/);
    assert.match(lines[3]!, /^ {2}MATCH #2 deny everyone else/);
    assert.equal(lines.at(-1), 'rule      #2 "deny everyone else"');
  });

  test('a deny rule held for a look-alike: counted', () => {
    const p = policy({ name: 'no contractors', when: { groups: ['contractors'] }, then: { effect: 'deny' } }, { name: 'everyone', then: { effect: 'permit' } });
    const { decided, lines } = explain(p, member(['\uFF43ontractors']));
    assert.equal(decided.effect, 'deny');
    assert.match(lines[1]!, /^ {2}alike #1 no contractors: /);
    assert.match(lines[2]!, /^ {8}counted: group "\uFF43ontractors" counts as "contractors": where a rule refuses/);
    assert.equal(lines.length, 5, 'the rules after the deny rule were never looked at');
    assert.equal(lines.at(-1), 'rule      #1 "no contractors"');
  });

  test('two MFA rules that both count are named', () => {
    const p = policy({ name: 'admins', when: { groups: ['admin'] }, then: { effect: 'require-mfa', maxAgeSec: 300 } }, { name: 'everyone', then: { effect: 'require-mfa', methods: ['totp'] } });
    const { lines } = explain(p, member(['adm\u0131n']));
    assert.ok(lines.includes('  (rules #1 and #2 all count: the second factor must satisfy them all)'), lines.join('\n'));
    assert.match(lines.find((line) => line.startsWith('decision'))!, /totp, at most 300 s old/);
  });

  test('a user the rule names exactly gets the trace it always had', () => {
    const p = toPolicy({ name: 'admins-only', template: 'permit-specific-groups', parameters: { groups: ['admin'] } }, 'custom');
    const { lines } = explain(p, member(['Admin']));
    assert.deepEqual(lines.slice(1), ['  MATCH #1 permit the listed groups: when groups ["admin"] → permit', 'decision  allow — acr urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport', 'rule      #1 "permit the listed groups"']);
  });
});
