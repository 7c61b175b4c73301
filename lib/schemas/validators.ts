/**
 * Typed views of the precompiled validators in ./generated (built from these schemas by
 * `npm run build:validators`). Importing them compiles nothing at cold start.
 */
import type { Validator } from '#lib/http/middleware/validateRequest';
import type { IdPathParameters } from './common.ts';
import * as body from './generated/bodyValidators.js';
import * as parameters from './generated/parameterValidators.js';
import type { OrderInput, OrderListQuery } from './order.ts';
import type { ServiceInput, ServiceListQuery } from './service.ts';

export const validateServiceInput = body.validateServiceInput as Validator<ServiceInput>;
export const validateOrderInput = body.validateOrderInput as Validator<OrderInput>;
export const validateIdPath = parameters.validateIdPath as Validator<IdPathParameters>;
export const validateServiceListQuery = parameters.validateServiceListQuery as Validator<ServiceListQuery>;
export const validateOrderListQuery = parameters.validateOrderListQuery as Validator<OrderListQuery>;
