import { loadValidator } from '../../src/validate';
import { loadExamples } from './examples';

const validator = loadValidator();
const examples = loadExamples();

describe('the official UK Core examples', () => {
  it('are all present (108 vendored from ../shared/ukcore/examples)', () => {
    expect(examples).toHaveLength(108);
  });

  it.each(examples.map((e) => [e.file, e]))('%s validates against its UK Core profile with no errors', (_file, example) => {
    const errors = validator
      .validate(example.resource, { profile: example.profile })
      .filter((issue) => issue.severity === 'error' || issue.severity === 'fatal');
    expect(errors).toEqual([]);
  });

  it('flags the misspelled extension url in the RecordingSetting example as not found (a warning, not an error)', () => {
    // The official example uses .../Extension-UKCore-RcordingSetting (sic); no such extension exists.
    const example = examples.find((e) => e.file === 'Extension-UKCore-RecordingSetting-Example.json');
    const issues = validator.validate(example!.resource, { profile: example!.profile });
    expect(issues).toContainEqual(
      expect.objectContaining({ severity: 'warning', code: 'not-found', expression: ['Observation.extension[0]'] }),
    );
  });
});
