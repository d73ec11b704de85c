import { loadValidator } from '../../src/validate';
import { loadExamples } from './examples';
import { mutationsOf } from './mutations';

const validator = loadValidator();
const cases = loadExamples().flatMap((example) =>
  mutationsOf(example.resource, example.profile).map((m) => [`${example.file}: ${m.rule}`, m, example.profile] as const),
);

describe('broken copies of the official examples', () => {
  it('cover every kind of rule across the examples', () => {
    const rules = new Set(cases.map(([, m]) => m.rule.replace(/ of .*| .*removed/, '')));
    expect(cases.length).toBeGreaterThan(108 * 4);
    expect(rules.size).toBeGreaterThanOrEqual(6);
  });

  it.each(cases)('rejects %s at the right expression', (_name, mutation, profile) => {
    const errors = validator.validate(mutation.resource, { profile }).filter((i) => i.severity === 'error');
    expect(errors).toContainEqual(expect.objectContaining({ code: mutation.code, expression: [mutation.expression] }));
  });
});
