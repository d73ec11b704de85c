/**
 * Builds the FHIR AuditEvent for a write, a read, a search, an operation or a refusal, claiming the UK Core
 * AuditEvent profile. The shape follows IHE Basic Audit Log Patterns for RESTful events:
 *
 *   type/subtype    DICOM "rest" + the FHIR interaction (create, read, search-type, operation)
 *   action          C, R, E (searches and operations are "execute", as BALP does)
 *   outcome         0 success, 4 refused (minor failure: the request was turned away), 8 error
 *   agent[0]        the caller, requestor = true: who it is, its kind (and a clinician's SDS job role) in role
 *   agent[1]        the organisation the caller acts for (ODS code), requestor = false, when there is one
 *   source          the gateway, as an application server
 *   entity          the person, by NHS number identifier, in the role "Patient"
 *   purposeOfEvent  TREAT for a clinician's ordinary read; BTG (break the glass) with the stated reason
 *
 * No names, birth dates or clinical content go in: only identifiers the audit needs.
 */
import { randomUUID } from 'node:crypto';
import type { AuditEvent, AuditEventAgent, Coding } from 'fhir/r4';
import type { Caller, CallerKind } from '../auth/caller';
import { normaliseNhsNumber } from '../ingest/nhs-number';
import { NHS_NUMBER_SYSTEM, ODS_CODE_SYSTEM } from '../map/identifiers';

export type { AuditEvent } from 'fhir/r4';

export const UKCORE_AUDIT_EVENT = 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-AuditEvent';
export const CALLER_KIND_SYSTEM = 'https://care-record-gateway.dev/fhir/CodeSystem/caller-kind';
export const CLIENT_ID_SYSTEM = 'https://care-record-gateway.dev/fhir/Id/client-id';
export const OPERATOR_ID_SYSTEM = 'https://care-record-gateway.dev/fhir/Id/operator-id';
export const SDS_USER_ID_SYSTEM = 'https://fhir.nhs.uk/Id/sds-user-id';
export const SDS_JOB_ROLE_SYSTEM = 'https://fhir.nhs.uk/CodeSystem/NHSDigital-SDS-JobRoleCode';
const AUDIT_EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const RESTFUL_INTERACTION = 'http://hl7.org/fhir/restful-interaction';
const PARTICIPATION_TYPE = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const ACT_REASON = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const SOURCE_TYPE = 'http://terminology.hl7.org/CodeSystem/security-source-type';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';

export const GATEWAY_NAME = 'care-record-gateway';

export type AuditAction = 'create' | 'read' | 'search' | 'execute';
export type AuditOutcome = 'success' | 'refused' | 'error';

export interface AuditInput {
  /** Absent when the caller could not be authenticated. */
  caller?: Caller;
  action: AuditAction;
  outcome: AuditOutcome;
  /** The person the event is about; absent for events about no one (admin, validate). */
  nhsNumber?: string;
  /** What happened, for reviewers (not shown to the person); never personal data. */
  description: string;
  breakGlassReason?: string;
  recorded?: Date;
  /** The caller's network address, when the HTTP layer knows it. */
  sourceAddress?: string;
}

const ACTION_CODE: Record<AuditAction, AuditEvent['action']> = { create: 'C', read: 'R', search: 'E', execute: 'E' };
const INTERACTION: Record<AuditAction, Coding> = {
  create: { system: RESTFUL_INTERACTION, code: 'create', display: 'create' },
  read: { system: RESTFUL_INTERACTION, code: 'read', display: 'read' },
  search: { system: RESTFUL_INTERACTION, code: 'search-type', display: 'search type' },
  execute: { system: RESTFUL_INTERACTION, code: 'operation', display: 'operation' },
};
const OUTCOME_CODE: Record<AuditOutcome, AuditEvent['outcome']> = { success: '0', refused: '4', error: '8' };

export const CALLER_KIND_DISPLAY: Record<CallerKind | 'unauthenticated', string> = {
  provider: 'Care provider system',
  clinician: 'Clinician',
  operator: 'Gateway operator',
  'patient-app': 'App acting for the person',
  research: 'Research environment',
  unauthenticated: 'Unauthenticated caller',
};

function kindCoding(kind: CallerKind | 'unauthenticated'): Coding {
  return { system: CALLER_KIND_SYSTEM, code: kind, display: CALLER_KIND_DISPLAY[kind] };
}

function callerAgent(caller: Caller | undefined, action: AuditAction): AuditEventAgent {
  const type = {
    coding: [
      action === 'create'
        ? { system: PARTICIPATION_TYPE, code: 'AUT', display: 'author (originator)' }
        : { system: PARTICIPATION_TYPE, code: 'IRCP', display: 'information recipient' },
    ],
  };
  if (!caller) return { type, role: [{ coding: [kindCoding('unauthenticated')] }], requestor: true };
  const role = [{ coding: [kindCoding(caller.kind)] }];
  switch (caller.kind) {
    case 'clinician':
      role.push({ coding: [{ system: SDS_JOB_ROLE_SYSTEM, code: caller.role, display: caller.role }] });
      return { type, role, who: { type: 'Practitioner', identifier: { system: SDS_USER_ID_SYSTEM, value: caller.userId } }, requestor: true };
    case 'operator':
      return { type, role, who: { identifier: { system: OPERATOR_ID_SYSTEM, value: caller.userId } }, requestor: true };
    case 'provider':
    case 'patient-app':
    case 'research':
      return { type, role, who: { type: 'Device', identifier: { system: CLIENT_ID_SYSTEM, value: caller.clientId } }, requestor: true };
  }
}

function organisationAgent(caller: Caller | undefined): AuditEventAgent | undefined {
  if (caller?.kind !== 'provider' && caller?.kind !== 'clinician') return undefined;
  return {
    type: { coding: [{ system: PARTICIPATION_TYPE, code: 'RESP', display: 'responsible party' }] },
    who: { type: 'Organization', identifier: { system: ODS_CODE_SYSTEM, value: caller.odsCode } },
    requestor: false,
  };
}

export function auditEvent(input: AuditInput): AuditEvent {
  const agent = callerAgent(input.caller, input.action);
  if (input.sourceAddress) agent.network = { address: input.sourceAddress, type: '2' };
  const organisation = organisationAgent(input.caller);
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    id: randomUUID(),
    meta: { profile: [UKCORE_AUDIT_EVENT] },
    type: { system: AUDIT_EVENT_TYPE, code: 'rest', display: 'RESTful Operation' },
    subtype: [INTERACTION[input.action]],
    action: ACTION_CODE[input.action],
    recorded: (input.recorded ?? new Date()).toISOString(),
    outcome: OUTCOME_CODE[input.outcome],
    outcomeDesc: input.description,
    agent: organisation ? [agent, organisation] : [agent],
    source: {
      observer: { display: GATEWAY_NAME },
      type: [{ system: SOURCE_TYPE, code: '4', display: 'Application Server' }],
    },
  };
  if (input.breakGlassReason !== undefined) {
    event.purposeOfEvent = [{ coding: [{ system: ACT_REASON, code: 'BTG', display: 'break the glass' }], text: input.breakGlassReason }];
  } else if (input.caller?.kind === 'clinician' && input.action !== 'create') {
    event.purposeOfEvent = [{ coding: [{ system: ACT_REASON, code: 'TREAT', display: 'treatment' }] }];
  }
  if (input.nhsNumber !== undefined) {
    event.entity = [
      {
        what: { type: 'Patient', identifier: { system: NHS_NUMBER_SYSTEM, value: normaliseNhsNumber(input.nhsNumber) } },
        type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
        role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
      },
    ];
  }
  return event;
}
