/** The model this deployment runs: `leadlevel.model.json`, compiled once per isolate. */
import { compileModel, type CompiledModel } from '../shared/compile.js';
import type { Model } from '../shared/model.js';
import { b2bDefault } from '../shared/models/b2b-default.js';
import { b2bThreeTier } from '../shared/models/b2b-three-tier.js';
import configured from '../leadlevel.model.json';

export const SHIPPED: Record<string, Model> = { 'b2b-default': b2bDefault, 'b2b-three-tier': b2bThreeTier };

export function resolveModel(file: Record<string, unknown>): Model {
  const { extends: base, $comment: _, ...rest } = file as { extends?: string; $comment?: string } & Partial<Model>;
  if (base !== undefined) {
    const shipped = SHIPPED[base];
    if (!shipped) throw new Error(`leadlevel.model.json: "extends": "${base}" is not a shipped model (${Object.keys(SHIPPED).join(', ')})`);
    return { ...shipped, ...rest } as Model;
  }
  return rest as Model;
}

let compiled: CompiledModel | undefined;
export function activeModel(): CompiledModel {
  return (compiled ??= compileModel(resolveModel(configured)));
}
