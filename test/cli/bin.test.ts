import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { CLI } from '../helpers/cli';

// npx links the package's bin once and makes it executable then; `npm run build` (and so
// `npm test`) writes it anew, so the build itself must keep it executable, or every later
// `npx deepfusion …` fails with "Permission denied".
test('the deepfusion bin is executable after a build and runs as a program', () => {
  assert.ok((fs.statSync(CLI).mode & 0o111) !== 0, `${CLI} is not executable`);
  const r = spawnSync(CLI, ['--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^deepfusion — grow T5 models/);
});
