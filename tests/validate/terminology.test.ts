import type { Condition, List } from 'fhir/r4';
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
