/**
 * Schema keywords of this API's own, for the validator build (scripts/validatorModule.ts).
 * Build time only: handlers import the precompiled validators, never ajv.
 */
import { _, type CodeKeywordDefinition, str } from 'ajv';
import { DECIMAL_PLACES_KEYWORD } from './money.ts';

/**
 * The ajv definition of `x-maxDecimalPlaces`: the comparison of hasAtMostDecimalPlaces
 * (./money.ts), generated inline so the standalone validators need no runtime import.
 */
export const decimalPlacesKeyword: CodeKeywordDefinition = {
  keyword: DECIMAL_PLACES_KEYWORD,
  type: 'number',
  schemaType: 'number',
  error: { message: ({ schema }) => str`must have at most ${schema} decimal places` },
  code(cxt) {
    const scale = 10 ** (cxt.schema as number);
    cxt.fail(_`Math.round(${cxt.data} * ${scale}) / ${scale} !== ${cxt.data}`);
  },
};
