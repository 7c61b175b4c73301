/**
 * The schemas the route table names, by name. The OpenAPI generator resolves routes' schema
 * names here, so the document describes exactly what the validators check. Lambda handlers
 * never import this module (it pulls in TypeBox); they use the precompiled ./validators.ts.
 */
import type { TSchema } from '@sinclair/typebox';
import type { SchemaName } from '#lib/http/routes';
import { IdPathParameters, ProblemDetails } from './common.ts';
import { DocsAssetPathParameters } from './docs.ts';
import {
  Availability,
  AvailabilityQuery,
  Order,
  OrderIdPathParameters,
  OrderInput,
  OrderListQuery,
  OrderPage,
} from './order.ts';
import { Service, ServiceInput, ServiceListQuery, ServicePage } from './service.ts';

/** Every schema a route refers to, keyed by the name the route table uses. */
export const schemasByName: Readonly<Record<SchemaName, TSchema>> = {
  ServiceInput,
  Service,
  ServicePage,
  ServiceListQuery,
  OrderInput,
  Order,
  OrderPage,
  OrderListQuery,
  AvailabilityQuery,
  Availability,
  IdPathParameters,
  OrderIdPathParameters,
  DocsAssetPathParameters,
};

/** The body of every error response (RFC 9457 problem details). */
export { ProblemDetails };
