/**
 * Broken copies of an official example, each breaking one rule, with where the validator must point.
 * Which element to break is read from the example's profile snapshot (profiles/), so every example gets
 * the mutations that apply to it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ElementDefinition, Resource, StructureDefinition } from 'fhir/r4';

export interface Mutation {
  rule: string;
  resource: Resource;
  expression: string;
  code: string;
}

type Json = Record<string, unknown>;

const profilesDir = path.resolve(__dirname, '..', '..', 'profiles');
const structures = new Map<string, StructureDefinition>();
for (const file of ['r4-base.json', 'ukcore.json']) {
  for (const sd of JSON.parse(fs.readFileSync(path.join(profilesDir, file), 'utf8')) as StructureDefinition[]) {
    structures.set(sd.url, sd);
  }
}
const valueSets = JSON.parse(fs.readFileSync(path.join(profilesDir, 'valuesets.json'), 'utf8')) as Record<string, Json>;

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Top-level elements (Type.x) of the snapshot, without slices. */
function topLevel(sd: StructureDefinition): ElementDefinition[] {
  return (sd.snapshot?.element ?? []).filter((e) => e.path.split('.').length === 2 && !e.id?.includes(':'));
}

function keyOf(e: ElementDefinition, resource: Json): string | undefined {
  const name = e.path.split('.')[1];
  if (!name.endsWith('[x]')) return resource[name] !== undefined ? name : undefined;
  return Object.keys(resource).find((k) => k.startsWith(name.slice(0, -3)) && /^[A-Z]/.test(k.slice(name.length - 3)));
}

function removeRequired(sd: StructureDefinition, resource: Json, type: string): Mutation | undefined {
  for (const e of topLevel(sd)) {
    const key = keyOf(e, resource);
    if ((e.min ?? 0) < 1 || !key) continue;
    const broken = clone(resource);
    delete broken[key];
    delete broken['_' + key];
    const shown = e.path.split('.')[1].replace('[x]', '');
    return { rule: `required ${e.path} removed`, resource: broken as unknown as Resource, expression: `${type}.${shown}`, code: 'required' };
  }
  return undefined;
}

/** Inside the first item of a top-level element: a required child removed (Patient.link[0].other). */
function removeNestedRequired(sd: StructureDefinition, resource: Json, type: string): Mutation | undefined {
  for (const e of sd.snapshot?.element ?? []) {
    const parts = e.path.split('.');
    if (parts.length !== 3 || e.id?.includes(':') || (e.min ?? 0) < 1 || parts[2].endsWith('[x]')) continue;
    const parentValue = resource[parts[1]];
    const parent = (Array.isArray(parentValue) ? parentValue[0] : parentValue) as Json | undefined;
    if (!parent || typeof parent !== 'object' || parent[parts[2]] === undefined) continue;
    const broken = clone(resource);
    const brokenParentValue = broken[parts[1]];
    const brokenParent = (Array.isArray(brokenParentValue) ? brokenParentValue[0] : brokenParentValue) as Json;
    delete brokenParent[parts[2]];
    delete brokenParent['_' + parts[2]];
    if (Object.keys(brokenParent).length === 0) continue;
    const at = Array.isArray(parentValue) ? `${type}.${parts[1]}[0]` : `${type}.${parts[1]}`;
    return { rule: `required ${e.path} removed`, resource: broken as unknown as Resource, expression: `${at}.${parts[2]}`, code: 'required' };
  }
  return undefined;
}

function wrongRequiredCode(sd: StructureDefinition, resource: Json, type: string): Mutation | undefined {
  for (const e of topLevel(sd)) {
    const key = keyOf(e, resource);
    const vs = e.binding?.valueSet?.split('|')[0];
    if (!key || e.binding?.strength !== 'required' || !vs || !valueSets[vs]?.codes) continue;
    const broken = clone(resource);
    const value = broken[key];
    if (typeof value === 'string') broken[key] = 'not-a-code';
    else if (Array.isArray(value) && typeof value[0] === 'string') value[0] = 'not-a-code';
    else continue;
    const expression = Array.isArray(value) ? `${type}.${key}[0]` : `${type}.${key}`;
    return { rule: `wrong code in required binding of ${e.path}`, resource: broken as unknown as Resource, expression, code: 'code-invalid' };
  }
  return undefined;
}

function badNhsNumber(sd: StructureDefinition, resource: Json, type: string): Mutation | undefined {
  const slice = sd.snapshot?.element.find(
    (e) => e.id === `${type}.identifier:nhsNumber.system` && e.fixedUri === 'https://fhir.nhs.uk/Id/nhs-number',
  );
  if (!slice) return undefined;
  const broken = clone(resource);
  const identifiers = ((broken.identifier as Json[] | undefined) ?? []).filter((i) => i.system !== 'https://fhir.nhs.uk/Id/nhs-number');
  identifiers.push({ system: 'https://fhir.nhs.uk/Id/nhs-number' });
  broken.identifier = identifiers;
  const expression = `${type}.identifier[${identifiers.length - 1}].value`;
  return { rule: 'NHS number identifier without a value', resource: broken as unknown as Resource, expression, code: 'required' };
}

function unknownElement(resource: Json, type: string): Mutation {
  const broken = { ...clone(resource), careHomeRoom: '12B' };
  return { rule: 'unknown element', resource: broken as unknown as Resource, expression: `${type}.careHomeRoom`, code: 'structure' };
}

function brokenInvariant(resource: Json, type: string): Mutation {
  const broken = clone(resource);
  if (type === 'Bundle') {
    // bdl-1: total only when a search or history
    broken.type = 'collection';
    broken.total = 1;
    return { rule: 'bdl-1 broken', resource: broken as unknown as Resource, expression: 'Bundle', code: 'invariant' };
  }
  // dom-3: a contained resource nobody references
  broken.contained = [{ resourceType: 'Binary', id: 'orphan', contentType: 'text/plain' }];
  return { rule: 'dom-3 broken', resource: broken as unknown as Resource, expression: type, code: 'invariant' };
}

function wrongType(resource: Json, type: string): Mutation {
  const broken = { ...clone(resource), id: 42 };
  return { rule: 'id as a JSON number', resource: broken as unknown as Resource, expression: `${type}.id`, code: 'structure' };
}

/** A complex element (an object, or an array of them) replaced by a string. */
function complexAsString(resource: Json, type: string): Mutation | undefined {
  const key = Object.keys(resource).find((k) => {
    const v = resource[k];
    return !k.startsWith('_') && !['meta', 'text', 'contained'].includes(k) && typeof (Array.isArray(v) ? v[0] : v) === 'object';
  });
  if (!key) return undefined;
  const broken = { ...clone(resource), [key]: 'not an object' };
  return { rule: `${key} as a JSON string`, resource: broken as unknown as Resource, expression: `${type}.${key}`, code: 'structure' };
}

export function mutationsOf(resource: Resource, profile: string | undefined): Mutation[] {
  const type = resource.resourceType;
  const sd = structures.get(profile ?? `http://hl7.org/fhir/StructureDefinition/${type}`);
  if (!sd) throw new Error(`no definition for ${profile ?? type}`);
  const json = resource as unknown as Json;
  return [
    removeRequired(sd, json, type) ?? removeNestedRequired(sd, json, type),
    wrongRequiredCode(sd, json, type),
    badNhsNumber(sd, json, type),
    unknownElement(json, type),
    brokenInvariant(json, type),
    wrongType(json, type),
    complexAsString(json, type),
  ].filter((m): m is Mutation => m !== undefined);
}
