/**
 * Compile-time proof that the hand-written API types in ./types agree with
 * the types generated from the API's OpenAPI document (./schema.d.ts, made by
 * `just web-types`). What the API sends must fit what the dashboard reads,
 * and what the dashboard sends must fit what the API accepts; if the API
 * changes either, `npm run typecheck` (and so the build and the tests) fails.
 */
import type { components } from './schema'
import type { Job, JobCreate, JobPage, Stats } from './types'

type Schemas = components['schemas']
type Fits<From, To> = [From] extends [To] ? true : false

export const apiTypesAgree: [
  Fits<Schemas['JobRead'], Job>,
  Fits<Schemas['JobPage'], JobPage>,
  Fits<Schemas['Stats'], Stats>,
  Fits<JobCreate, Schemas['JobCreate']>,
] = [true, true, true, true]
