/** npm run bench: each section prints its own figures. Add a section by adding it to the list. */
import { benchValidate } from './validate';

const sections: [string, () => Promise<void>][] = [['validate', benchValidate]];

async function main(): Promise<void> {
  for (const [, run] of sections) await run();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
