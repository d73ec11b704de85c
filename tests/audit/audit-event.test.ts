import type { AuditEvent } from 'fhir/r4';
import { auditEvent, UKCORE_AUDIT_EVENT } from '../../src/audit/audit-event';
import type { Caller } from '../../src/auth/caller';
import { isError } from '../../src/fhir/operation-outcome';
import { loadValidator, type Validator } from '../../src/validate';

const gp: Caller = { kind: 'clinician', userId: 'cis2-555021935107', odsCode: 'Y12345', role: 'R8000', scopes: ['user/*.read'] };
const provider: Caller = { kind: 'provider', clientId: 'care-home-system', odsCode: 'VNAA1', scopes: ['system/*.write'] };
const recorded = new Date('2026-11-24T10:15:00.000Z');

let validator: Validator;
beforeAll(() => {
  validator = loadValidator();
});

function errorsOf(event: AuditEvent): string[] {
  return validator.validate(event).filter(isError).map((i) => `${i.expression?.join(',')}: ${i.diagnostics}`);
}

describe('AuditEvent builder', () => {
  it('builds a GP read with everything UK Core AuditEvent needs', () => {
    const event = auditEvent({ caller: gp, action: 'read', outcome: 'success', nhsNumber: '943 476 5919', description: 'Patient $everything', recorded });
    expect(event).toMatchObject({
      resourceType: 'AuditEvent',
      meta: { profile: [UKCORE_AUDIT_EVENT] },
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
      subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'read' }],
      action: 'R',
      recorded: '2026-11-24T10:15:00.000Z',
      outcome: '0',
      source: { observer: { display: 'care-record-gateway' } },
      purposeOfEvent: [{ coding: [{ code: 'TREAT' }] }],
      entity: [
        {
          what: { type: 'Patient', identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' } },
          role: { code: '1' },
        },
      ],
    });
    const [who, organisation] = event.agent;
    expect(who).toMatchObject({
      requestor: true,
      who: { identifier: { system: 'https://fhir.nhs.uk/Id/sds-user-id', value: 'cis2-555021935107' } },
    });
    expect(who.role?.flatMap((r) => r.coding?.map((c) => c.code))).toEqual(['clinician', 'R8000']);
    expect(organisation).toMatchObject({
      requestor: false,
      who: { identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'Y12345' } },
    });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('passes the UK Core validator for a write, a refused read, a break-glass read and an unauthenticated refusal', () => {
    const events = [
      auditEvent({ caller: provider, action: 'create', outcome: 'success', nhsNumber: '9434765919', description: 'resident record', recorded }),
      auditEvent({ caller: gp, action: 'search', outcome: 'refused', nhsNumber: '9434765919', description: 'not registered here' }),
      auditEvent({ caller: gp, action: 'execute', outcome: 'success', nhsNumber: '9434765919', description: '$everything', breakGlassReason: 'Unconscious in A&E' }),
      auditEvent({ action: 'read', outcome: 'refused', description: 'no token', sourceAddress: '127.0.0.1' }),
      auditEvent({ caller: { kind: 'operator', userId: 'ops-1', scopes: [] }, action: 'execute', outcome: 'error', description: 'replay' }),
    ];
    for (const event of events) expect(errorsOf(event)).toEqual([]);
  });

  it('maps action and outcome to their FHIR codes', () => {
    const codes = (['create', 'read', 'search', 'execute'] as const).map((action) => auditEvent({ caller: gp, action, outcome: 'success', description: 'x' }).action);
    expect(codes).toEqual(['C', 'R', 'E', 'E']);
    const outcomes = (['success', 'refused', 'error'] as const).map((outcome) => auditEvent({ caller: gp, action: 'read', outcome, description: 'x' }).outcome);
    expect(outcomes).toEqual(['0', '4', '8']);
  });

  it('records break-glass as the BTG purpose with the stated reason', () => {
    const event = auditEvent({ caller: gp, action: 'read', outcome: 'success', nhsNumber: '9434765919', description: 'read', breakGlassReason: 'Unconscious in A&E' });
    expect(event.purposeOfEvent).toEqual([
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'BTG', display: 'break the glass' }], text: 'Unconscious in A&E' },
    ]);
  });

  it('names an unauthenticated caller as the requestor without inventing an identity', () => {
    const event = auditEvent({ action: 'read', outcome: 'refused', description: 'no token' });
    expect(event.agent).toHaveLength(1);
    expect(event.agent[0]).toMatchObject({ requestor: true, role: [{ coding: [{ code: 'unauthenticated' }] }] });
    expect(event.agent[0].who).toBeUndefined();
    expect(event.entity).toBeUndefined();
  });

  it('identifies a patient app by its client id, never by a user id', () => {
    const app: Caller = { kind: 'patient-app', clientId: 'nhs-app', nhsNumber: '9434765919', scopes: [] };
    const event = auditEvent({ caller: app, action: 'read', outcome: 'success', nhsNumber: '9434765919', description: 'transparency log' });
    expect(event.agent).toEqual([expect.objectContaining({ who: { type: 'Device', identifier: expect.objectContaining({ value: 'nhs-app' }) } })]);
  });
});

describe('AuditEvent validation has teeth', () => {
  it('reports an event without agent.requestor as invalid against UK Core', () => {
    const event = auditEvent({ caller: gp, action: 'read', outcome: 'success', nhsNumber: '9434765919', description: 'read', recorded });
    delete (event.agent[0] as { requestor?: boolean }).requestor;
    expect(errorsOf(event).join('\n')).toContain('AuditEvent.agent[0].requestor');
  });
});
