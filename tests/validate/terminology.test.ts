import type { Condition, List } from 'fhir/r4';
import { compileBinding, ValueSets } from '../../src/validate/terminology';
import { loadValidator } from '../../src/validate';
import { loadExamples } from './examples';

const validator = loadValidator();
const example = loadExamples().find((e) => e.file === 'UKCore-List-Sn-NoAllergyData-Example.json')!;

describe('codes from UK Core CodeSystems', () => {
  it('accepts the official List example, whose emptyReason uses UKCore-ListEmptyReasonCode', () => {
    const errors = validator.validate(example.resource, { profile: example.profile }).filter((i) => i.severity === 'error');
    expect(errors).toEqual([]);
  });

  it('rejects a code that does not exist in the UK Core CodeSystem, even under a preferred binding', () => {
    const list = JSON.parse(JSON.stringify(example.resource)) as List;
    list.emptyReason!.coding![0].code = 'no-content-recordedd';
    expect(validator.validate(list, { profile: example.profile })).toContainEqual(
      expect.objectContaining({ severity: 'error', code: 'code-invalid', expression: ['List.emptyReason.coding[0].code'] }),
    );
  });

  it('reports a SNOMED CT binding it cannot expand offline as information, not silence', () => {
    const condition: Condition = {
      resourceType: 'Condition',
      meta: { profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Condition'] },
      subject: { reference: 'Patient/1' },
      code: { coding: [{ system: 'http://snomed.info/sct', code: '22298006' }] },
    };
    expect(validator.validate(condition)).toContainEqual(
      expect.objectContaining({ severity: 'information', expression: ['Condition.code'] }),
    );
  });
});

describe('a null inside a coding array', () => {
  const condition = (coding: unknown[]): Condition =>
    ({
      resourceType: 'Condition',
      meta: { profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Condition'] },
      subject: { reference: 'Patient/1' },
      clinicalStatus: { coding },
      code: { coding: [{ system: 'http://snomed.info/sct', code: '22298006' }] },
    }) as unknown as Condition;
  const active = { system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' };

  it('is reported where it is, and the coding beside it still satisfies the required binding', () => {
    const issues = validator.validate(condition([null, active]));
    expect(issues).toContainEqual(expect.objectContaining({ severity: 'error', code: 'structure', expression: ['Condition.clinicalStatus.coding[0]'] }));
    expect(issues.filter((i) => i.code === 'code-invalid')).toEqual([]);
  });

  it('alone leaves a required binding without a code', () => {
    expect(validator.validate(condition([null]))).toContainEqual(
      expect.objectContaining({ severity: 'error', code: 'code-invalid', expression: ['Condition.clinicalStatus'] }),
    );
  });
});

describe('a binding looked up by system and code', () => {
  const URL = 'https://example.org/ValueSet/piped';
  const node = {
    id: 'X.code', path: 'X.code', name: 'code', min: 0, max: 1, isArray: false, types: [{ code: 'Coding' }],
    constraints: [], slices: [], children: [], binding: { strength: 'required', valueSet: URL },
  };
  const check = (codes: Record<string, string[]>, coding: Record<string, unknown>) => {
    const ctx = { issues: [], resource: undefined, rootResource: undefined };
    compileBinding(node, 'Coding', new ValueSets({ [URL]: { codes } }))!(coding, 'X.code', ctx);
    return ctx.issues;
  };

  it('accepts the system and code of the expansion and refuses the code under another system', () => {
    expect(check({ 'http://s': ['a'] }, { system: 'http://s', code: 'a' })).toEqual([]);
    expect(check({ 'http://s': ['a'] }, { system: 'http://t', code: 'a' })).toHaveLength(1);
  });

  it('matches a system and code that join to a pair of the expansion when a code holds a |, as `system|code` does', () => {
    expect(check({ 'http://s': ['a|b'] }, { system: 'http://s|a', code: 'b' })).toEqual([]);
  });

  it('compares a code that is not a string as its text, as `system|code` does', () => {
    expect(check({ 'http://s': ['1'] }, { system: 'http://s', code: 1 })).toEqual([]);
  });
});
