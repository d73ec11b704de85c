/**
 * The ingest stage: provider records in, queued submissions out, all or nothing.
 * For each record: schema check -> NHS number check -> map -> validate against UK Core. Every issue from
 * every record is collected; if any is an error the whole request is refused (422) and nothing is queued.
 * Otherwise each record becomes one submission (one transaction Bundle), committed to the outbox together.
 */
import type { OperationOutcomeIssue, Resource } from 'fhir/r4';
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

/** What preparing a record needs; loaded once per process, and once per thread of a prepare pool. */
export interface PrepareDeps {
  mappings: MappingRegistry;
  schemas: SchemaChecker;
  validator: Validator;
}

/** Records to prepare, each with its path for error messages. */
export interface PrepareItem {
  raw: unknown;
  path: string;
}

/** Prepares many records at once, answers in the same order: in process, or on worker threads (prepare-pool.ts). */
export interface Preparer {
  prepare(items: PrepareItem[]): Promise<PreparedRecord[]>;
}

export interface IngestDeps extends PrepareDeps {
  outbox: Outbox;
  /** Where records are checked, mapped and validated; absent, in process with these deps. */
  preparer?: Preparer;
  /** Told after each commit, so the delivery worker starts at once instead of at its next poll. */
  onQueued?: () => void;
  /** Told after each commit what was accepted (secondary uses); absent, ingest is unchanged. Must not throw. */
  onAccepted?: (accepted: AcceptedSubmission[]) => void;
}

/** A record committed to the outbox, with the resources its submission carries. */
export interface AcceptedSubmission {
  record: ProviderRecord;
  resources: Resource[];
  /** Those of `resources` sent as a conditional create: another record type keeps them whole. */
  createOnly?: ReadonlySet<Resource>;
}

export function acceptedSubmission(record: ProviderRecord, submission: NewSubmission): AcceptedSubmission {
  const entries = (submission.bundle.entry ?? []).filter((e) => e.resource);
  const createOnly = new Set(entries.filter((e) => e.request?.ifNoneExist).map((e) => e.resource!));
  return { record, resources: entries.map((e) => e.resource!), createOnly };
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

/** Called for each record once it is known to be well-formed; throws to refuse the request (e.g. 403). */
export type RecordGate = (record: ProviderRecord) => void;

/**
 * What preparing one record gave: `record` (normalised) once it passed the schema and NHS number checks, so the
 * caller can apply its gate; `submission` when it also mapped and validated; otherwise the issues refusing it.
 */
export interface PreparedRecord {
  submission?: NewSubmission;
  record?: ProviderRecord;
  issues: OperationOutcomeIssue[];
}

/** Checks, maps and validates one record; returns its submission or the issues that refuse it. */
export async function prepareRecord(deps: PrepareDeps, raw: unknown, path: string): Promise<PreparedRecord> {
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
  const mapped = await mapRecord(mapping, record, path || '$');
  if (!mapped.ok) return { record, issues: mapped.issues };

  const issues: OperationOutcomeIssue[] = [];
  let errors = false;
  for (let i = 0; i < mapped.resources.length; i++) {
    const resource = mapped.resources[i];
    const prefix = `mapped ${resource.resourceType} (output ${i}) does not conform: `;
    // The validator's issues are new objects of this call: reworded in place rather than copied.
    for (const found of deps.validator.validate(resource)) {
      // Point at the mapped resource, so a mapping defect is traceable; the provider field is not known here.
      found.diagnostics = prefix + (found.diagnostics ?? '');
      errors ||= isError(found);
      issues.push(found);
    }
  }
  if (errors) return { record, issues: issues.filter(isError) };

  const key = `${record.careProvider.odsCode}/${record.type}/${record.recordId}`;
  const submission: NewSubmission = {
    providerOds: record.careProvider.odsCode,
    // Per-person delivery order; a record about no one is ordered on its own provider record.
    orderingKey: record.nhsNumber ?? key,
    records: [`${record.type}:${record.recordId}@${record.version}`],
    bundle: withProvenance(transactionBundle(mapped.resources, key, mapping.createOnly), record, new Date()),
    version: { record: key, version: record.version },
  };
  return { submission, record, issues };
}

/** Prepares each item with the deps' preparer, or in process, one after another, when there is none. */
export async function prepareAll(deps: IngestDeps, items: PrepareItem[]): Promise<PreparedRecord[]> {
  if (deps.preparer) return deps.preparer.prepare(items);
  const results: PreparedRecord[] = [];
  for (const { raw, path } of items) results.push(await prepareRecord(deps, raw, path));
  return results;
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
  const items = splitBody(body).map(({ record, path }) => ({ raw: record, path }));
  const results = await prepareAll(deps, items);
  const prepared: { submission: NewSubmission; record: ProviderRecord; path: string }[] = [];
  const problems: OperationOutcomeIssue[] = [];
  results.forEach((result, i) => {
    // The gate sees every well-formed record, in order, whatever its mapping gave: a record the caller may
    // not send refuses the request (403) even if another record's issues would have refused it (422).
    if (result.record) gate?.(result.record);
    if (result.submission && result.record) prepared.push({ submission: result.submission, record: result.record, path: items[i].path });
    else problems.push(...result.issues);
  });
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
  deps.onAccepted?.(prepared.map((p) => acceptedSubmission(p.record, p.submission)));
  return prepared.map(({ record }, i) => ({
    type: record.type,
    recordId: record.recordId,
    version: record.version,
    submissionId: ids[i],
  }));
}
