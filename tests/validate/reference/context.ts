/** The per-call state of a validation: where issues go and which resources FHIRPath sees. */
import type { OperationOutcomeIssue } from 'fhir/r4';

export type Severity = OperationOutcomeIssue['severity'];
export type IssueCode = OperationOutcomeIssue['code'];
export type Json = Record<string, unknown>;

export interface Ctx {
  issues: OperationOutcomeIssue[];
  /** %resource for FHIRPath: the resource that holds the element being checked. */
  resource: unknown;
  /** %rootResource: the outermost resource (differs from resource inside contained resources). */
  rootResource: unknown;
}

export function report(ctx: Ctx, severity: Severity, code: IssueCode, expression: string, diagnostics: string): void {
  ctx.issues.push({ severity, code, diagnostics, expression: [expression] });
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A check of one value (one item of an element) at a FHIRPath location. */
export type ValueCheck = (value: unknown, path: string, ctx: Ctx) => void;

/** A check of one element of a parent object: it finds the element's values in the parent itself. */
export type ChildCheck = (parent: Json, path: string, ctx: Ctx) => void;
