/**
 * Gap: Medplum's in-memory search cannot evaluate every parameter, and does not say so. Measured on 4.5.2:
 * an unknown parameter (Observation?patinet=...), a chained one (Observation?patient.identifier=...) and
 * _has all answer 200 with total 0; _include, _revinclude, _summary and _elements are ignored. A client
 * bug would look like "no data". The development SCR refuses them with 400 instead, so the gateway finds
 * out in tests (it has no chained search and no includes, by design: many production SCRs lack them).
 */
import { getSearchParameter } from '@medplum/core';

/** Result parameters this server honours; other parameters must be R4 search parameters of the type. */
const RESULT_PARAMETERS = new Set(['_count', '_offset', '_sort', '_total', '_format', '_pretty']);

/** The first search parameter name the development SCR cannot evaluate, if any. */
export function unsupportedSearchParameter(resourceType: string, url: string): string | undefined {
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  for (const name of new URLSearchParams(query).keys()) {
    const code = name.split(':')[0];
    if (RESULT_PARAMETERS.has(code)) continue;
    if (code.includes('.') || !getSearchParameter(resourceType, code)) return name;
  }
  return undefined;
}
