import fs from 'node:fs';
import path from 'node:path';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import type { StructureDefinition } from 'fhir/r4';
import { surelyTrueOf } from '../../src/validate/surely-true';

const profilesDir = path.resolve(__dirname, '..', '..', 'profiles');
const PER_1 = 'start.hasValue().not() or end.hasValue().not() or (start <= end)';
const PPC_1 = "patient.exists() or scope.coding.where(system='something' and code='patient-privacy').exists().not()";
const AIT_2 =
  "verificationStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification' and code = 'entered-in-error').empty() or clinicalStatus.empty()";

/** What fhirpath.js says the invariant is, on `value` as an element at `base`. */
function evaluated(base: string, expression: string, value: unknown): unknown {
  try {
    return fhirpath.evaluate(value, base.includes('.') ? { base, expression } : expression, { resource: value, rootResource: value }, r4);
  } catch (error) {
    return `threw ${(error as Error).message}`;
  }
}

/** Every invariant in profiles/ with the element path it applies at. */
function invariants(): { base: string; expression: string }[] {
  const found = new Map<string, { base: string; expression: string }>();
  for (const file of ['r4-base.json', 'ukcore.json']) {
    for (const sd of JSON.parse(fs.readFileSync(path.join(profilesDir, file), 'utf8')) as StructureDefinition[]) {
      for (const element of sd.snapshot?.element ?? []) {
        for (const c of element.constraint ?? []) {
          if (c.expression) found.set(`${element.path} ${c.expression}`, { base: element.path, expression: c.expression });
        }
      }
    }
  }
  return [...found.values()];
}

/** Elements built from the names an expression mentions: absent, empty, objects, arrays, primitives, pairs. */
function candidates(expression: string): Record<string, unknown>[] {
  const names = [...new Set(expression.match(/\b[a-z][A-Za-z0-9]*\b/g) ?? [])].filter((n) => !['or', 'and', 'xor', 'implies', 'where', 'exists', 'empty', 'not'].includes(n));
  const shapes: unknown[] = [{}, [], [{}], { coding: [{ system: 'something', code: 'research' }] }, 'text', '2026-01-01', [null], { id: 'x' }];
  const out: Record<string, unknown>[] = [{}];
  for (const a of names) {
    for (const shape of shapes) {
      out.push({ [a]: shape });
      for (const b of names) if (b !== a) out.push({ [a]: shape, [b]: '2025-01-01' }, { [a]: shape, [b]: { coding: [{ code: 'entered-in-error' }] } });
    }
  }
  return out;
}

describe('invariants settled without FHIRPath', () => {
  it('are settled only where fhirpath.js finds them true, for every invariant of the definitions that can be', () => {
    let shortcuts = 0;
    let settled = 0;
    const wrong: string[] = [];
    for (const { base, expression } of invariants()) {
      const surelyTrue = surelyTrueOf(expression, base);
      if (!surelyTrue) continue;
      shortcuts++;
      for (const value of candidates(expression)) {
        if (!surelyTrue(value)) continue;
        settled++;
        const result = evaluated(base, expression, value);
        if (JSON.stringify(result) !== '[true]') wrong.push(`${base}: ${expression} on ${JSON.stringify(value)} -> ${JSON.stringify(result)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(shortcuts).toBeGreaterThan(50);
    expect(settled).toBeGreaterThan(1000);
  }, 120_000);

  it('settles per-1 for a period with no end, and leaves a period with both ends to FHIRPath', () => {
    const surelyTrue = surelyTrueOf(PER_1)!;
    expect(surelyTrue({ start: '2026-01-01' })).toBe(true);
    expect(surelyTrue({ start: '2026-01-02', end: '2026-01-01' })).toBe(false);
    expect(surelyTrue({ start: '2026-01-02', _end: { extension: [] } })).toBe(false);
  });

  it('settles ppc-1 when the Consent names a patient, and not when it does not', () => {
    const surelyTrue = surelyTrueOf(PPC_1)!;
    expect(surelyTrue({ patient: { reference: 'Patient/1' } })).toBe(true);
    expect(surelyTrue({ patient: [], scope: { text: 'x' } })).toBe(true); // a scope with no coding: the where() finds nothing
    expect(surelyTrue({ scope: { coding: [{ system: 'something', code: 'patient-privacy' }] } })).toBe(false);
    expect(surelyTrue({})).toBe(true); // no scope: the where() finds nothing
  });

  it('settles a where() disjunct when its first step is absent, or when it reaches no coding', () => {
    const surelyTrue = surelyTrueOf(AIT_2)!;
    expect(surelyTrue({ clinicalStatus: { text: 'active' } })).toBe(true);
    expect(surelyTrue({ verificationStatus: { text: 'x' }, clinicalStatus: { text: 'active' } })).toBe(true);
    expect(surelyTrue({ verificationStatus: { text: 'x', coding: 'x' }, clinicalStatus: { text: 'active' } })).toBe(false);
  });

  it('leaves expressions with a top-level xor or implies, or no disjunct of a known form, to FHIRPath', () => {
    expect(surelyTrueOf('a.exists() xor b.exists()')).toBeUndefined();
    expect(surelyTrueOf('a.empty() implies b.exists()')).toBeUndefined();
    expect(surelyTrueOf("(status = 'not-done' and statusReason.exists())")).toBeUndefined();
    expect(surelyTrueOf('a.empty() and b.exists()')).toBeUndefined();
  });

  /** Each value the shortcut settles must be one fhirpath.js finds true; returns how many it settled. */
  function settledRightly(base: string, expression: string, values: unknown[]): number {
    const surelyTrue = surelyTrueOf(expression, base)!;
    const wrong = values.filter((v) => surelyTrue(v) && JSON.stringify(evaluated(base, expression, v)) !== '[true]');
    expect(wrong).toEqual([]);
    return values.filter((v) => surelyTrue(v)).length;
  }

  it('settles per-1 for dates of one precision and dateTimes to the second, only where fhirpath.js finds start <= end', () => {
    const times = [
      '2026', '2025', '2026-01', '2026-02', '2026-01-01', '2026-01-02', '2025-12-31', '2025-02-29', '2024-02-29', '2026-13-01',
      '2026-01-01T10:00:00Z', '2026-01-01T10:00:01Z', '2026-01-01T11:00:00+01:00', '2026-01-01T11:00:01+01:00',
      '2026-01-01T09:59:59-00:30', '2026-01-01T10:00:00+01:00', '2026-01-01T10:00:00.5Z', '2026-01-01T10:00Z', '2026-01-01T10:00:00', '2026-01-01T24:00:00Z',
      '2026-01-01T23:59:60Z', '2026-01-01T10:00:00+14:00', '0001-01-01', '0050-06-01',
    ];
    const values: unknown[] = [];
    for (const start of times) for (const end of times) values.push({ start, end });
    values.push({ start: ['2026'], end: '2027' }, { start: '2026', end: 2027 }, { start: '2026', _start: { extension: [] }, end: '2027' });
    expect(settledRightly('Period', PER_1, values)).toBeGreaterThan(20);
    expect(surelyTrueOf(PER_1, 'Period')!({ start: '2026-01-01T10:00:00+01:00', end: '2026-01-01T10:00:00+01:00' })).toBe(true);
    expect(surelyTrueOf(PER_1, 'Period')!({ start: '2026-01-01T11:00:00+01:00', end: '2026-01-01T10:00:00Z' })).toBe(false);
    expect(surelyTrueOf(PER_1, 'Period')!({ start: '2026-01', end: '2026-01-02' })).toBe(false);
  });

  it("settles a where() on codings when every coding has another system or code, as ait-2's verificationStatus does", () => {
    const coding = (system: unknown, code: unknown) => ({ coding: [{ system, code }] });
    const verification = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification';
    const statuses = [
      coding(verification, 'confirmed'), coding(verification, 'entered-in-error'), coding('other', 'entered-in-error'),
      coding([verification], 'entered-in-error'), coding(verification, ['entered-in-error']), coding(undefined, 'entered-in-error'),
      coding(verification, undefined), { coding: [{ system: verification, code: 'confirmed' }, { system: verification, code: 'entered-in-error' }] },
      { coding: [null] }, { coding: ['x'] }, { coding: { system: verification, code: 'entered-in-error' } }, [coding(verification, 'entered-in-error')],
      { coding: [{ system: verification, code: 'entered-in-error' }], _coding: [{ id: 'x' }] }, { text: 'x' }, 'confirmed',
    ];
    const values = statuses.map((verificationStatus) => ({ verificationStatus, clinicalStatus: coding('x', 'active') }));
    expect(settledRightly('AllergyIntolerance', AIT_2, values)).toBe(3);
    expect(surelyTrueOf(AIT_2)!(values[0])).toBe(true);
    expect(surelyTrueOf(AIT_2)!(values[1])).toBe(false);
  });

  it("settles `(status != 'not-done')` when status is another string, and `(identifier.count() + name.count()) > 0` when an identifier is there", () => {
    const IMM_1 = "(status != 'not-done') or (status = 'not-done' and statusReason.exists())";
    const statuses = ['completed', 'not-done', ['completed'], 1, null, undefined, ''];
    expect(settledRightly('Immunization', IMM_1, statuses.map((status) => ({ status })))).toBe(2);
    const ORG_1 = '(identifier.count() + name.count()) > 0';
    const orgs = [{ identifier: [{ value: 'x' }] }, { name: 'x' }, { identifier: [] }, { identifier: [null] }, {}, { name: { id: 'x' } }];
    expect(settledRightly('Organization', ORG_1, orgs)).toBe(2);
  });

  it("does not take a choice element's bare name for the element, as FHIRPath finds only rateQuantity and the like", () => {
    const surelyTrue = surelyTrueOf('patient.exists() or rate.exists()')!;
    expect(surelyTrue({ rate: { value: 1 } })).toBe(false);
    expect(surelyTrue({ patient: { reference: 'Patient/1' } })).toBe(true);
  });

  it('does not split on an or inside a string or brackets', () => {
    const surelyTrue = surelyTrueOf("a.where(b = ' or x.empty() or ').empty() or (c.empty() or d.exists())")!;
    expect(surelyTrue({ a: {}, x: 1 })).toBe(false);
    expect(surelyTrue({ x: 1 })).toBe(true);
  });
});
