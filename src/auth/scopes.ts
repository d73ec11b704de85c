/**
 * SMART on FHIR scopes, v1 ("user/*.read", "system/Patient.write") and v2 ("system/Patient.cu",
 * "patient/AuditEvent.rs"). Scopes add up: a caller holds a permission on a resource type when any of its
 * scopes in the right context grants it. Scopes with v2 search restrictions ("?category=...") are not
 * understood here and grant nothing: deny by default.
 */

export type ScopeContext = 'patient' | 'user' | 'system';
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

interface Scope {
  context: ScopeContext;
  resourceType: string;
  permissions: Set<Permission>;
}

const SCOPE = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]{0,63})\.(read|write|\*|c?r?u?d?s?)$/;

const V1: Record<string, Permission[]> = {
  read: ['r', 's'],
  write: ['c', 'u', 'd'],
  '*': ['c', 'r', 'u', 'd', 's'],
};

export function parseScope(text: string): Scope | undefined {
  const match = SCOPE.exec(text);
  if (!match || match[3] === '') return undefined;
  const [, context, resourceType, access] = match;
  const permissions = V1[access] ?? (access.split('') as Permission[]);
  return { context: context as ScopeContext, resourceType, permissions: new Set(permissions) };
}

/** True when the scopes, together, grant every permission on every one of the resource types ('*' = all). */
export function grants(
  scopes: readonly string[],
  context: ScopeContext,
  resourceTypes: readonly string[],
  permissions: readonly Permission[],
): boolean {
  const parsed = scopes.map(parseScope).filter((s): s is Scope => s !== undefined && s.context === context);
  return resourceTypes.every((type) =>
    permissions.every((p) =>
      parsed.some((s) => (s.resourceType === '*' || s.resourceType === type) && s.permissions.has(p)),
    ),
  );
}

/** True when any scope in the context parses, whatever it grants. */
export function hasContext(scopes: readonly string[], context: ScopeContext): boolean {
  return scopes.some((s) => parseScope(s)?.context === context);
}
