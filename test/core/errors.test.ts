import { describe, expect, expectTypeOf, it } from 'vitest';
import { isShelfError, ShelfError, type ErrorDetails } from '../../src/core/errors.ts';

describe('errors as data', () => {
  it('carry details typed by their code, in the body the handler sends', () => {
    const error = new ShelfError('destination_exists', 'exists', { path: '/tmp/x' });
    expectTypeOf(error.details).toEqualTypeOf<ErrorDetails['destination_exists'] | undefined>();
    expect(error.toBody()).toEqual({ error: { code: 'destination_exists', message: 'exists', details: { path: '/tmp/x' } } });
    const caught: unknown = new ShelfError('registry_unreachable', 'down', { url: 'https://r.example/v1/config.json', status: 503 });
    if (isShelfError(caught, 'registry_unreachable')) {
      expectTypeOf(caught.details).toEqualTypeOf<ErrorDetails['registry_unreachable'] | undefined>();
      expect(caught.details?.status).toBe(503);
    } else expect.unreachable();
    // A code without details takes none (a type error otherwise), and its body has none.
    expect(new ShelfError('write_contention').toBody()).toEqual({ error: { code: 'write_contention', message: expect.any(String) } });
    // @ts-expect-error: write_contention carries no details
    void new ShelfError('write_contention', 'busy', { attempts: 3 });
  });
});
