/** Vitest global setup for tests over HTTP: the collector as `npm start` runs it, on a free port. */
import type { TestProject } from 'vitest/node';
import { startLocal } from '../../scripts/local-collector.js';

declare module 'vitest' {
  export interface ProvidedContext {
    collector: string;
  }
}

export default async function setup(project: TestProject) {
  const local = await startLocal();
  project.provide('collector', local.url);
  return () => local.stop();
}
