import type { Action, Policy, PolicyDefinition, Rule, TemplateId, TemplateParameters } from './policy-types.ts';
import { ANY_TRUSTED_NETWORK } from './networks.ts';

function requireMfa(parameters: TemplateParameters): Action {
  return { effect: 'require-mfa', ...(parameters.methods ? { methods: parameters.methods } : {}), ...(parameters.maxAgeSec !== undefined ? { maxAgeSec: parameters.maxAgeSec } : {}) };
}

function deny(parameters: TemplateParameters): Action {
  return { effect: 'deny', ...(parameters.message ? { message: parameters.message } : {}) };
}

/**
 * The parameters each template reads in expandTemplate, and only those: any other would be ignored
 * without a word (groups given to permit-everyone would permit everyone), so validation refuses it.
 */
export const TEMPLATE_PARAMETERS: Readonly<Record<TemplateId, readonly (keyof TemplateParameters)[]>> = {
  'permit-everyone': [],
  'permit-everyone-require-mfa': ['methods', 'maxAgeSec'],
  'permit-specific-groups': ['groups', 'message'],
  'permit-everyone-require-mfa-outside-trusted-networks': ['networks', 'methods', 'maxAgeSec'],
  'permit-everyone-require-mfa-for-groups': ['groups', 'methods', 'maxAgeSec'],
  'deny-everyone': ['message'],
};

/** The built-in templates, in the spirit of AD FS access-control policies, as plain rule lists. */
export function expandTemplate(template: TemplateId, parameters: TemplateParameters = {}): Rule[] {
  switch (template) {
    case 'permit-everyone':
      return [{ name: 'permit everyone', then: { effect: 'permit' } }];
    case 'permit-everyone-require-mfa':
      return [{ name: 'permit everyone with MFA', then: requireMfa(parameters) }];
    case 'permit-specific-groups':
      return [
        { name: 'permit the listed groups', when: { groups: parameters.groups ?? [] }, then: { effect: 'permit' } },
        { name: 'deny everyone else', then: deny(parameters) },
      ];
    case 'permit-everyone-require-mfa-outside-trusted-networks':
      return [
        { name: 'inside a trusted network: password only', when: { networks: parameters.networks ?? [ANY_TRUSTED_NETWORK] }, then: { effect: 'permit' } },
        { name: 'outside trusted networks: MFA', then: requireMfa(parameters) },
      ];
    case 'permit-everyone-require-mfa-for-groups':
      return [
        { name: 'the listed groups: MFA', when: { groups: parameters.groups ?? [] }, then: requireMfa(parameters) },
        { name: 'everyone else: password only', then: { effect: 'permit' } },
      ];
    case 'deny-everyone':
      return [{ name: 'deny everyone', then: deny(parameters) }];
  }
}

export function toPolicy(definition: PolicyDefinition, source: Policy['source']): Policy {
  const rules = 'template' in definition ? expandTemplate(definition.template, definition.parameters) : definition.rules;
  const description = definition.description ?? ('template' in definition ? `template ${definition.template}` : `${rules.length} custom rule${rules.length === 1 ? '' : 's'}`);
  return { name: definition.name, description, source, rules };
}

/** Policies available by name without being saved: the templates that need no parameters, and one for the account page. */
export const BUILT_IN_POLICIES: readonly Policy[] = [
  toPolicy({ name: 'permit-everyone', description: 'Everyone may sign in with a password.', template: 'permit-everyone' }, 'built-in'),
  toPolicy({ name: 'permit-everyone-require-mfa', description: 'Everyone may sign in, always with a second factor.', template: 'permit-everyone-require-mfa' }, 'built-in'),
  toPolicy(
    { name: 'permit-everyone-require-mfa-outside-trusted-networks', description: 'Password only from a trusted network, a second factor from anywhere else.', template: 'permit-everyone-require-mfa-outside-trusted-networks' },
    'built-in',
  ),
  toPolicy({ name: 'deny-everyone', description: 'Nobody may sign in.', template: 'deny-everyone' }, 'built-in'),
  toPolicy(
    {
      name: 'require-mfa-if-enrolled',
      description: 'A second factor for users who have one; password only for those who have none yet (the "my security" page).',
      rules: [
        { name: 'enrolled users: MFA', when: { mfaEnrolled: true }, then: { effect: 'require-mfa' } },
        { name: 'not enrolled yet: password only', then: { effect: 'permit' } },
      ],
    },
    'built-in',
  ),
];
