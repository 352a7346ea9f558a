import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slug } from '../../src/util/slug';

test('a slug is lower case, each run of other characters one hyphen, none at the ends', () => {
  assert.equal(slug('from scratch'), 'from-scratch');
  assert.equal(slug('  Self-Fusion (m), 2×  '), 'self-fusion-m-2');
  assert.equal(slug('George W. Bush'), 'george-w-bush');
  assert.equal(slug('...'), '');
});
