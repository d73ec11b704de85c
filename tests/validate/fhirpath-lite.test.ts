import fs from 'node:fs';
import path from 'node:path';
import fhirpath from 'fhirpath';
import type { StructureDefinition } from 'fhir/r4';
import { compileLite } from '../../src/validate/fhirpath-lite';
import { compileLite as referenceLite } from './reference/fhirpath-lite';
import { mutate, random } from './differential';

const profilesDir = path.resolve(__dirname, '..', '..', 'profiles');
const expressions = new Set<string>();
for (const file of ['r4-base.json', 'ukcore.json']) {
  for (const sd of JSON.parse(fs.readFileSync(path.join(profilesDir, file), 'utf8')) as StructureDefinition[]) {
    for (const e of sd.snapshot?.element ?? []) for (const c of e.constraint ?? []) if (c.expression) expressions.add(c.expression);
  }
}
const lite = [...expressions].flatMap((expression) => {
  const check = compileLite(expression);
  return check ? [[expression, check] as const] : [];
});

/** Every object with some of these (dotted) paths present, each present leaf holding a string. */
function combinations(paths: string[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let mask = 0; mask < 1 << paths.length; mask++) {
    const value: Record<string, unknown> = {};
    paths.forEach((p, i) => {
      if (!(mask & (1 << i))) return;
      const parts = p.split('.');
      let cursor = value;
      parts.slice(0, -1).forEach((part) => (cursor = (cursor[part] ??= {}) as Record<string, unknown>));
      cursor[parts[parts.length - 1]] = 'x';
    });
    out.push(value);
  }
  return out;
}

describe('the fast evaluator for existence invariants', () => {
  it('takes over a good share of the invariants in the definitions', () => {
    expect(lite.length).toBeGreaterThan(40);
  });

  it.each(lite.map(([expression]) => [expression]))('agrees with fhirpath on %s', (expression) => {
    const check = compileLite(expression)!;
    const paths = [...new Set(expression.match(/[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)*(?=\.(exists|empty|hasValue)\(\))/g) ?? [])];
    const leaves = paths.filter((p) => !paths.some((other) => other.startsWith(p + '.')));
    for (const value of combinations(leaves.slice(0, 6))) {
      expect([expression, value, check(value)]).toEqual([expression, value, (fhirpath.evaluate(value, expression) as unknown[])[0]]);
    }
  });

  it('leaves what it cannot evaluate to fhirpath', () => {
    expect(compileLite("status = 'final'")).toBeUndefined();
    expect(compileLite('Appointment.cancelationReason.exists() implies status.exists()')).toBeUndefined();
    expect(compileLite('start <= end')).toBeUndefined();
  });
  it('answers one-step exists() and empty() as the general path walk does, over null, empty arrays and arrays of nulls', () => {
    const values = [{}, { code: null }, { code: [] }, { code: [null] }, { code: [null, 'a'] }, { code: 'a' }, { code: {} }, { code: [{}] }, { other: 'a' }];
    for (const [test, negate] of [['exists()', false], ['empty()', true]] as const) {
      const one = compileLite(`code.${test}`)!;
      const two = compileLite(`component.code.${test}`)!;
      for (const value of values) {
        expect([test, value, one(value)]).toEqual([test, value, two({ component: value })]);
        if (!Array.isArray(value.code) || !value.code.includes(null)) {
          // fhirpath.js agrees too, except on a null inside an array (invalid JSON for FHIR, refused as such)
          expect([test, value, one(value)]).toEqual([test, value, (fhirpath.evaluate(value, `code.${test}`) as unknown[])[0]]);
        }
        expect(one(value)).toBe(negate ? !compileLite('code.exists()')!(value) : one(value));
      }
    }
  });

  it('finds a choice element by its typed names only, in one step as in two', () => {
    const one = compileLite('value.exists()')!;
    const two = compileLite('component.value.exists()')!;
    for (const [value, expected] of [[{ valueString: 'a' }, true], [{ value: 'a' }, true], [{ valueString: null }, false], [{ valueFoo: 'a' }, false]] as const) {
      expect([value, one(value)]).toEqual([value, expected]);
      expect([value, two({ component: value })]).toEqual([value, expected]);
    }
  });

  it('answers as the reference evaluator does on seeded random mutations, inherited names and choices included', () => {
    const next = random(13);
    const wrong: string[] = [];
    const odd = ['toString', 'constructor', 'valueOf', 'valueString', 'valueFoo', 'contained', 'code', 'system'];
    for (const [expression] of lite) {
      const paths = [...new Set(expression.match(/[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)*(?=\.(exists|empty|hasValue)\(\))/g) ?? [])];
      const bases: unknown[] = combinations(paths.filter((p) => !paths.some((o) => o.startsWith(p + '.'))).slice(0, 4));
      bases.push(...odd.map((name) => ({ [name]: 'x', contained: [{ [name]: [null, 'y'] }] })));
      const [now, before] = [compileLite(expression)!, referenceLite(expression)!];
      for (const base of bases) {
        for (let i = 0; i < 8; i++) {
          const value = i === 0 ? base : mutate(mutate(base, next), next);
          if (now(value) !== before(value)) wrong.push(`${expression} on ${JSON.stringify(value)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
