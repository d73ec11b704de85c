/**
 * Differential -> snapshot for constraint profiles, on base definitions that already carry snapshots.
 *
 * The algorithm is the usual one: copy the base snapshot, then for each differential element find (or create)
 * the snapshot element with the same id and overlay the differential on it. Elements that do not exist yet are
 * created by
 *  - slicing: a new slice copies the unsliced element and its children, and goes after the existing slices;
 *  - unrolling: children of a datatype (Identifier.system under Patient.identifier) come from the datatype's
 *    own snapshot, or from the type profile when the element names one (an extension slice's profile).
 * Fixes known from VALIDATORS.md are built in: extension slices get default slicing by url, and a new slice's
 * min starts at 0 (not the parent's min) unless the differential says otherwise.
 */
import type { ElementDefinition, StructureDefinition } from 'fhir/r4';

export type Resolve = (url: string) => StructureDefinition | undefined;

const KEEP_FROM_DIFF_SKIP = new Set(['id', 'path', 'sliceName', 'constraint', 'slicing', 'extension']);

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Splits an element id into its parent id and last segment; slice names never contain '.'. */
function splitId(id: string): { parent: string; last: string } {
  const dot = id.lastIndexOf('.');
  return dot < 0 ? { parent: '', last: id } : { parent: id.slice(0, dot), last: id.slice(dot + 1) };
}

function rebase(element: ElementDefinition, fromId: string, toId: string, fromPath: string, toPath: string) {
  const copy = clone(element);
  copy.id = toId + (element.id ?? element.path).slice(fromId.length);
  copy.path = toPath + element.path.slice(fromPath.length);
  return copy;
}

export class SnapshotBuilder {
  private readonly elements: ElementDefinition[];
  readonly warnings: string[] = [];

  constructor(
    base: StructureDefinition,
    private readonly resolve: Resolve,
    private readonly label: string,
  ) {
    this.elements = clone(base.snapshot?.element ?? []);
    for (const e of this.elements) e.id ??= e.path;
  }

  private indexOf(id: string): number {
    return this.elements.findIndex((e) => e.id === id);
  }

  /** Index after the last element belonging to `id` (its children and slices). */
  private endOfGroup(index: number): number {
    const id = this.elements[index].id as string;
    let end = index + 1;
    while (end < this.elements.length) {
      const other = this.elements[end].id as string;
      if (!other.startsWith(id + '.') && !other.startsWith(id + ':')) break;
      end++;
    }
    return end;
  }

  private hasChildren(index: number): boolean {
    const id = this.elements[index].id as string;
    return this.elements[index + 1]?.id?.startsWith(id + '.') ?? false;
  }

  /** Adds the children of a datatype (or contentReference target) under the element at `index`. */
  private unroll(index: number, childName: string): boolean {
    const parent = this.elements[index];
    const parentId = parent.id as string;
    let source: ElementDefinition[] | undefined;
    let rootId = '';
    let rootPath = '';
    if (parent.contentReference) {
      rootPath = parent.contentReference.slice(1);
      rootId = rootPath;
      source = this.elements.filter((e) => e.path.startsWith(rootPath + '.') && !(e.id ?? '').includes(':'));
    } else {
      const types = parent.type ?? [];
      for (const type of types) {
        const profile = type.profile?.[0];
        const sd =
          (profile ? this.resolve(profile) : undefined) ??
          this.resolve(`http://hl7.org/fhir/StructureDefinition/${type.code}`);
        const elements = sd?.snapshot?.element;
        if (!elements) continue;
        const root = elements[0];
        const name = childName.replace(/:.*$/, '');
        const match = elements.some((e) => e.path === `${root.path}.${name}`);
        if (types.length > 1 && !match) continue;
        rootId = root.id ?? root.path;
        rootPath = root.path;
        source = elements.slice(1);
        break;
      }
    }
    if (!source) return false;
    const children = source.map((e) => rebase(e, rootId, parentId, rootPath, parent.path));
    this.elements.splice(index + 1, 0, ...children);
    return true;
  }

  /** Finds the element with this id, creating it by slicing or unrolling; -1 if it cannot exist. */
  ensure(id: string): number {
    const found = this.indexOf(id);
    if (found >= 0) return found;
    const { parent, last } = splitId(id);
    if (!parent) return -1;
    const colon = last.indexOf(':');
    if (colon >= 0) return this.createSlice(parent, last.slice(0, colon), last.slice(colon + 1));
    const parentIndex = this.ensure(parent);
    if (parentIndex < 0) return -1;
    if (!this.hasChildren(parentIndex) && this.unroll(parentIndex, last)) return this.indexOf(id);
    // An old-style renamed choice (Observation.valueQuantity) maps onto Observation.value[x].
    const choice = this.elements.findIndex(
      (e) => e.id?.startsWith(parent + '.') && e.id.endsWith('[x]') && last.startsWith(splitId(e.id).last.slice(0, -3)),
    );
    return choice;
  }

  private createSlice(parent: string, name: string, sliceName: string): number {
    const unslicedId = parent ? `${parent}.${name}` : name;
    const baseIndex = this.ensure(unslicedId);
    if (baseIndex < 0) return -1;
    const sliceId = `${unslicedId}:${sliceName}`;
    // Unrolling a type profile to reach the unsliced element may have brought the slice with it.
    const existing = this.indexOf(sliceId);
    if (existing >= 0) return existing;
    const base = this.elements[baseIndex];
    if (!base.slicing && (name === 'extension' || name === 'modifierExtension')) {
      base.slicing = { discriminator: [{ type: 'value', path: 'url' }], rules: 'open', ordered: false };
    }
    const group: ElementDefinition[] = [];
    for (let i = baseIndex + 1; i < this.elements.length; i++) {
      const e = this.elements[i];
      if (e.id?.startsWith(unslicedId + '.')) group.push(e);
      else if (!e.id?.startsWith(unslicedId + ':')) break;
    }
    const slice = clone(base);
    delete slice.slicing;
    slice.id = sliceId;
    slice.sliceName = sliceName;
    slice.min = 0;
    const copies = group.map((e) => rebase(e, unslicedId, sliceId, base.path, base.path));
    const at = this.endOfGroup(baseIndex);
    this.elements.splice(at, 0, slice, ...copies);
    return at;
  }

  apply(diff: ElementDefinition): void {
    const id = diff.id ?? diff.path;
    const index = this.ensure(id);
    if (index < 0) {
      this.warnings.push(`${this.label}: differential element ${id} has no place in the base`);
      return;
    }
    const target = this.elements[index] as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(diff)) {
      if (KEEP_FROM_DIFF_SKIP.has(key)) continue;
      if (key.startsWith('fixed') || key.startsWith('pattern')) {
        for (const old of Object.keys(target)) if (old.startsWith('fixed') || old.startsWith('pattern')) delete target[old];
      }
      target[key] = clone(value);
    }
    const element = this.elements[index];
    if (diff.slicing) element.slicing = { ...element.slicing, ...clone(diff.slicing) };
    if (diff.constraint) {
      const keys = new Set((element.constraint ?? []).map((c) => c.key));
      element.constraint = [...(element.constraint ?? []), ...clone(diff.constraint).filter((c) => !keys.has(c.key))];
    }
  }

  result(): ElementDefinition[] {
    return this.elements;
  }
}

/** Builds the snapshot of a constraint profile whose base is resolvable with a snapshot. */
export function generateSnapshot(sd: StructureDefinition, resolve: Resolve): { sd: StructureDefinition; warnings: string[] } {
  const base = sd.baseDefinition ? resolve(sd.baseDefinition) : undefined;
  if (!base?.snapshot) throw new Error(`${sd.url}: base ${sd.baseDefinition} has no snapshot`);
  const builder = new SnapshotBuilder(base, resolve, sd.name ?? sd.url);
  for (const diff of sd.differential?.element ?? []) builder.apply(diff);
  return { sd: { ...sd, snapshot: { element: builder.result() } }, warnings: builder.warnings };
}
