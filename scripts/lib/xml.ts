/**
 * FHIR XML -> FHIR JSON with FHIR.js (`fhir` package), which VALIDATORS.md measured as faithful on all UK Core
 * files. XML comments come back as a non-standard `fhir_comments` key, which we strip.
 */
import { Fhir } from 'fhir';

const fhir = new Fhir();

function isEmpty(value: unknown): boolean {
  if (Array.isArray(value)) return value.every((v) => v === null || isEmpty(v));
  return value !== null && typeof value === 'object' && Object.keys(value).length === 0;
}

function stripComments(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripComments);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === 'fhir_comments') continue;
    const clean = stripComments(child);
    // A comment before a primitive leaves `_status: {}` behind once its fhir_comments is gone.
    if (key.startsWith('_') && isEmpty(clean)) continue;
    out[key] = clean;
  }
  return out;
}

/** Parses a FHIR resource written as XML into its JSON form. */
export function xmlToResource<T = Record<string, unknown>>(xml: string): T {
  return stripComments(JSON.parse(fhir.xmlToJson(xml))) as T;
}

/** Parses JSON or XML FHIR text, deciding by the first non-blank character. */
export function parseFhirText<T = Record<string, unknown>>(text: string): T {
  return (text.trimStart().startsWith('<') ? xmlToResource(text) : JSON.parse(text)) as T;
}
