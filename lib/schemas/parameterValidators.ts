/**
 * Typed views of the precompiled path and query validators in ./generated (built from these
 * schemas by `npm run build:validators`). Importing them compiles nothing at cold start.
 */
import type { Validator } from '#lib/http/middleware/validateRequest';
import type { IdPathParameters } from './common.ts';
import * as generated from './generated/parameterValidators.js';
import type { AvailabilityQuery, OrderIdPathParameters, OrderListQuery } from './order.ts';
import type { ServiceListQuery } from './service.ts';

export const validateIdPath = generated.validateIdPath as Validator<IdPathParameters>;
export const validateOrderIdPath = generated.validateOrderIdPath as Validator<OrderIdPathParameters>;
export const validateServiceListQuery = generated.validateServiceListQuery as Validator<ServiceListQuery>;
export const validateOrderListQuery = generated.validateOrderListQuery as Validator<OrderListQuery>;
export const validateAvailabilityQuery = generated.validateAvailabilityQuery as Validator<AvailabilityQuery>;
