import * as path from 'node:path';

/** Golden fixtures (see test/fixtures/README.md). */
export const FIXTURES = path.resolve(__dirname, '../../../test/fixtures');
export const FIXTURE_NAMES = ['t5-v11-tiny', 't5-v10-tiny-tied', 't5-uneven-long', 't5-deep-decoder'];

export const fixtureModelDir = (name: string): string => path.join(FIXTURES, name, 'model');
export const fixtureCase = (name: string): string => path.join(FIXTURES, name, 'case', 'case.json');
export const fixtureExpected = (name: string): string => path.join(FIXTURES, name, 'case', 'expected.safetensors');
