/**
 * The three-tier preset (SPEC: Cold 0–15, Warm 16–40, Hot 41+): the default rules, with the five-tier floors
 * folded onto three levels (very_hot and hot floors lift to hot, engaged and warm floors to warm).
 */
import type { Model } from '../model.js';
import { B2B_FIT, B2B_HOLDING, B2B_INACTIVITY, B2B_RULES, B2B_SUPPRESS, b2bFloors } from './b2b-default.js';

export const b2bThreeTier: Model = {
  id: 'b2b-three-tier',
  name: 'B2B three tiers',
  version: 1,
  scoringTypes: [
    {
      id: 'engagement',
      name: 'Engagement',
      rules: B2B_RULES,
      windowDays: 30,
      inactivity: B2B_INACTIVITY,
      tiers: [
        { id: 'cold', name: 'Cold', min: 0, max: 15 },
        { id: 'warm', name: 'Warm', min: 16, max: 40 },
        { id: 'hot', name: 'Hot', min: 41 },
      ],
      floors: b2bFloors('hot', 'hot', 'warm', 'warm'),
      surge: { points: 40, days: 7 },
      ladder: { hot: 7, warm: 30 },
      suppress: B2B_SUPPRESS,
    },
  ],
  fit: B2B_FIT,
  holding: B2B_HOLDING,
};
