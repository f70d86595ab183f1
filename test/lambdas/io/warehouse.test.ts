import { ERROR_NAMES } from '../../../lambdas/core/errors';
import { statementError } from '../../../lambdas/io/warehouse';

describe('statementError (what CheckStatement throws for a FAILED statement)', () => {
  it.each([
    'ERROR: 1023 DETAIL: Serializable isolation violation on table - 123456, transactions forming the cycle are: 1, 2',
    'ERROR: could not serialize access due to concurrent update',
  ])('makes a serialization conflict retryable: %s', (error) => {
    const e = statementError({ Id: 's1', Status: 'FAILED', Error: error }, 'loading tracks');
    expect(e.name).toBe(ERROR_NAMES.serializationConflict);
    expect(e.message).toBe(`loading tracks: ${error}`);
  });

  it("carries Redshift's message for any other failure", () => {
    const e = statementError({ Id: 's2', Status: 'FAILED', Error: "ERROR: Load into table 'x' failed. Check stl_load_errors" }, 'loading x');
    expect(e.name).toBe(ERROR_NAMES.statementFailed);
    expect(e.message).toBe("loading x: ERROR: Load into table 'x' failed. Check stl_load_errors");
  });

  it('names an aborted statement', () => {
    expect(statementError({ Id: 's3', Status: 'ABORTED' }, 'loading y').message).toBe('loading y: statement ABORTED');
  });
});
