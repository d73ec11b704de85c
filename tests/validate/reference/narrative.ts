/**
 * A fast path for txt-1/txt-2 (`htmlChecks()`): a narrative div made only of plainly safe XHTML (elements and
 * attributes from a short allow-list, the five XML entities or numeric references, balanced tags, some text)
 * passes both rules without running the FHIRPath engine. Anything else returns false and goes to `fhirpath`'s
 * own htmlChecks(), so this can only skip work, never reject.
 */
const XHTML = 'http://www.w3.org/1999/xhtml';
const ELEMENTS = new Set(
  ('div p span b i em strong br hr h1 h2 h3 h4 h5 h6 ul ol li table thead tbody tfoot tr th td caption a pre code ' +
    'small sub sup dl dt dd blockquote cite abbr').split(' '),
);
const ATTRIBUTES = new Set(['class', 'style', 'id', 'title', 'href', 'colspan', 'rowspan', 'lang', 'xml:lang']);
const TAG = /<(\/?)([a-z][a-z0-9]*)((?:\s+[a-z:-]+="[^"<>&]*")*)\s*(\/?)>/y;
const ATTRIBUTE = /\s+([a-z:-]+)="([^"]*)"/g;
const TEXT = /[^<&]*/y;
const ENTITY = /&(amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});/y;

export function plainlySafeNarrative(div: string): boolean {
  const stack: string[] = [];
  let position = 0;
  let text = false;
  let closedRoot = false;
  while (position < div.length) {
    const c = div[position];
    if (c === '<') {
      TAG.lastIndex = position;
      const tag = TAG.exec(div);
      if (!tag || closedRoot) return false;
      const [whole, closing, name, attributes, selfClosing] = tag;
      if (!ELEMENTS.has(name)) return false;
      if (closing) {
        if (attributes || stack.pop() !== name) return false;
        if (!stack.length) closedRoot = true;
      } else {
        if (!stack.length && (name !== 'div' || selfClosing)) return false;
        for (const [, attribute, value] of attributes.matchAll(ATTRIBUTE)) {
          if (attribute === 'xmlns') {
            if (stack.length || value !== XHTML) return false;
          } else if (!ATTRIBUTES.has(attribute) || (attribute === 'href' && /^\s*javascript:/i.test(value))) {
            return false;
          }
        }
        if (!stack.length && !attributes.includes(`xmlns="${XHTML}"`)) return false;
        if (!selfClosing) stack.push(name);
      }
      position += whole.length;
    } else if (c === '&') {
      ENTITY.lastIndex = position;
      const entity = ENTITY.exec(div);
      if (!entity || !stack.length) return false;
      text = true;
      position += entity[0].length;
    } else {
      TEXT.lastIndex = position;
      const chunk = TEXT.exec(div)?.[0] ?? '';
      if (/\S/.test(chunk)) {
        if (!stack.length) return false;
        text = true;
      }
      position += chunk.length;
    }
  }
  return closedRoot && stack.length === 0 && text;
}
