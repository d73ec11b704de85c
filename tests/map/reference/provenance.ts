/**
 * Every submission carries a UK Core Provenance: what it wrote (every entry of the transaction), who sent
 * it (the care provider, by ODS code), through which system and, when the record names them, the care worker
 * who recorded it (their staff record's Practitioner). Its id is deterministic per record version,
 * and it is PUT by id, so a replay or re-delivery updates the same Provenance instead of adding another.
 */
import type { Bundle, Provenance, ProvenanceAgent } from 'fhir/r4';
import type { ProviderRecord } from '../../../src/map/map-record';
import { deterministicUuid, ODS_CODE_SYSTEM, PROVIDER_RECORD_SYSTEM } from './identifiers';

export const UKCORE_PROVENANCE = 'https://fhir.hl7.org.uk/StructureDefinition/UKCore-Provenance';
const PROVENANCE_AGENT_TYPE = 'http://terminology.hl7.org/CodeSystem/provenance-participant-type';

/**
 * The care worker who recorded it, as the author. A logical reference by the staff record's identifier, not a
 * conditional one: the staff record may be delivered after this one (it has its own ordering key), and a
 * conditional reference to a Practitioner the SCR does not hold yet would fail the whole transaction.
 */
function recorderAgent(record: ProviderRecord): ProvenanceAgent[] {
  if (!record.recordedByStaffRecordId) return [];
  const ods = record.careProvider.odsCode;
  return [
    {
      type: { coding: [{ system: PROVENANCE_AGENT_TYPE, code: 'author', display: 'Author' }] },
      who: { type: 'Practitioner', identifier: { system: PROVIDER_RECORD_SYSTEM, value: `${ods}/staff/${record.recordedByStaffRecordId}` } },
      onBehalfOf: { type: 'Organization', identifier: { system: ODS_CODE_SYSTEM, value: ods } },
    },
  ];
}

export function provenanceOf(record: ProviderRecord, bundle: Bundle, acceptedAt: Date): Provenance {
  const key = `${record.careProvider.odsCode}/${record.type}/${record.recordId}`;
  return {
    resourceType: 'Provenance',
    id: deterministicUuid(key, 'provenance', String(record.version)),
    meta: { profile: [UKCORE_PROVENANCE] },
    target: (bundle.entry ?? []).map((e) => ({ reference: e.fullUrl })),
    recorded: record.recordedAt ?? acceptedAt.toISOString(),
    activity: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: record.version > 1 ? 'UPDATE' : 'CREATE' }],
    },
    agent: [
      {
        type: { coding: [{ system: PROVENANCE_AGENT_TYPE, code: 'custodian', display: 'Custodian' }] },
        who: {
          type: 'Organization',
          identifier: { system: ODS_CODE_SYSTEM, value: record.careProvider.odsCode },
          display: record.careProvider.name,
        },
      },
      {
        type: { coding: [{ system: PROVENANCE_AGENT_TYPE, code: 'assembler', display: 'Assembler' }] },
        who: { type: 'Device', display: record.sourceSystem },
        onBehalfOf: { type: 'Organization', identifier: { system: ODS_CODE_SYSTEM, value: record.careProvider.odsCode } },
      },
      ...recorderAgent(record),
    ],
  };
}

/** Adds the submission's Provenance to its transaction Bundle. */
export function withProvenance(bundle: Bundle, record: ProviderRecord, acceptedAt: Date): Bundle {
  const provenance = provenanceOf(record, bundle, acceptedAt);
  return {
    ...bundle,
    entry: [...(bundle.entry ?? []), { fullUrl: `urn:uuid:${provenance.id}`, resource: provenance, request: { method: 'PUT', url: `Provenance/${provenance.id}` } }],
  };
}
