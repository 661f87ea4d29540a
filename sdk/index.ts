/**
 * ESM entry for sites that bundle: `import { createLeadlevel } from 'leadlevel/sdk'`.
 * The same runtime as the script tag, configured in code instead of data attributes.
 */
export { create as createLeadlevel, type Leadlevel, type Options } from './core.js';
