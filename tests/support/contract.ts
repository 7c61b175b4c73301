/**
 * The contract check: every response a test receives, from a handler (`invoke()`) or over
 * HTTP (`call()` in the e2e tests), must be one that openapi.json allows: a status the
 * operation declares, the headers it requires, and a body of the declared media type that
 * matches the declared schema. Responses of routes the document does not describe (the
 * catch-all 404, ad-hoc test handlers) must at least be valid problem+json. A violation
 * throws, so the test that received the response fails.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** The request a response answered: a method and either the route template or the path sent. */
interface ContractRequest {
  method: string;
  /** A path template such as `/orders/{id}`, or a concrete path such as `/orders/223?x=1`. */
  path: string;
  /**
   * API Gateway's route key, when known. `$default` is the catch-all route: whatever the path,
   * the document's operations did not handle it, so the answer must simply be a problem.
   */
  routeKey?: string;
}

/** A response as a test received it; `body` is parsed when the content type is JSON. */
interface ContractResponse {
  status: number;
  headers: Record<string, string> | Headers;
  body: unknown;
}

/** Thrown when a response breaks the document. */
export class ContractViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContractViolation';
  }
}

type JsonObject = { [key: string]: unknown };

/** The base URI the document is registered under, so its `#/components/...` refs resolve. */
const DOCUMENT_ID = 'https://contract.test/openapi.json';
const PROBLEM_MEDIA_TYPE = 'application/problem+json';
const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

interface Contract {
  document: JsonObject;
  ajv: Ajv2020;
  validators: Map<string, ValidateFunction>;
  /** Path templates with their matchers, literal paths first so `/docs` never matches a template. */
  templates: { template: string; pattern: RegExp }[];
}

let loaded: Contract | undefined;

/** The document, read once per test worker; the committed file is what is checked. */
function contract(): Contract {
  if (loaded) return loaded;
  const document = JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8')) as JsonObject;
  // Not strict: the document carries OpenAPI keywords besides JSON Schema ones.
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(document, DOCUMENT_ID);
  const templates = Object.keys((document.paths ?? {}) as JsonObject)
    .sort((a, b) => Number(a.includes('{')) - Number(b.includes('{')))
    .map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
    }));
  loaded = { document, ajv, validators: new Map(), templates };
  return loaded;
}

function escapePointerSegment(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

function pointerOf(segments: readonly string[]): string {
  return segments.map((segment) => `/${escapePointerSegment(segment)}`).join('');
}

/** The value at a JSON pointer of the document. */
function at(pointer: string): unknown {
  let node: unknown = contract().document;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    node = node !== null && typeof node === 'object' ? (node as JsonObject)[segment] : undefined;
  }
  return node;
}

/** Follows `$ref`s from a pointer to the object they end at, returning it and where it lives. */
function resolve(pointer: string): { node: JsonObject; pointer: string } {
  let current = pointer;
  for (let hops = 0; hops < 10; hops += 1) {
    const node = at(current);
    if (node === null || typeof node !== 'object') throw new Error(`openapi.json has nothing at ${current}`);
    const ref = (node as JsonObject).$ref;
    if (typeof ref !== 'string') return { node: node as JsonObject, pointer: current };
    if (!ref.startsWith('#/')) throw new Error(`Only local refs are supported, got ${ref}`);
    current = ref.slice(1);
  }
  throw new Error(`Too many $ref hops from ${pointer}`);
}

/** The validator of the schema at a pointer (refs inside it resolve against the document). */
function validatorAt(pointer: string): ValidateFunction {
  const { ajv, validators } = contract();
  let validate = validators.get(pointer);
  if (!validate) {
    const fragment = pointer
      .split('/')
      .map((segment) => encodeURIComponent(segment))
      .join('/');
    validate = ajv.compile({ $ref: `${DOCUMENT_ID}#${fragment}` });
    validators.set(pointer, validate);
  }
  return validate;
}

function headerGetter(headers: ContractResponse['headers']): (name: string) => string | undefined {
  if (headers instanceof Headers) return (name) => headers.get(name) ?? undefined;
  const lowerCase = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  return (name) => lowerCase[name.toLowerCase()];
}

/** The document's path template a request path falls under, if any. */
function templateFor(path: string): string | undefined {
  const { document, templates } = contract();
  const withoutQuery = path.split('?')[0] ?? path;
  if (withoutQuery in ((document.paths ?? {}) as JsonObject)) return withoutQuery;
  return templates.find(({ pattern }) => pattern.test(withoutQuery))?.template;
}

function summarize(request: ContractRequest, response: ContractResponse): string {
  const body = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
  const shown = body === undefined ? '(no body)' : body.length > 600 ? `${body.slice(0, 600)}…` : body;
  return `${request.method.toUpperCase()} ${request.path} answered ${response.status}: ${shown}`;
}

function schemaErrors(validate: ValidateFunction): string {
  return (validate.errors ?? [])
    .map((error) => `${error.instancePath || '/'} ${error.message ?? error.keyword}`)
    .join('; ');
}

/** A header value as its schema types it: header values are strings on the wire. */
function typedHeaderValue(value: string, schema: JsonObject): unknown {
  if ((schema.type === 'integer' || schema.type === 'number') && /^-?\d+(?:\.\d+)?$/.test(value)) return Number(value);
  return value;
}

function mediaTypeOf(contentType: string | undefined): string | undefined {
  return contentType?.split(';')[0]?.trim().toLowerCase() || undefined;
}

function isEmptyBody(body: unknown): boolean {
  return body === undefined || body === null || body === '';
}

/** Checks a response of a route the document does not describe: it must be a problem. */
function checkUndocumented(response: ContractResponse, problems: string[]): void {
  const contentType = mediaTypeOf(headerGetter(response.headers)('content-type'));
  if (response.status < 400) problems.push(`a route the document does not describe answered ${response.status}`);
  if (contentType !== PROBLEM_MEDIA_TYPE) {
    problems.push(`an undocumented route must answer ${PROBLEM_MEDIA_TYPE}, got ${contentType ?? 'no content type'}`);
    return;
  }
  const validate = validatorAt('/components/schemas/ProblemDetails');
  if (!validate(response.body))
    problems.push(`the problem body does not match ProblemDetails: ${schemaErrors(validate)}`);
}

/**
 * Throws a ContractViolation unless the response is one openapi.json allows for the request.
 * Returns quietly otherwise.
 */
export function assertResponseMatchesContract(request: ContractRequest, response: ContractResponse): void {
  const problems: string[] = [];
  const method = request.method.toLowerCase();
  const template = request.routeKey === '$default' ? undefined : templateFor(request.path);
  const operationPointer = template === undefined ? undefined : pointerOf(['paths', template, method]);
  if (!METHODS.has(method) || operationPointer === undefined || at(operationPointer) === undefined) {
    checkUndocumented(response, problems);
  } else {
    checkDocumented(operationPointer, response, problems);
  }
  if (problems.length > 0) {
    throw new ContractViolation(
      `Response breaks openapi.json:\n  - ${problems.join('\n  - ')}\n${summarize(request, response)}`,
    );
  }
}

function checkDocumented(operationPointer: string, response: ContractResponse, problems: string[]): void {
  const responsesPointer = `${operationPointer}/responses`;
  const declared = (at(responsesPointer) ?? {}) as JsonObject;
  const key = String(response.status) in declared ? String(response.status) : 'default' in declared ? 'default' : '';
  if (key === '') {
    problems.push(`status ${response.status} is not declared (declared: ${Object.keys(declared).join(', ')})`);
    return;
  }
  const { node: declaredResponse, pointer: responsePointer } = resolve(
    pointerOf([...splitPointer(responsesPointer), key]),
  );
  const header = headerGetter(response.headers);

  for (const name of Object.keys((declaredResponse.headers ?? {}) as JsonObject)) {
    const { node: headerObject, pointer: headerPointer } = resolve(
      `${responsePointer}/headers/${escapePointerSegment(name)}`,
    );
    const value = header(name);
    if (value === undefined) {
      if (headerObject.required === true) problems.push(`required header ${name} is missing`);
      continue;
    }
    const schema = headerObject.schema as JsonObject | undefined;
    if (!schema) continue;
    const validate = validatorAt(`${headerPointer}/schema`);
    if (!validate(typedHeaderValue(value, schema))) {
      problems.push(`header ${name}: ${JSON.stringify(value)} ${schemaErrors(validate)}`);
    }
  }

  const content = (declaredResponse.content ?? {}) as JsonObject;
  const mediaTypes = Object.keys(content);
  if (mediaTypes.length === 0) {
    if (!isEmptyBody(response.body)) problems.push(`status ${response.status} declares no body, but one was sent`);
    return;
  }
  const mediaType = mediaTypeOf(header('content-type'));
  const declaredMediaType = mediaTypes.find((candidate) => candidate.toLowerCase() === mediaType);
  if (declaredMediaType === undefined) {
    problems.push(`content type ${mediaType ?? '(none)'} is not declared (declared: ${mediaTypes.join(', ')})`);
    return;
  }
  const schemaPointer = `${responsePointer}/content/${escapePointerSegment(declaredMediaType)}/schema`;
  if (at(schemaPointer) === undefined) return;
  const validate = validatorAt(schemaPointer);
  if (!validate(response.body))
    problems.push(`body does not match ${declaredMediaType} schema: ${schemaErrors(validate)}`);
}

function splitPointer(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
}
