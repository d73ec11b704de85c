/**
 * Secondary uses, wired: the pseudonym secret, the de-identification rules, the research store, the ingest
 * hook that fills it, and the extracts read from it. main.ts opens it when SECONDARY_USES is on.
 */
import type { Config } from '../config';
import type { Logger } from '../observability/logger';
import { Deidentifier } from './deidentify';
import { loadRules } from './deidentify-rules';
import { Extracts } from './extract';
import { FeedQueue } from './feed-queue';
import { Pseudonyms } from './pseudonyms';
import { writeAccepted, type ResearchFeed } from './research-feed';
import { ResearchStore } from './research-store';
import { loadPseudonymSecret } from './secret';

export interface SecondaryUses {
  store: ResearchStore;
  pseudonyms: Pseudonyms;
  extracts: Extracts;
  /** The ingest hook (IngestDeps.onAccepted): queues, and the queue writes after the answer. */
  feed: ResearchFeed;
  /** Writes what the feed holds; call before reading the store, so a read sees everything accepted before it. */
  flushFeed(): void;
  logger: Logger;
  close(): void;
}

/** A request's research write waits up to 50 ms for others to share its transaction, or until 500 records wait. */
const FEED_QUEUE = { delayMs: 50, maxRecords: 500 };

export function openSecondaryUses(
  config: Config['secondary'],
  logger: Logger,
  storeOptions: ConstructorParameters<typeof ResearchStore>[1] = {},
): SecondaryUses {
  const { secret, generated } = loadPseudonymSecret({
    secret: config.pseudonymSecret,
    secretFile: config.pseudonymSecretFile,
    generatedFile: config.generatedSecretFile,
  });
  if (generated) logger.warn('generated a research pseudonym secret in the data folder; back it up, or extracts will not link with later ones');
  const pseudonyms = new Pseudonyms(secret);
  const store = new ResearchStore(config.storePath, storeOptions);
  if (store.migrated) {
    const { resources, records, ms } = store.migrated;
    logger.info('research store moved to one row per provider record', { resources, records, ms });
  }
  const deidentifier = new Deidentifier(loadRules(), pseudonyms);
  const queue = new FeedQueue((batches) => writeAccepted({ store, deidentifier, pseudonyms, logger }, batches), FEED_QUEUE);
  return {
    store,
    pseudonyms,
    extracts: new Extracts(store, pseudonyms, deidentifier),
    feed: queue.feed,
    flushFeed: () => queue.flush(),
    logger,
    close: () => {
      queue.flush();
      store.close();
    },
  };
}
