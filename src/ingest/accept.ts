/**
 * The ingest stage: provider records in, queued submissions out, all or nothing.
 * For each record: schema check -> NHS number check -> map -> validate against UK Core. Every issue from
 * every record is collected; if any is an error the whole request is refused (422) and nothing is queued.
 * Otherwise each record becomes one submission (one transaction Bundle), committed to the outbox together.
 */
import type { OperationOutcomeIssue } from 'fhir/r4';
import { OperationOutcomeError, badRequest, isError, issue, unprocessable } from '../fhir/operation-outcome';
import { mapRecord, type ProviderRecord } from '../map/map-record';
import type { MappingRegistry } from '../map/mapping-registry';
import { withProvenance } from '../map/provenance';
import { transactionBundle } from '../map/transaction';
import { StaleRecordError, type IdempotencyKey, type NewSubmission, type Outbox } from '../outbox/outbox';
import type { Validator } from '../validate';
import { checkNhsNumber } from './nhs-number';
import type { SchemaChecker } from './schema-check';

export const MAX_BATCH = 1000;

export interface IngestDeps {
  mappings: MappingRegistry;
  schemas: SchemaChecker;
  validator: Validator;
  outbox: Outbox;
  /** Told after each commit, so the delivery worker starts at once instead of at its next poll. */
  onQueued?: () => void;
}

export interface AcceptedRecord {
  type: string;
  recordId: string;
  version: number;
  submissionId: string;
}

/** The body is one record, or { "records": [ ... ] }: returns each record with its path for error messages. */
export function splitBody(body: unknown): { record: unknown; path: string }[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('The body must be a JSON object: one record, or { "records": [...] }', '$');
  }
  if (!('records' in body)) return [{ record: body, path: '' }];
  const records = (body as { records: unknown }).records;
  if (!Array.isArray(records) || records.length === 0) {
    throw unprocessable([issue('error', 'structure', 'records must be a non-empty array', 'records')]);
  }
  if (records.length > MAX_BATCH) {
    throw unprocessable([issue('error', 'too-long', `a batch holds at most ${MAX_BATCH} records`, 'records')]);
  }
  return records.map((record, i) => ({ record, path: `records[${i}]` }));
}

/** Checks, maps and validates one record; returns its submission or the issues that refuse it. */
/** Called for each record once it is known to be well-formed; throws to refuse the request (e.g. 403). */
export type RecordGate = (record: ProviderRecord) => void;

export async function prepareRecord(
  deps: Omit<IngestDeps, 'outbox'>,
  raw: unknown,
  path: string,
  gate?: RecordGate,
): Promise<{ submission?: NewSubmission; record?: ProviderRecord; issues: OperationOutcomeIssue[] }> {
  const schemaIssues = deps.schemas.check(raw, path);
  if (schemaIssues.length > 0) return { issues: schemaIssues };
  const input = raw as ProviderRecord;
  const mapping = deps.mappings.types.get(input.type)!; // the schema check refused unknown types
  const at = (field: string) => (path ? `${path}.${field}` : field);
  let record: ProviderRecord;
  if (mapping.aboutAPerson) {
    const nhs = checkNhsNumber(input.nhsNumber ?? '');
    if (!nhs.ok) return { issues: [issue('error', 'value', nhs.reason, at('nhsNumber'))] };
    record = { ...input, nhsNumber: nhs.value };
  } else {
    // Not about a person: an NHS number sent anyway is dropped, so no one's identity rides on a staff record.
    record = { ...input };
    delete record.nhsNumber;
  }
  gate?.(record);
  const mapped = await mapRecord(mapping, record, path || '$');
  if (!mapped.ok) return { issues: mapped.issues };

  const issues: OperationOutcomeIssue[] = [];
  mapped.resources.forEach((resource, i) => {
    for (const found of deps.validator.validate(resource)) {
      // Point at the mapped resource, so a mapping defect is traceable; the provider field is not known here.
      issues.push({ ...found, diagnostics: `mapped ${resource.resourceType} (output ${i}) does not conform: ${found.diagnostics ?? ''}` });
    }
  });
  if (issues.some(isError)) return { issues: issues.filter(isError) };

  const key = `${record.careProvider.odsCode}/${record.type}/${record.recordId}`;
  const submission: NewSubmission = {
    providerOds: record.careProvider.odsCode,
    // Per-person delivery order; a record about no one is ordered on its own provider record.
    orderingKey: record.nhsNumber ?? key,
    records: [`${record.type}:${record.recordId}@${record.version}`],
    bundle: withProvenance(transactionBundle(mapped.resources, key), record, new Date()),
    version: { record: key, version: record.version },
  };
  return { submission, record, issues };
}

/** "resident:RES-1@3" -> the parts of an accepted record, to answer a repeated Idempotency-Key. */
export function parseRecordRef(ref: string, submissionId: string): AcceptedRecord {
  const match = /^([^:]+):(.+)@(\d+)$/.exec(ref);
  return { type: match?.[1] ?? '', recordId: match?.[2] ?? '', version: Number(match?.[3] ?? 0), submissionId };
}

export async function acceptRecords(
  deps: IngestDeps,
  body: unknown,
  gate?: RecordGate,
  idempotency?: IdempotencyKey,
): Promise<AcceptedRecord[]> {
  const items = splitBody(body);
  const prepared: { submission: NewSubmission; record: ProviderRecord; path: string }[] = [];
  const problems: OperationOutcomeIssue[] = [];
  for (const { record, path } of items) {
    const result = await prepareRecord(deps, record, path, gate);
    if (result.submission && result.record) prepared.push({ submission: result.submission, record: result.record, path });
    else problems.push(...result.issues);
  }
  if (problems.length > 0) throw unprocessable(problems);

  let ids: string[];
  try {
    ids = await deps.outbox.enqueue(prepared.map((p) => p.submission), idempotency);
  } catch (err) {
    if (!(err instanceof StaleRecordError)) throw err;
    throw new OperationOutcomeError(
      409,
      err.stale.map(({ index, version, current }) =>
        issue('error', 'conflict', `version ${version} is older than version ${current} already accepted for this record`, prepared[index].path ? `${prepared[index].path}.version` : 'version'),
      ),
    );
  }
  deps.onQueued?.();
  return prepared.map(({ record }, i) => ({
    type: record.type,
    recordId: record.recordId,
    version: record.version,
    submissionId: ids[i],
  }));
}
