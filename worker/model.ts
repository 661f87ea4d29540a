/** The model this deployment runs: `leadlevel.model.json`, compiled once per isolate. */
import { compileModel, ModelError, type CompiledModel } from '../shared/compile.js';
import type { Model } from '../shared/model.js';
import { b2bDefault } from '../shared/models/b2b-default.js';
import { b2bThreeTier } from '../shared/models/b2b-three-tier.js';
import configured from '../leadlevel.model.json';

export const SHIPPED: Record<string, Model> = { 'b2b-default': b2bDefault, 'b2b-three-tier': b2bThreeTier };

/** The model a model file describes: a shipped one it extends, or the file itself. Throws ModelError. */
export function resolveModel(file: unknown): Model {
  if (typeof file !== 'object' || file === null || Array.isArray(file)) {
    throw new ModelError([{ path: '(file)', reason: `must be a JSON object, {"extends": "b2b-default"} or a full model (got ${JSON.stringify(file)?.slice(0, 40)})` }]);
  }
  const { extends: base, $comment: _, ...rest } = file as { extends?: unknown; $comment?: string } & Partial<Model>;
  if (base !== undefined) {
    const shipped = typeof base === 'string' && Object.hasOwn(SHIPPED, base) ? SHIPPED[base] : undefined;
    if (!shipped) throw new ModelError([{ path: 'extends', reason: `${JSON.stringify(base)?.slice(0, 40)} is not a shipped model (${Object.keys(SHIPPED).join(', ')})` }]);
    return { ...shipped, ...rest } as Model;
  }
  return rest as Model;
}

let compiled: CompiledModel | undefined;
export function activeModel(): CompiledModel {
  return (compiled ??= compileModel(resolveModel(configured)));
}
