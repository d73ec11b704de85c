/**
 * What each caller may do: every rule in this one module, deny by default. Handlers ask
 * authorize(caller, action) and act on the Decision; they never look at caller kinds or scopes themselves.
 *
 *   records.write      provider, for its own ODS code only; system scope granting create+update
 *                      (system/*.write, system/*.cu, or per resource type when the action lists them)
 *   submission.read    provider, its own submissions only; any system scope
 *   record.read        clinician; user scope granting read+search (user/*.read, or per resource type);
 *                      the person registered at the caller's practice, or break-glass with a stated reason
 *   validate           any authenticated caller
 *   admin              operator only
 *   transparency.read  patient-app acting for that person with patient/AuditEvent.read (or patient/*.read);
 *                      or an operator
 *   extract.read       de-identified extract: an operator (any project), or a research environment for its own
 *                      project only, with a system read scope (system/*.read)
 *   aggregates.read    small-number-suppressed counts: an operator, or a research environment with system/*.read
 *   opt-outs.write     register National Data Opt-outs: operator only
 *
 * Operators never read clinical content; providers never read the shared record; patient apps see only
 * their own person's transparency log.
 */
import { checkNhsNumber } from '../ingest/nhs-number';
import { CALLER_KINDS, normaliseOdsCode, type Caller } from './caller';
import { grants, hasContext } from './scopes';

export type Action =
  /** resourceTypes: the types being written; absent means any, which needs a wildcard scope. */
  | { type: 'records.write'; providerOds: string; resourceTypes?: string[] }
  | { type: 'submission.read'; providerOds: string }
  /** resourceTypes: the types being read; absent means any ($everything), which needs a wildcard scope. */
  | { type: 'record.read'; gpOdsCodes: string[]; breakGlassReason?: string; resourceTypes?: string[] }
  | { type: 'validate' }
  | { type: 'admin' }
  | { type: 'transparency.read'; nhsNumber: string }
  | { type: 'extract.read'; project: string }
  | { type: 'aggregates.read' }
  | { type: 'opt-outs.write' };

export type Decision = { allow: true; breakGlass?: boolean } | { allow: false; status: 403; reason: string };

/** A break-glass reason must say something: at least this many characters once trimmed. */
export const BREAK_GLASS_MIN_LENGTH = 10;
export const BREAK_GLASS_MAX_LENGTH = 500;

const allow: Decision = { allow: true };
const deny = (reason: string): Decision => ({ allow: false, status: 403, reason });

function sameOrganisation(a: string, b: string): boolean {
  return normaliseOdsCode(a) === normaliseOdsCode(b) && a.trim() !== '';
}

function samePerson(a: string, b: string): boolean {
  const left = checkNhsNumber(a);
  const right = checkNhsNumber(b);
  return left.ok && right.ok && left.value === right.value;
}

function typesOf(resourceTypes: string[] | undefined): string[] {
  return resourceTypes && resourceTypes.length > 0 ? resourceTypes : ['*'];
}

export function breakGlassReasonIsStated(reason: string | undefined): reason is string {
  if (reason === undefined) return false;
  const trimmed = reason.trim();
  return trimmed.length >= BREAK_GLASS_MIN_LENGTH && trimmed.length <= BREAK_GLASS_MAX_LENGTH;
}

function recordsWrite(caller: Caller, action: Extract<Action, { type: 'records.write' }>): Decision {
  if (caller.kind !== 'provider') return deny('Only a care provider system may submit records');
  if (!sameOrganisation(caller.odsCode, action.providerOds)) {
    return deny('A care provider may submit records only for its own ODS code');
  }
  if (!grants(caller.scopes, 'system', typesOf(action.resourceTypes), ['c', 'u'])) {
    return deny('The token lacks a system write scope (system/*.write) for these records');
  }
  return allow;
}

function submissionRead(caller: Caller, action: Extract<Action, { type: 'submission.read' }>): Decision {
  if (caller.kind !== 'provider') return deny('Only the submitting care provider system may read a submission');
  if (!sameOrganisation(caller.odsCode, action.providerOds)) {
    return deny('A care provider may read only its own submissions');
  }
  if (!hasContext(caller.scopes, 'system')) return deny('The token has no system scope');
  return allow;
}

function recordRead(caller: Caller, action: Extract<Action, { type: 'record.read' }>): Decision {
  if (caller.kind !== 'clinician') return deny('Only a clinician may read the shared care record');
  if (!grants(caller.scopes, 'user', typesOf(action.resourceTypes), ['r', 's'])) {
    return deny('The token lacks a user read scope (user/*.read) for this record');
  }
  if (action.gpOdsCodes.some((ods) => sameOrganisation(ods, caller.odsCode))) return allow;
  if (action.breakGlassReason !== undefined) {
    if (breakGlassReasonIsStated(action.breakGlassReason)) return { allow: true, breakGlass: true };
    return deny(
      `A break-glass reason must be ${BREAK_GLASS_MIN_LENGTH} to ${BREAK_GLASS_MAX_LENGTH} characters`,
    );
  }
  return deny("The person is not registered at the caller's practice; break-glass needs a stated reason");
}

function transparencyRead(caller: Caller, action: Extract<Action, { type: 'transparency.read' }>): Decision {
  if (caller.kind === 'operator') return allow;
  if (caller.kind !== 'patient-app') return deny('Only an app acting for the person, or an operator, may read this log');
  if (!samePerson(caller.nhsNumber, action.nhsNumber)) return deny('The app acts for a different person');
  if (!grants(caller.scopes, 'patient', ['AuditEvent'], ['r'])) {
    return deny('The token lacks the patient/AuditEvent.read scope');
  }
  return allow;
}

function extractRead(caller: Caller, action: Extract<Action, { type: 'extract.read' }>): Decision {
  if (caller.kind === 'operator') return allow;
  if (caller.kind !== 'research') return deny('Only a research environment or an operator may read a de-identified extract');
  // One environment per project: otherwise a caller could pull two projects and link their pseudonyms.
  if (caller.project !== action.project) return deny('A research environment may extract only for its own project');
  if (!grants(caller.scopes, 'system', ['*'], ['r', 's'])) return deny('The token lacks the system/*.read scope');
  return allow;
}

function aggregatesRead(caller: Caller): Decision {
  if (caller.kind === 'operator') return allow;
  if (caller.kind !== 'research') return deny('Only a research environment or an operator may read the aggregates');
  if (!grants(caller.scopes, 'system', ['*'], ['r', 's'])) return deny('The token lacks the system/*.read scope');
  return allow;
}

export function authorize(caller: Caller, action: Action): Decision {
  switch (action.type) {
    case 'records.write':
      return recordsWrite(caller, action);
    case 'submission.read':
      return submissionRead(caller, action);
    case 'record.read':
      return recordRead(caller, action);
    case 'validate':
      return CALLER_KINDS.includes(caller.kind) ? allow : deny('Unknown caller');
    case 'admin':
      return caller.kind === 'operator' ? allow : deny('Only an operator may use the admin API');
    case 'transparency.read':
      return transparencyRead(caller, action);
    case 'extract.read':
      return extractRead(caller, action);
    case 'aggregates.read':
      return aggregatesRead(caller);
    case 'opt-outs.write':
      return caller.kind === 'operator' ? allow : deny('Only an operator may register opt-outs');
    default:
      return deny('Unknown action');
  }
}
