/**
 * Typed views of the precompiled request-body validators in ./generated (built from these
 * schemas by `npm run build:validators`). Importing them compiles nothing at cold start.
 * Kept apart from the parameter validators so functions without a body never bundle these.
 */
import type { Validator } from '#lib/http/middleware/validateRequest';
import * as generated from './generated/bodyValidators.js';
import type { OrderInput } from './order.ts';
import type { ServiceInput } from './service.ts';

export const validateServiceInput = generated.validateServiceInput as Validator<ServiceInput>;
export const validateOrderInput = generated.validateOrderInput as Validator<OrderInput>;
