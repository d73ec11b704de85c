/**
 * A separate process for the crash test: enqueues submissions one at a time into the outbox file given as
 * its argument and prints each id once enqueue has returned (the moment the gateway would answer 202).
 * The test kills it with SIGKILL part-way and checks every printed id is in the file.
 */
import { SqliteOutbox } from '../../src/outbox/sqlite-outbox';
import { submission } from './submissions';

async function main(): Promise<void> {
  const outbox = new SqliteOutbox(process.argv[2]);
  for (let i = 0; ; i++) {
    const [id] = await outbox.enqueue([submission(String(9000000000 + i))]);
    process.stdout.write(`${id}\n`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
