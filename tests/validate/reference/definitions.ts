/**
 * Loads profiles/ (written by `npm run profiles`) and turns each StructureDefinition snapshot into a tree of
 * element nodes: children by path, slices under the element they slice.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ElementDefinition, ElementDefinitionSlicing, StructureDefinition } from 'fhir/r4';

export interface TypeRef {
  code: string;
  profile?: string[];
  targetProfile?: string[];
}

export interface ElementNode {
  id: string;
  path: string;
  /** Last path segment, e.g. `value[x]`. */
  name: string;
  sliceName?: string;
  min: number;
  max: number;
  /** Whether the element is a JSON array: from the base definition's max, not the profile's. */
  isArray: boolean;
  types: TypeRef[];
  contentReference?: string;
  fixed?: unknown;
  pattern?: unknown;
  binding?: { strength: string; valueSet: string };
  constraints: { key: string; severity: string; human: string; expression: string }[];
  slicing?: ElementDefinitionSlicing;
  slices: ElementNode[];
  children: ElementNode[];
  maxLength?: number;
}

export interface Definitions {
  structures: Map<string, StructureDefinition>;
  valueSets: Record<string, { codes: Record<string, string[]> } | { unexpandable: string }>;
  /** Complete UK Core CodeSystems: url -> codes. */
  codeSystems: Record<string, string[]>;
}

function parseMax(max: string | undefined): number {
  return max === undefined || max === '*' ? Infinity : Number(max);
}

function toNode(e: ElementDefinition): ElementNode {
  const record = e as unknown as Record<string, unknown>;
  let fixed: unknown;
  let pattern: unknown;
  for (const key of Object.keys(record)) {
    if (key.startsWith('fixed')) fixed = record[key];
    else if (key.startsWith('pattern')) pattern = record[key];
  }
  const segments = e.path.split('.');
  const baseMax = e.base?.max ?? e.max;
  return {
    id: e.id ?? e.path,
    path: e.path,
    name: segments[segments.length - 1],
    sliceName: e.sliceName,
    min: e.min ?? 0,
    max: parseMax(e.max),
    isArray: segments.length > 1 && baseMax !== '1' && baseMax !== '0',
    types: (e.type ?? []) as TypeRef[],
    contentReference: e.contentReference,
    fixed,
    pattern,
    binding: e.binding?.valueSet ? { strength: e.binding.strength, valueSet: e.binding.valueSet.split('|')[0] } : undefined,
    constraints: (e.constraint ?? []).map((c) => ({
      key: c.key,
      severity: c.severity,
      human: c.human,
      expression: c.expression as string,
    })),
    slicing: e.slicing,
    slices: [],
    children: [],
    maxLength: e.maxLength,
  };
}

/** Builds the element tree of a snapshot and returns its root. */
export function buildTree(sd: StructureDefinition): { root: ElementNode; byId: Map<string, ElementNode> } {
  const elements = sd.snapshot?.element ?? [];
  const byId = new Map<string, ElementNode>();
  let root: ElementNode | undefined;
  for (const element of elements) {
    const node = toNode(element);
    byId.set(node.id, node);
    if (!root) {
      root = node;
      continue;
    }
    const dot = node.id.lastIndexOf('.');
    const parentId = node.id.slice(0, dot);
    const last = node.id.slice(dot + 1);
    const colon = last.indexOf(':');
    if (colon >= 0) byId.get(`${parentId}.${last.slice(0, colon)}`)?.slices.push(node);
    else byId.get(parentId)?.children.push(node);
  }
  if (!root) throw new Error(`${sd.url} has no snapshot`);
  return { root, byId };
}

export function readDefinitions(dir: string): Definitions {
  const read = <T>(file: string): T => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as T;
  const structures = new Map<string, StructureDefinition>();
  for (const file of ['r4-base.json', 'ukcore.json']) {
    for (const sd of read<StructureDefinition[]>(file)) structures.set(sd.url, sd);
  }
  const codeSystems = fs.existsSync(path.join(dir, 'codesystems.json')) ? read<Record<string, string[]>>('codesystems.json') : {};
  return { structures, valueSets: read('valuesets.json'), codeSystems };
}
