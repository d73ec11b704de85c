/**
 * One error type carries a FHIR OperationOutcome; the HTTP status is derived from it here, in one place.
 * Stages collect issues and return them; only the HTTP adapter turns them into a response.
 */
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';

export type IssueSeverity = OperationOutcomeIssue['severity'];
export type IssueCode = OperationOutcomeIssue['code'];

export function issue(
  severity: IssueSeverity,
  code: IssueCode,
  diagnostics: string,
  expression?: string | string[],
): OperationOutcomeIssue {
  const result: OperationOutcomeIssue = { severity, code, diagnostics };
  if (expression !== undefined) result.expression = Array.isArray(expression) ? expression : [expression];
  return result;
}

export function outcome(issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

export function isError(i: OperationOutcomeIssue): boolean {
  return i.severity === 'error' || i.severity === 'fatal';
}

/** An error whose answer is an OperationOutcome with a fitting HTTP status. */
export class OperationOutcomeError extends Error {
  override name = 'OperationOutcomeError';
  readonly outcome: OperationOutcome;
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(status: number, issues: OperationOutcomeIssue[], headers: Record<string, string> = {}) {
    super(issues.map((i) => i.diagnostics ?? i.code).join('; '));
    this.status = status;
    this.outcome = outcome(issues);
    this.headers = headers;
  }
}

export const badRequest = (diagnostics: string, expression?: string): OperationOutcomeError =>
  new OperationOutcomeError(400, [issue('error', 'structure', diagnostics, expression)]);

export const unprocessable = (issues: OperationOutcomeIssue[]): OperationOutcomeError =>
  new OperationOutcomeError(422, issues);

export const notFound = (diagnostics: string): OperationOutcomeError =>
  new OperationOutcomeError(404, [issue('error', 'not-found', diagnostics)]);

export const conflict = (diagnostics: string, expression?: string): OperationOutcomeError =>
  new OperationOutcomeError(409, [issue('error', 'conflict', diagnostics, expression)]);

/** What a caller sees for any error we did not expect: no message, no stack, no upstream detail. */
export function internalError(requestId?: string): OperationOutcome {
  const suffix = requestId ? ` (request id ${requestId})` : '';
  return outcome([issue('fatal', 'exception', `Internal error${suffix}`)]);
}
