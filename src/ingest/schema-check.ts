/**
 * JSON Schema checks for provider records with ajv: the envelope every record carries, then the record
 * type's own `data` schema. Every problem becomes an OperationOutcome issue naming the provider field.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { OperationOutcomeIssue } from 'fhir/r4';
import { issue } from '../fhir/operation-outcome';
import type { MappingRegistry } from '../map/mapping-registry';

export interface SchemaChecker {
  /** Issues for the record at `path` ('' for a single record, 'records[3]' in a batch). */
  check(record: unknown, path: string): OperationOutcomeIssue[];
}

/** '/data/name/given/0' -> 'data.name.given[0]', prefixed by the record's own path. */
export function fieldPath(base: string, instancePath: string, child?: string): string {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  let out = base;
  for (const part of parts) out += /^\d+$/.test(part) ? `[${part}]` : out === '' ? part : `.${part}`;
  return out === '' ? '$' : out;
}

function toIssue(error: ErrorObject, base: string): OperationOutcomeIssue {
  switch (error.keyword) {
    case 'required': {
      const missing = (error.params as { missingProperty: string }).missingProperty;
      return issue('error', 'required', `${missing} is required`, fieldPath(base, error.instancePath, missing));
    }
    case 'additionalProperties': {
      const extra = (error.params as { additionalProperty: string }).additionalProperty;
      return issue('error', 'structure', `${extra} is not a known field`, fieldPath(base, error.instancePath, extra));
    }
    case 'enum': {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues.join(', ');
      return issue('error', 'code-invalid', `must be one of: ${allowed}`, fieldPath(base, error.instancePath));
    }
    default:
      return issue('error', 'value', error.message ?? 'is not valid', fieldPath(base, error.instancePath));
  }
}

export function createSchemaChecker(registry: MappingRegistry): SchemaChecker {
  const ajv = new Ajv({ allErrors: true, strict: true });
  addFormats(ajv, ['date', 'date-time']);
  const envelope = ajv.compile(registry.envelopeSchema);
  const dataSchemas = new Map<string, ValidateFunction>();
  for (const [type, mapping] of registry.types) dataSchemas.set(type, ajv.compile(mapping.schema));

  return {
    check(record, path) {
      if (!envelope(record)) return (envelope.errors ?? []).map((e) => toIssue(e, path));
      const { type, data } = record as { type: string; data: unknown };
      const validateData = dataSchemas.get(type);
      if (!validateData) {
        const known = [...dataSchemas.keys()].join(', ');
        return [issue('error', 'not-supported', `Unknown record type "${type}"; known: ${known}`, fieldPath(path, '/type'))];
      }
      const issues = validateData(data) ? [] : (validateData.errors ?? []).map((e) => toIssue(e, fieldPath(path, '/data')));
      // The envelope leaves nhsNumber optional; a record about a person must carry it.
      if (registry.types.get(type)?.aboutAPerson !== false && (record as { nhsNumber?: unknown }).nhsNumber === undefined) {
        issues.unshift(issue('error', 'required', 'nhsNumber is required', fieldPath(path, '', 'nhsNumber')));
      }
      return issues;
    },
  };
}
