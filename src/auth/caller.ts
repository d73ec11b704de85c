/**
 * Who is calling, as the authenticator established it from a verified bearer token. Every rule about what
 * a caller may do lives in policy.ts; this file only says what kinds of caller there are.
 */

export type Caller =
  /** A care provider's record system (application-restricted): its client id is bound to one ODS code. */
  | { kind: 'provider'; clientId: string; odsCode: string; scopes: string[] }
  /** A clinician user, e.g. a GP, with the practice ODS code and the role NHS CIS2 gave them. */
  | { kind: 'clinician'; userId: string; odsCode: string; role: string; scopes: string[] }
  /** Someone who runs the gateway: admin API only, never clinical content. */
  | { kind: 'operator'; userId: string; scopes: string[] }
  /** A patient-facing app acting for one person, for the transparency log only. */
  | { kind: 'patient-app'; clientId: string; nhsNumber: string; scopes: string[] }
  /** A research environment's client (application-restricted), bound to the one extract project it serves. */
  | { kind: 'research'; clientId: string; project: string; scopes: string[] };

export type CallerKind = Caller['kind'];

export const CALLER_KINDS: readonly CallerKind[] = ['provider', 'clinician', 'operator', 'patient-app', 'research'];

/** An extract project's name: letters, digits, dot, dash, underscore; it names a pseudonym key, so it is case-sensitive. */
const PROJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isProjectName(name: string): boolean {
  return PROJECT_NAME.test(name);
}

/** ODS organisation codes: 3 to 10 letters and digits (e.g. Y12345, RR8, A81001), compared in upper case. */
const ODS_CODE = /^[A-Z0-9]{3,10}$/;

export function normaliseOdsCode(code: string): string {
  return code.trim().toUpperCase();
}

export function isOdsCode(code: string): boolean {
  return ODS_CODE.test(normaliseOdsCode(code));
}

/** The organisation a caller acts for, if it has one. */
export function callerOdsCode(caller: Caller): string | undefined {
  return caller.kind === 'provider' || caller.kind === 'clinician' ? caller.odsCode : undefined;
}
