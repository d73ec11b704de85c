/** Identifier systems and deterministic ids shared by mappings, the bundle builder and the read path. */
import { hash as digest } from 'node:crypto';

export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
export const ODS_CODE_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';
/** The gateway's system for provider record ids; values are "<ODS code>/<record type>/<provider record id>". */
export const PROVIDER_RECORD_SYSTEM = 'https://care-record-gateway.dev/fhir/Id/provider-record';

/** A name-based (version 5 style, SHA-1) UUID: the same parts always give the same id, so replays map alike. */
export function deterministicUuid(...parts: string[]): string {
  const hash = digest('sha1', parts.join('\u001f'), 'buffer'); // one call: cheaper than createHash().update().digest()
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
