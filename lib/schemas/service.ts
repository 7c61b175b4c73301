import { type Static, Type } from '@sinclair/typebox';
import { ClientChosenId, PageQueryProperties, ResourceId } from './common.ts';

/** Body of POST /services and PUT /services/{id}. */
export const ServiceInput = Type.Object(
  {
    id: Type.Optional(ClientChosenId),
    // At least one non-space character: a blank name is as good as none.
    name: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S', examples: ['Inspection'] }),
  },
  { additionalProperties: false },
);
export type ServiceInput = Static<typeof ServiceInput>;

/** A service record as the API answers it. */
export const Service = Type.Object({
  id: ResourceId,
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Service = Static<typeof Service>;

/** Query of GET /services. */
export const ServiceListQuery = Type.Object(PageQueryProperties, { additionalProperties: false });
export type ServiceListQuery = Static<typeof ServiceListQuery>;

/** One page of GET /services. */
export const ServicePage = Type.Object({
  items: Type.Array(Service),
  next: Type.Union([Type.String(), Type.Null()]),
});
