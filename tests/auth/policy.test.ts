import type { Caller } from '../../src/auth/caller';
import { authorize, type Action } from '../../src/auth/policy';

const PERSON = '9434765919';
const OTHER_PERSON = '9000000009';
const REASON = 'Resident unconscious in A&E, own GP practice closed';

const callers: Record<Caller['kind'], Caller> = {
  provider: { kind: 'provider', clientId: 'care-home-system', odsCode: 'VNAA1', scopes: ['system/*.write'] },
  clinician: { kind: 'clinician', userId: 'gp-1', odsCode: 'Y12345', role: 'R8000', scopes: ['user/*.read'] },
  operator: { kind: 'operator', userId: 'ops-1', scopes: [] },
  'patient-app': { kind: 'patient-app', clientId: 'nhs-app', nhsNumber: PERSON, scopes: ['patient/AuditEvent.read'] },
  research: { kind: 'research', clientId: 'sde-falls', project: 'falls-2026', scopes: ['system/*.read'] },
};

/** Each action as seen from a caller: "own" is the caller's own organisation or person, "other" someone else's. */
const actions: Record<string, (own: string) => Action> = {
  'records.write own organisation': (own) => ({ type: 'records.write', providerOds: own }),
  'records.write other organisation': () => ({ type: 'records.write', providerOds: 'VNBB2' }),
  'submission.read own organisation': (own) => ({ type: 'submission.read', providerOds: own }),
  'submission.read other organisation': () => ({ type: 'submission.read', providerOds: 'VNBB2' }),
  'record.read registered at own practice': (own) => ({ type: 'record.read', gpOdsCodes: [own] }),
  'record.read registered elsewhere': () => ({ type: 'record.read', gpOdsCodes: ['A81001'] }),
  'record.read elsewhere by break-glass': () => ({ type: 'record.read', gpOdsCodes: ['A81001'], breakGlassReason: REASON }),
  validate: () => ({ type: 'validate' }),
  admin: () => ({ type: 'admin' }),
  'transparency.read own person': () => ({ type: 'transparency.read', nhsNumber: PERSON }),
  'transparency.read other person': () => ({ type: 'transparency.read', nhsNumber: OTHER_PERSON }),
  'extract.read own project': () => ({ type: 'extract.read', project: 'falls-2026' }),
  'extract.read other project': () => ({ type: 'extract.read', project: 'frailty-2027' }),
  'aggregates.read': () => ({ type: 'aggregates.read' }),
  'opt-outs.write': () => ({ type: 'opt-outs.write' }),
};

type Expect = 'allow' | 'deny' | 'break-glass';
const matrix: Record<string, Record<Caller['kind'], Expect>> = {
  //                                        provider   clinician       operator  patient-app  research
  'records.write own organisation':       { provider: 'allow', clinician: 'deny', operator: 'deny', 'patient-app': 'deny', research: 'deny' },
  'records.write other organisation':     { provider: 'deny', clinician: 'deny', operator: 'deny', 'patient-app': 'deny', research: 'deny' },
  'submission.read own organisation':     { provider: 'allow', clinician: 'deny', operator: 'deny', 'patient-app': 'deny', research: 'deny' },
  'submission.read other organisation':   { provider: 'deny', clinician: 'deny', operator: 'deny', 'patient-app': 'deny', research: 'deny' },
  'record.read registered at own practice': { provider: 'deny', clinician: 'allow', operator: 'deny', 'patient-app': 'deny', research: 'deny' },
  'record.read registered elsewhere':     { provider: 'deny', clinician: 'deny', operator: 'deny', 'patient-app': 'deny', research: 'deny' },
  'record.read elsewhere by break-glass': { provider: 'deny', clinician: 'break-glass', operator: 'deny', 'patient-app': 'deny', research: 'deny' },
  validate:                               { provider: 'allow', clinician: 'allow', operator: 'allow', 'patient-app': 'allow', research: 'allow' },
  admin:                                  { provider: 'deny', clinician: 'deny', operator: 'allow', 'patient-app': 'deny', research: 'deny' },
  'transparency.read own person':         { provider: 'deny', clinician: 'deny', operator: 'allow', 'patient-app': 'allow', research: 'deny' },
  'transparency.read other person':       { provider: 'deny', clinician: 'deny', operator: 'allow', 'patient-app': 'deny', research: 'deny' },
  'extract.read own project':             { provider: 'deny', clinician: 'deny', operator: 'allow', 'patient-app': 'deny', research: 'allow' },
  'extract.read other project':           { provider: 'deny', clinician: 'deny', operator: 'allow', 'patient-app': 'deny', research: 'deny' },
  'aggregates.read':                      { provider: 'deny', clinician: 'deny', operator: 'allow', 'patient-app': 'deny', research: 'allow' },
  'opt-outs.write':                       { provider: 'deny', clinician: 'deny', operator: 'allow', 'patient-app': 'deny', research: 'deny' },
};

const rows = Object.entries(matrix).flatMap(([action, byKind]) =>
  (Object.keys(byKind) as Caller['kind'][]).map((kind) => [kind, action, byKind[kind]] as const),
);

describe('authorisation matrix', () => {
  it('covers every caller kind and every action', () => {
    expect(Object.keys(matrix).sort()).toEqual(Object.keys(actions).sort());
    expect(rows).toHaveLength(Object.keys(callers).length * Object.keys(actions).length);
  });

  it.each(rows)('a %s caller asking for %s: %s', (kind, action, expected) => {
    const caller = callers[kind];
    const own = caller.kind === 'provider' || caller.kind === 'clinician' ? caller.odsCode : 'VNAA1';
    const decision = authorize(caller, actions[action](own));
    if (expected === 'deny') {
      expect(decision).toEqual({ allow: false, status: 403, reason: expect.any(String) });
    } else {
      expect(decision.allow).toBe(true);
      expect(decision.allow && decision.breakGlass === true).toBe(expected === 'break-glass');
    }
  });
});

describe('scopes', () => {
  const provider = (scopes: string[]): Caller => ({ ...callers.provider, scopes }) as Caller;
  const gp = (scopes: string[]): Caller => ({ ...callers.clinician, scopes }) as Caller;
  const write = (resourceTypes?: string[]): Action => ({ type: 'records.write', providerOds: 'VNAA1', resourceTypes });
  const read = (resourceTypes?: string[]): Action => ({ type: 'record.read', gpOdsCodes: ['Y12345'], resourceTypes });

  it.each([
    [['system/*.write'], undefined, true],
    [['system/*.*'], undefined, true],
    [['system/*.cu'], undefined, true],
    [['system/*.cruds'], undefined, true],
    [['system/Patient.write', 'system/Organization.write'], ['Patient', 'Organization'], true],
    [['system/Patient.write'], ['Patient', 'Organization'], false],
    [['system/Patient.write'], undefined, false],
    [['system/*.c'], undefined, false],
    [['system/*.read'], undefined, false],
    [['user/*.write'], undefined, false],
    [['system/*.write?category=x'], undefined, false],
    [['system/*.wrote'], undefined, false],
    [[], undefined, false],
  ])('a provider with scopes %j writing %j is allowed: %s', (scopes, types, allowed) => {
    expect(authorize(provider(scopes), write(types)).allow).toBe(allowed);
  });

  it.each([
    [['user/*.read'], undefined, true],
    [['user/*.rs'], undefined, true],
    [['user/Patient.read'], ['Patient'], true],
    [['user/Patient.read'], undefined, false],
    [['user/*.r'], undefined, false],
    [['system/*.read'], undefined, false],
    [['patient/*.read'], undefined, false],
    [['user/*.write'], undefined, false],
    [[], undefined, false],
  ])('a GP with scopes %j reading %j is allowed: %s', (scopes, types, allowed) => {
    expect(authorize(gp(scopes), read(types)).allow).toBe(allowed);
  });

  it('refuses break-glass too when the GP lacks the read scope', () => {
    const decision = authorize(gp([]), { type: 'record.read', gpOdsCodes: ['A81001'], breakGlassReason: REASON });
    expect(decision.allow).toBe(false);
  });

  it('lets a provider read back its submissions only with a system scope', () => {
    expect(authorize(provider(['system/*.read']), { type: 'submission.read', providerOds: 'VNAA1' }).allow).toBe(true);
    expect(authorize(provider(['user/*.read']), { type: 'submission.read', providerOds: 'VNAA1' }).allow).toBe(false);
  });

  it('lets a research environment extract and read aggregates only with a system read scope', () => {
    const research = (scopes: string[]): Caller => ({ ...callers.research, scopes }) as Caller;
    for (const action of [{ type: 'extract.read', project: 'falls-2026' }, { type: 'aggregates.read' }] as Action[]) {
      expect(authorize(research(['system/*.read']), action).allow).toBe(true);
      expect(authorize(research(['system/*.rs']), action).allow).toBe(true);
      expect(authorize(research(['user/*.read']), action).allow).toBe(false);
      expect(authorize(research(['system/Observation.read']), action).allow).toBe(false);
      expect(authorize(research([]), action).allow).toBe(false);
    }
  });

  it('lets a patient app read the transparency log only with a patient AuditEvent read scope', () => {
    const app = (scopes: string[]): Caller => ({ ...callers['patient-app'], scopes }) as Caller;
    const action: Action = { type: 'transparency.read', nhsNumber: PERSON };
    expect(authorize(app(['patient/*.read']), action).allow).toBe(true);
    expect(authorize(app(['patient/AuditEvent.rs']), action).allow).toBe(true);
    expect(authorize(app(['patient/Patient.read']), action).allow).toBe(false);
    expect(authorize(app(['user/AuditEvent.read']), action).allow).toBe(false);
    expect(authorize(app([]), action).allow).toBe(false);
  });
});

describe('rules in detail', () => {
  it('compares ODS codes whatever their case and surrounding space', () => {
    expect(authorize(callers.provider, { type: 'records.write', providerOds: ' vnaa1 ' }).allow).toBe(true);
    expect(authorize(callers.clinician, { type: 'record.read', gpOdsCodes: ['y12345'] })).toEqual({ allow: true });
  });

  it('compares NHS numbers after normalising spaces and refuses invalid ones', () => {
    const app = callers['patient-app'];
    expect(authorize(app, { type: 'transparency.read', nhsNumber: '943 476 5919' }).allow).toBe(true);
    expect(authorize(app, { type: 'transparency.read', nhsNumber: '9434765918' }).allow).toBe(false);
    expect(authorize(app, { type: 'transparency.read', nhsNumber: '' }).allow).toBe(false);
  });

  it('refuses a provider whose own ODS code is empty even against an empty target', () => {
    const blank = { ...callers.provider, odsCode: '' } as Caller;
    expect(authorize(blank, { type: 'records.write', providerOds: '' }).allow).toBe(false);
  });

  it.each([['', false], ['   ', false], ['emergency', false], [' '.repeat(20) + 'x', false], ['x'.repeat(501), false], [REASON, true]])(
    'treats the break-glass reason %j as stated: %s',
    (reason, allowed) => {
      const decision = authorize(callers.clinician, { type: 'record.read', gpOdsCodes: ['A81001'], breakGlassReason: reason });
      expect(decision.allow).toBe(allowed);
    },
  );

  it('does not flag break-glass when the person is registered at the practice anyway', () => {
    expect(authorize(callers.clinician, { type: 'record.read', gpOdsCodes: ['Y12345'], breakGlassReason: REASON }))
      .toEqual({ allow: true });
  });

  it('refuses a person with no registered practice unless by break-glass', () => {
    expect(authorize(callers.clinician, { type: 'record.read', gpOdsCodes: [] }).allow).toBe(false);
  });

  it('denies an action it does not know', () => {
    const unknown = { type: 'records.delete' } as unknown as Action;
    for (const caller of Object.values(callers)) expect(authorize(caller, unknown).allow).toBe(false);
  });
});
