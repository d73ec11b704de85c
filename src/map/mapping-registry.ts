/**
 * Loads every record type under mappings/ once at start-up: its input JSON Schema (for ingest), its
 * JSONata mapping (compiled once), its lookup tables and what `type.json` declares about it. No record type
 * is special-cased in code: a new record type is a new folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import jsonata from 'jsonata';
import { MAPPINGS_DIR } from '../config/paths';
import { fastMapping, type FastMapping } from './fast-mapping';

export interface RecordTypeMapping {
  type: string;
  /** JSON Schema for the record's `data`. */
  schema: object;
  expression: jsonata.Expression;
  /** The same mapping, run by the fastest evaluator that gives the same result (fast-mapping.ts). */
  run: FastMapping;
  /** Lookup tables by file name (without .json). */
  lookups: Record<string, Record<string, unknown>>;
  /**
   * False for records about no one person (staff, the care home itself), from `type.json`'s `aboutAPerson`:
   * they need no NHS number. True when the type has no type.json.
   */
  aboutAPerson: boolean;
}

export interface MappingRegistry {
  envelopeSchema: object;
  types: Map<string, RecordTypeMapping>;
}

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function loadRecordType(dir: string, type: string): RecordTypeMapping {
  const source = fs.readFileSync(path.join(dir, 'mapping.jsonata'), 'utf8');
  let expression: jsonata.Expression;
  try {
    expression = jsonata(source);
  } catch (err) {
    const e = err as { message?: string; position?: number };
    throw new Error(`mappings/${type}/mapping.jsonata does not compile at ${e.position}: ${e.message}`);
  }
  const lookups: RecordTypeMapping['lookups'] = {};
  for (const file of fs.readdirSync(dir)) {
    if (file.endsWith('.json') && file !== 'schema.json' && file !== 'type.json' && !file.startsWith('example')) {
      lookups[file.slice(0, -'.json'.length)] = readJson(path.join(dir, file)) as Record<string, unknown>;
    }
  }
  return { type, schema: readJson(path.join(dir, 'schema.json')) as object, expression, run: fastMapping(expression), lookups, aboutAPerson: readTypeFlags(dir, type).aboutAPerson };
}

/** mappings/<type>/type.json, if there is one: `{ "aboutAPerson": false }`. A wrong key stops start-up. */
function readTypeFlags(dir: string, type: string): { aboutAPerson: boolean } {
  const file = path.join(dir, 'type.json');
  if (!fs.existsSync(file)) return { aboutAPerson: true };
  const flags = readJson(file) as Record<string, unknown>;
  for (const [key, value] of Object.entries(flags)) {
    if (key !== 'aboutAPerson' || typeof value !== 'boolean') {
      throw new Error(`mappings/${type}/type.json: "${key}" is not a known setting (only "aboutAPerson": true | false)`);
    }
  }
  return { aboutAPerson: flags.aboutAPerson !== false };
}

export function loadMappings(dir: string = MAPPINGS_DIR): MappingRegistry {
  const types = new Map<string, RecordTypeMapping>();
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && fs.existsSync(path.join(dir, entry.name, 'mapping.jsonata'))) {
      types.set(entry.name, loadRecordType(path.join(dir, entry.name), entry.name));
    }
  }
  return { envelopeSchema: readJson(path.join(dir, 'envelope.schema.json')) as object, types };
}
