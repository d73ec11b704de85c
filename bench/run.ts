/**
 * npm run bench: each section prints its own figures. Add a section by adding it to the list.
 * `npm run bench` runs them all in order; `npm run bench -- http map-validate` runs only those named.
 */
import { benchBulk } from './bulk';
import { benchHttp } from './http';
import { benchMapValidate } from './map-validate';
import { benchValidate } from './validate';

const sections: [string, () => Promise<void>][] = [
  ['validate', benchValidate],
  ['map-validate', benchMapValidate],
  ['http', benchHttp],
  ['bulk', benchBulk],
];

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !sections.some(([known]) => known === name));
  if (unknown.length > 0) {
    throw new Error(`unknown bench section(s): ${unknown.join(', ')}; known: ${sections.map(([name]) => name).join(', ')}`);
  }
  for (const [name, run] of sections) if (wanted.length === 0 || wanted.includes(name)) await run();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
