/** The repository root, found the same way whether running from src/ (tests, tsx) or from dist/src/ (npm start). */
import fs from 'node:fs';
import path from 'node:path';

function findRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

export const ROOT_DIR = findRoot(__dirname);
export const MAPPINGS_DIR = path.join(ROOT_DIR, 'mappings');
export const PROFILES_DIR = path.join(ROOT_DIR, 'profiles');
export const OPENAPI_PATH = path.join(ROOT_DIR, 'openapi.yaml');
