import { loadValidator } from '../../src/validate';
import { loadExamples } from './examples';
import { mutationsOf } from './mutations';

const validator = loadValidator();
const cases = loadExamples().flatMap((example) =>
  mutationsOf(example.resource, example.profile).map((m) => [`${example.file}: ${m.rule}`, m, example.profile] as const),
);

describe('broken copies of the official examples', () => {
  it('cover every kind of rule across the examples', () => {
    const kinds = new Set(cases.map(([, m]) => m.code));
    expect(cases.length).toBeGreaterThan(108 * 5);
    expect([...kinds].sort()).toEqual(['code-invalid', 'invariant', 'required', 'structure']);
    expect(cases.filter(([, m]) => m.rule.startsWith('NHS number')).length).toBeGreaterThan(0);
  });

  it.each(cases)('rejects %s at the right expression', (_name, mutation, profile) => {
    const errors = validator.validate(mutation.resource, { profile }).filter((i) => i.severity === 'error');
    expect(errors).toContainEqual(expect.objectContaining({ code: mutation.code, expression: [mutation.expression] }));
  });
});
