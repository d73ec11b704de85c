/**
 * Compiles StructureDefinitions into checker closures, once. Each definition (resource, datatype, profile,
 * extension) gets one check; element checks delegate to the check of their type or type profile, so a
 * datatype is compiled once however often it is used. Recursion (Extension in Extension, Questionnaire.item)
 * goes through a holder filled in after compilation.
 */
import type { StructureDefinition } from 'fhir/r4';
import { buildTree, type Definitions, type ElementNode } from './definitions';
import { type Ctx, isObject, report, type ValueCheck } from './context';
import { compileComplex, type ElementEnv, type Tree } from './elements';
import { compileConstraints } from './invariants';
import { Source, lazy, later, literal } from './generate';
import { isPrimitiveType, primitiveCheck, primitiveCondition } from './primitives';
import { compileBinding, compileCodeSystemCheck, ValueSets } from './terminology';
import { deepEqual, describe, matchesPattern } from './values';

const BASE = 'http://hl7.org/fhir/StructureDefinition/';
const NO_PROFILES: readonly never[] = [];
const REFERENCE = /^(?:https?:\/\/\S+\/)?([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** A canonical URL without its `|version`. */
function withoutVersion(url: string): string {
  const bar = url.indexOf('|');
  return bar < 0 ? url : url.slice(0, bar);
}

/** Checks generated code may skip when a condition on the value holds: check -> the condition's source. */
const conditions = new WeakMap<ValueCheck, (v: string, constant: (value: unknown) => string) => string | undefined>();

function primitiveValueCheck(code: string): ValueCheck {
  const problemOf = primitiveCheck(code);
  const check: ValueCheck = (value, path, ctx) => {
    const problem = problemOf(value);
    if (problem) report(ctx, 'error', problem.startsWith('must be a JSON') ? 'structure' : 'value', path, problem);
  };
  conditions.set(check, (v, constant) => primitiveCondition(code, v, constant) ?? 'true');
  return check;
}

/** The checks one after another, as one generated function (each call site then sees one target). */
function combine(checks: ValueCheck[], label: string): ValueCheck {
  if (checks.length === 1 && !conditions.has(checks[0])) return checks[0];
  return lazy(() => {
    const src = new Source();
    for (const check of checks) {
      const condition = conditions.get(check)?.('value', (value) => src.constant(value));
      if (condition === 'true') continue;
      src.line(condition ? `if (!(${condition})) ${src.call(check)}` : src.call(check));
    }
    return src.build<ValueCheck>(label, 'value, path, ctx');
  });
}

export class Compiler implements ElementEnv {
  readonly valueSets: ValueSets;
  private readonly codeSystemCheck: ValueCheck;
  private readonly trees = new Map<string, Tree>();
  private readonly definitionChecks = new Map<string, ValueCheck>();
  private readonly complexChecks = new Map<ElementNode, ValueCheck>();
  private readonly resourceTypeChecks = new Map<string, ValueCheck>();

  constructor(private readonly defs: Definitions) {
    this.valueSets = new ValueSets(defs.valueSets);
    this.codeSystemCheck = compileCodeSystemCheck(defs.codeSystems);
  }

  structure(url: string): StructureDefinition | undefined {
    return this.defs.structures.get(withoutVersion(url));
  }

  /** The check of a resource type's base definition, or undefined if the type is no resource; found once per type. */
  private baseResourceCheck(type: string): ValueCheck | undefined {
    let check = this.resourceTypeChecks.get(type);
    if (!check && this.structure(BASE + type)?.kind === 'resource') {
      check = this.definitionCheck(BASE + type);
      this.resourceTypeChecks.set(type, check); // only real types: input cannot grow the map
    }
    return check;
  }

  private tree(url: string): Tree | undefined {
    let tree = this.trees.get(url);
    if (!tree) {
      const sd = this.structure(url);
      if (!sd) return undefined;
      tree = { ...buildTree(sd), kind: sd.kind };
      this.trees.set(url, tree);
    }
    return tree;
  }

  profileType(url: string): string | undefined {
    return this.structure(url)?.type;
  }

  typeRoot(node: ElementNode): ElementNode | undefined {
    const type = node.types[0];
    if (!type) return undefined;
    const profile = type.profile?.[0];
    return (profile ? this.tree(profile)?.root : undefined) ?? this.tree(BASE + type.code)?.root;
  }

  /** The check of a value against a whole definition (datatype, extension or profile of either, or resource). */
  definitionCheck(url: string): ValueCheck {
    const key = withoutVersion(url);
    const existing = this.definitionChecks.get(key);
    if (existing) return existing;
    const { check, set } = later();
    this.definitionChecks.set(key, check);
    const tree = this.tree(key);
    const sd = this.structure(key);
    if (!tree || !sd) return check;
    const resourceType = sd.kind === 'resource' ? sd.type : undefined;
    const complex = compileComplex(tree.root, tree, this, { resourceType, constraints: true });
    if (!resourceType) {
      set(complex);
      return check;
    }
    set(
      lazy(() => {
        const src = new Source();
        const [isObj, reportFn, describeFn] = [isObject, report, describe].map((v) => src.constant(v));
        src.line(`if (${isObj}(value) && value.resourceType !== ${literal(resourceType)}) {`);
        src.line(`${reportFn}(ctx, 'error', 'structure', path, ${literal(`Expected resourceType ${resourceType}, found `)} + ${describeFn}(value.resourceType));`);
        src.line('return;');
        src.line('}');
        src.line(src.call(complex));
        return src.build<ValueCheck>(key, 'value, path, ctx');
      }),
    );
    return check;
  }

  /** Profile URLs as resources claim them (with or without a version) -> their definition; only known ones. */
  private readonly knownProfiles = new Map<string, { key: string; type: string | undefined; check: ValueCheck }>();

  /** A claimed profile's definition (key, type and check), or undefined if it is not known; found once per URL. */
  private knownProfile(profile: string): { key: string; type: string | undefined; check: ValueCheck } | undefined {
    let known = this.knownProfiles.get(profile);
    if (known === undefined) {
      const key = withoutVersion(profile);
      const sd = this.defs.structures.get(key);
      if (!sd) return undefined;
      known = { key, type: sd.type, check: this.definitionCheck(key) };
      this.knownProfiles.set(profile, known); // only known definitions: input cannot grow the map
    }
    return known;
  }

  /** A resource (top level, contained, or in a Bundle) against its base definition and each profile it claims. */
  readonly resourceCheck = (value: unknown, path: string, ctx: Ctx, extraProfiles: readonly string[] = NO_PROFILES): void => {
    if (!isObject(value) || typeof value.resourceType !== 'string') {
      report(ctx, 'error', 'structure', path, 'Expected a resource: a JSON object with a resourceType');
      return;
    }
    const type = value.resourceType;
    const baseCheck = this.baseResourceCheck(type);
    if (!baseCheck) {
      report(ctx, 'error', 'structure', path, `Unknown resource type '${type}'`);
      return;
    }
    const claimed = isObject(value.meta) && Array.isArray(value.meta.profile) ? (value.meta.profile as readonly unknown[]) : NO_PROFILES;
    // One check (almost always: one claimed profile) needs no arrays; `more` holds them all once there are two.
    let first: ValueCheck | undefined;
    let more: ValueCheck[] | undefined;
    let seen: string[] | undefined;
    const count = claimed.length + extraProfiles.length;
    for (let i = 0; i < count; i++) {
      const profile = i < claimed.length ? claimed[i] : extraProfiles[i - claimed.length];
      if (typeof profile !== 'string') continue;
      const known = this.knownProfile(profile);
      if (count > 1) {
        const key = known ? known.key : withoutVersion(profile);
        if ((seen ??= []).includes(key)) continue;
        seen.push(key);
      }
      if (!known || known.type !== type) {
        const at = i < claimed.length ? `${path}.meta.profile[${i}]` : path;
        if (!known) report(ctx, 'warning', 'not-supported', at, `Profile ${profile} is not known; checked against the base ${type} only`);
        else report(ctx, 'error', 'structure', at, `Profile ${profile} is for ${known.type}, not ${type}`);
      } else if (first === undefined) first = known.check;
      else (more ??= [first]).push(known.check);
    }
    // At the top, the caller's context already names this resource: no second one.
    const inner: Ctx = ctx.resource === value && ctx.rootResource != null ? ctx : { issues: ctx.issues, resource: value, rootResource: ctx.rootResource ?? value };
    if (!more) {
      (first ?? baseCheck)(value, path, inner);
      return;
    }
    const start = ctx.issues.length;
    for (const check of more) check(value, path, inner);
    const keys = new Set<string>();
    const unique = ctx.issues.splice(start).filter((issue) => {
      const k = `${issue.severity}|${issue.code}|${issue.expression?.[0]}|${issue.diagnostics}`;
      return keys.has(k) ? false : (keys.add(k), true);
    });
    ctx.issues.push(...unique);
  };

  private readonly extensionCheck: ValueCheck = (value, path, ctx) => {
    const url = isObject(value) && typeof value.url === 'string' ? withoutVersion(value.url) : undefined;
    if (url && this.structure(url)?.type === 'Extension') {
      this.definitionCheck(url)(value, path, ctx);
      return;
    }
    this.definitionCheck(BASE + 'Extension')(value, path, ctx);
    if (!url) return;
    // An unknown url in the UK Core or HL7 namespace is most likely a misspelling; elsewhere it may be local.
    const ours = url.startsWith('https://fhir.hl7.org.uk/') || url.startsWith(BASE);
    report(ctx, ours ? 'warning' : 'information', ours ? 'not-found' : 'informational', path, `Extension ${url} is not known; only its structure was checked`);
  };

  /** A modifier extension nobody here understands changes the meaning of the resource: an error. */
  private readonly modifierExtensionCheck: ValueCheck = (value, path, ctx) => {
    const url = isObject(value) && typeof value.url === 'string' ? withoutVersion(value.url) : undefined;
    if (url && this.structure(url)?.type === 'Extension') {
      this.definitionCheck(url)(value, path, ctx);
      return;
    }
    this.definitionCheck(BASE + 'Extension')(value, path, ctx);
    if (url) report(ctx, 'error', 'not-supported', path, `Modifier extension ${url} is not known, so the resource cannot be processed safely`);
  };

  private complexCheck(node: ElementNode, tree: Tree, skipValue = false): ValueCheck {
    let check = skipValue ? undefined : this.complexChecks.get(node);
    if (!check) {
      const filled = later();
      check = filled.check;
      if (!skipValue) this.complexChecks.set(node, check);
      filled.set(compileComplex(node, tree, this, { skipValue }));
    }
    return check;
  }

  primitiveElementCheck(node: ElementNode, tree: Tree): ValueCheck {
    return node.children.length ? this.complexCheck(node, tree, true) : this.definitionCheck(BASE + 'Element');
  }

  constraintChecks(node: ElementNode): ValueCheck[] {
    return compileConstraints(node);
  }

  private structureCheck(node: ElementNode, typeCode: string, tree: Tree): ValueCheck {
    if (typeCode.startsWith('http://hl7.org/fhirpath/')) {
      const code = node.name === 'id' && tree.kind === 'resource' && node.path.split('.').length === 2 ? 'id' : typeCode;
      return primitiveValueCheck(code);
    }
    if (isPrimitiveType(typeCode)) return primitiveValueCheck(typeCode);
    if (node.children.length) {
      // The profile unrolled this datatype's children; its own invariants (qty-3, ext-1...) still apply.
      const typeRoot = typeCode === 'BackboneElement' || typeCode === 'Element' ? undefined : this.tree(BASE + typeCode)?.root;
      return combine([this.complexCheck(node, tree), ...(typeRoot ? compileConstraints(typeRoot) : [])], node.id);
    }
    if (node.contentReference) {
      const target = tree.byId.get(node.contentReference.slice(1));
      if (target) return this.complexCheck(target, tree);
    }
    if (typeCode === 'Resource' || this.structure(BASE + typeCode)?.kind === 'resource') {
      return (value, path, ctx) => this.resourceCheck(value, path, ctx);
    }
    const profile = node.types.find((t) => t.code === typeCode)?.profile?.[0];
    if (profile && this.structure(profile)) return this.definitionCheck(profile);
    if (typeCode === 'Extension' && node.name === 'modifierExtension' && !profile) return this.modifierExtensionCheck;
    if (typeCode === 'Extension') {
      if (profile) {
        return (value, path, ctx) => {
          this.extensionCheck(value, path, ctx);
          report(ctx, 'information', 'informational', path, `Extension definition ${profile} is not available; not checked`);
        };
      }
      return this.extensionCheck;
    }
    return this.definitionCheck(BASE + typeCode);
  }

  private referenceCheck(node: ElementNode, typeCode: string): ValueCheck | undefined {
    const targets = node.types.find((t) => t.code === typeCode)?.targetProfile ?? [];
    const types = targets.map((t) => this.profileType(t));
    // An unknown target profile could be of any type: then the type is not checked.
    if (!types.length || types.some((t) => t === undefined || t === 'Resource')) return undefined;
    const allowed = new Set(types as string[]);
    const shown = [...allowed].join(', ');
    return (value, path, ctx) => {
      if (!isObject(value)) return;
      if (typeof value.type === 'string' && !allowed.has(value.type)) {
        report(ctx, 'error', 'structure', `${path}.type`, `Reference type ${value.type} is not allowed here (${shown})`);
      }
      const match = typeof value.reference === 'string' ? REFERENCE.exec(value.reference) : null;
      if (match && !allowed.has(match[1])) {
        report(ctx, 'error', 'structure', `${path}.reference`, `Reference to ${match[1]} is not allowed here (${shown})`);
      }
    };
  }

  itemCheck(node: ElementNode, typeCode: string, tree: Tree): ValueCheck {
    const checks: ValueCheck[] = [this.structureCheck(node, typeCode, tree)];
    if (node.fixed !== undefined) {
      const fixed = node.fixed;
      checks.push((value, path, ctx) => {
        if (!deepEqual(value, fixed)) report(ctx, 'error', 'value', path, `Value must be exactly ${describe(fixed)}`);
      });
    }
    if (node.pattern !== undefined) {
      const pattern = node.pattern;
      checks.push((value, path, ctx) => {
        if (!matchesPattern(value, pattern)) report(ctx, 'error', 'value', path, `Value must match the pattern ${describe(pattern)}`);
      });
    }
    const binding = compileBinding(node, typeCode, this.valueSets);
    if (binding) checks.push(binding);
    if (typeCode === 'Coding') checks.push(this.codeSystemCheck);
    if (typeCode === 'Reference') {
      const reference = this.referenceCheck(node, typeCode);
      if (reference) checks.push(reference);
    }
    if (node.maxLength) {
      const max = node.maxLength;
      checks.push((value, path, ctx) => {
        if (typeof value === 'string' && value.length > max) report(ctx, 'error', 'value', path, `Longer than maxLength ${max}`);
      });
    }
    checks.push(...compileConstraints(node));
    return combine(checks, `${node.id} ${typeCode}`);
  }

  /** Compiles every definition now, so the first validation pays nothing. */
  compileAll(): void {
    for (const url of this.defs.structures.keys()) this.definitionCheck(url);
  }
}
