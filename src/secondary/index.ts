/**
 * Secondary uses, wired: the pseudonym secret, the de-identification rules, the research store, the ingest
 * hook that fills it, and the extracts read from it. main.ts opens it when SECONDARY_USES is on.
 */
import type { Config } from '../config';
import type { Logger } from '../observability/logger';
import { Deidentifier } from './deidentify';
import { loadRules } from './deidentify-rules';
import { Extracts } from './extract';
import { Pseudonyms } from './pseudonyms';
import { createResearchFeed, type ResearchFeed } from './research-feed';
import { ResearchStore } from './research-store';
import { loadPseudonymSecret } from './secret';

export interface SecondaryUses {
  store: ResearchStore;
  pseudonyms: Pseudonyms;
  extracts: Extracts;
  /** The ingest hook (IngestDeps.onAccepted). */
  feed: ResearchFeed;
  logger: Logger;
  close(): void;
}

export function openSecondaryUses(config: Config['secondary'], logger: Logger): SecondaryUses {
  const { secret, generated } = loadPseudonymSecret({
    secret: config.pseudonymSecret,
    secretFile: config.pseudonymSecretFile,
    generatedFile: config.generatedSecretFile,
  });
  if (generated) logger.warn('generated a research pseudonym secret in the data folder; back it up, or extracts will not link with later ones');
  const pseudonyms = new Pseudonyms(secret);
  const store = new ResearchStore(config.storePath);
  const deidentifier = new Deidentifier(loadRules(), pseudonyms);
  return {
    store,
    pseudonyms,
    extracts: new Extracts(store, pseudonyms, deidentifier),
    feed: createResearchFeed({ store, deidentifier, pseudonyms, logger }),
    logger,
    close: () => store.close(),
  };
}
