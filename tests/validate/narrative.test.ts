import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { plainlySafeNarrative } from '../../src/validate/narrative';
import { loadExamples } from './examples';

const htmlChecks = (div: string) =>
  (fhirpath.evaluate(div, { base: 'Narrative.div', expression: 'htmlChecks()' }, {}, r4) as unknown[])[0];
const NS = 'xmlns="http://www.w3.org/1999/xhtml"';

describe('the narrative fast path', () => {
  const divs = loadExamples().flatMap((e) => {
    const text = (e.resource as { text?: { div?: string } }).text;
    return text?.div ? [text.div] : [];
  });

  it('takes every narrative of the official examples, each of which fhirpath htmlChecks() also accepts', () => {
    expect(divs.length).toBeGreaterThan(80);
    for (const div of divs) expect([div, plainlySafeNarrative(div), htmlChecks(div)]).toEqual([div, true, true]);
  });

  it.each([
    [`<div ${NS}><script>alert(1)</script></div>`],
    [`<div ${NS}><p onclick="x()">hi</p></div>`],
    [`<div ${NS}><a href="javascript:x()">hi</a></div>`],
    [`<div ${NS}>   </div>`],
    [`<div>no namespace</div>`],
    [`<div ${NS}><p>unclosed</div>`],
    [`<div ${NS}>a &nbsp; b</div>`],
    [`<div ${NS}>text</div><p>after</p>`],
  ])('leaves %s to fhirpath', (div) => {
    expect(plainlySafeNarrative(div)).toBe(false);
  });

  it('accepts ordinary markup that fhirpath accepts too', () => {
    const div = `<div ${NS}><p class="x">Blood pressure <b>107/60</b> mmHg &amp; pulse</p><br/><table><tr><td>1</td></tr></table></div>`;
    expect([plainlySafeNarrative(div), htmlChecks(div)]).toEqual([true, true]);
  });
});
