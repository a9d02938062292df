/** Request and response schemas of the authorization policies and the access check. */
import { Type, type Static } from 'typebox';
import { stringEnum } from './schema-base.ts';
import { HeaderMatch } from './traffic-schemas.ts';

const name = (description: string) => Type.String({ minLength: 1, maxLength: 63, description });

const Source = Type.Object(
  {
    namespace: Type.Optional(name('a namespace, * for any, or prefix*')),
    service: Type.Optional(name('a service, * for any, or prefix*')),
  },
  { additionalProperties: false, description: 'a caller: absent parts match any' },
);

const RequestMatch = Type.Object(
  {
    paths: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { maxItems: 64, description: 'exact paths, prefix* or *suffix' })),
    methods: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 32 }), { maxItems: 16 })),
    headers: Type.Optional(Type.Array(HeaderMatch, { maxItems: 16 })),
  },
  { additionalProperties: false, description: 'what an HTTP request asks for; every part given must match' },
);

const Rule = Type.Object(
  {
    from: Type.Optional(Type.Array(Source, { maxItems: 64, description: 'any of these callers; absent: any caller' })),
    to: Type.Optional(RequestMatch),
  },
  { additionalProperties: false },
);

const policyFields = {
  target: Type.Object(
    { namespace: Type.Optional(name('default: the policy\'s namespace')), service: Type.Optional(name('absent: every service of the namespace')) },
    { additionalProperties: false, description: 'the destination the policy protects' },
  ),
  action: stringEnum(['allow', 'deny'] as const, { description: 'deny beats allow; with any allow policy on a destination, requests must match one' }),
  mode: Type.Optional(stringEnum(['enforce', 'shadow'] as const, { default: 'enforce', description: 'shadow: evaluated and logged, never enforced' })),
  rules: Type.Array(Rule, { maxItems: 64, description: 'the policy matches a request when any rule does' }),
};

export const AuthzPolicyBody = Type.Object(
  { namespace: Type.Optional(name('default: default')), name: name('the policy name'), ...policyFields },
  { additionalProperties: false },
);
export type AuthzPolicyBody = Static<typeof AuthzPolicyBody>;

export const AuthzPolicyUpdate = Type.Object(
  { namespace: Type.Optional(Type.String()), name: Type.Optional(Type.String()), ...policyFields },
  { additionalProperties: false },
);
export type AuthzPolicyUpdate = Static<typeof AuthzPolicyUpdate>;

export const AuthzPolicyPath = Type.Object({ namespace: Type.String(), name: Type.String() });
export const AuthzPolicyQuery = Type.Object(
  { namespace: Type.Optional(Type.String()), targetNamespace: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

export const AccessCheckQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ description: '<namespace>/<service> of the caller; absent: an unauthenticated caller' })),
    to: Type.String({ description: '<namespace>/<service> of the destination' }),
    path: Type.Optional(Type.String({ maxLength: 1024 })),
    method: Type.Optional(Type.String({ maxLength: 32 })),
  },
  { additionalProperties: false },
);
export type AccessCheckQuery = Static<typeof AccessCheckQuery>;
