/**
 * The claim layout of the access tokens the gateway accepts, and how a verified claim set becomes a Caller.
 *
 * Registered claims follow RFC 9068 (JWT profile for OAuth 2.0 access tokens); the gateway's own claims
 * carry a `crg_` prefix so they can never collide with an identity provider's:
 *
 *   iss        issuer, must equal AUTH_ISSUER                                  (checked by jose)
 *   aud        must contain AUTH_AUDIENCE                                      (checked by jose)
 *   exp, nbf   expiry and not-before, with AUTH_CLOCK_SKEW_S tolerance; exp is required
 *   iat        issued at (optional)
 *   sub        the user id (clinician, operator) or the client id (provider, patient-app)
 *   client_id  the OAuth client; when present it is the clientId of a provider or patient-app
 *   scope      space-separated SMART on FHIR scopes: "system/*.write", "user/*.read", "patient/AuditEvent.read"
 *   crg_kind   "provider" | "clinician" | "operator" | "patient-app" | "research" — never inferred from other claims
 *   crg_ods    ODS code the caller acts for: the care provider (provider) or the GP practice (clinician)
 *   crg_role   clinician only: the NHS CIS2 national RBAC role (the selected role, e.g. "R8000")
 *   crg_nhs    patient-app only: the NHS number of the one person the app acts for
 *   crg_project research only: the one de-identified extract project the research environment serves
 *
 * An identity provider that speaks NHS CIS2 maps its claims at token exchange: the selected role's
 * `org_code` to crg_ods and its `role_code` to crg_role. A claim set that does not fit this layout is an
 * invalid token (401), not a caller with fewer rights.
 */
import type { JWTPayload } from 'jose';
import { checkNhsNumber } from '../ingest/nhs-number';
import { CALLER_KINDS, isOdsCode, isProjectName, normaliseOdsCode, type Caller, type CallerKind } from './caller';

export const CLAIM = {
  kind: 'crg_kind',
  ods: 'crg_ods',
  role: 'crg_role',
  nhsNumber: 'crg_nhs',
  project: 'crg_project',
  scope: 'scope',
  clientId: 'client_id',
} as const;

/** Why a verified token still does not describe a caller. The message names the claim, never its value. */
export class ClaimsError extends Error {
  override name = 'ClaimsError';
}

const MAX_ID_LENGTH = 256;
const MAX_SCOPES = 50;

function text(payload: JWTPayload, claim: string, maxLength = MAX_ID_LENGTH): string {
  const value = payload[claim];
  if (typeof value !== 'string' || value.trim() === '') throw new ClaimsError(`claim ${claim} is missing`);
  if (value.length > maxLength) throw new ClaimsError(`claim ${claim} is too long`);
  return value.trim();
}

function odsCode(payload: JWTPayload): string {
  const value = text(payload, CLAIM.ods);
  if (!isOdsCode(value)) throw new ClaimsError(`claim ${CLAIM.ods} is not an ODS code`);
  return normaliseOdsCode(value);
}

function scopes(payload: JWTPayload): string[] {
  const value = payload[CLAIM.scope];
  if (value === undefined) return [];
  if (typeof value !== 'string') throw new ClaimsError(`claim ${CLAIM.scope} must be a space-separated string`);
  const list = value.split(/\s+/).filter((s) => s !== '');
  if (list.length > MAX_SCOPES) throw new ClaimsError(`claim ${CLAIM.scope} lists too many scopes`);
  return [...new Set(list)];
}

function clientId(payload: JWTPayload, sub: string): string {
  return payload[CLAIM.clientId] === undefined ? sub : text(payload, CLAIM.clientId);
}

export function callerFromClaims(payload: JWTPayload): Caller {
  const sub = text(payload, 'sub');
  const kind = text(payload, CLAIM.kind);
  if (!(CALLER_KINDS as readonly string[]).includes(kind)) throw new ClaimsError(`claim ${CLAIM.kind} is not a known kind`);
  switch (kind as CallerKind) {
    case 'provider':
      return { kind: 'provider', clientId: clientId(payload, sub), odsCode: odsCode(payload), scopes: scopes(payload) };
    case 'clinician':
      return {
        kind: 'clinician',
        userId: sub,
        odsCode: odsCode(payload),
        role: text(payload, CLAIM.role, 64),
        scopes: scopes(payload),
      };
    case 'operator':
      return { kind: 'operator', userId: sub, scopes: scopes(payload) };
    case 'patient-app': {
      const nhs = checkNhsNumber(text(payload, CLAIM.nhsNumber, 16));
      if (!nhs.ok) throw new ClaimsError(`claim ${CLAIM.nhsNumber} is not a valid NHS number`);
      return { kind: 'patient-app', clientId: clientId(payload, sub), nhsNumber: nhs.value, scopes: scopes(payload) };
    }
    case 'research': {
      const project = text(payload, CLAIM.project, 64);
      if (!isProjectName(project)) throw new ClaimsError(`claim ${CLAIM.project} is not a project name`);
      return { kind: 'research', clientId: clientId(payload, sub), project, scopes: scopes(payload) };
    }
  }
}

/** The claims (besides iss, aud, iat, exp) that describe a caller: the inverse of callerFromClaims. */
export function claimsForCaller(caller: Caller): JWTPayload {
  const scope = caller.scopes.join(' ');
  switch (caller.kind) {
    case 'provider':
      return { sub: caller.clientId, [CLAIM.kind]: caller.kind, [CLAIM.ods]: caller.odsCode, scope };
    case 'clinician':
      return { sub: caller.userId, [CLAIM.kind]: caller.kind, [CLAIM.ods]: caller.odsCode, [CLAIM.role]: caller.role, scope };
    case 'operator':
      return { sub: caller.userId, [CLAIM.kind]: caller.kind, scope };
    case 'patient-app':
      return { sub: caller.clientId, [CLAIM.kind]: caller.kind, [CLAIM.nhsNumber]: caller.nhsNumber, scope };
    case 'research':
      return { sub: caller.clientId, [CLAIM.kind]: caller.kind, [CLAIM.project]: caller.project, scope };
  }
}
