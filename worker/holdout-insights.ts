/**
 * Does level-based content convert? The personalization holdout's comparison (SPEC "Model lifecycle and
 * learning"), on the D1 index: the leads the edge first exposed within the window, personalized or held out
 * (worker/experience.ts), and how many of each converted (`Opportunity Created` or `Deal Won`) after that first
 * exposure and by the window's end — a conversion before the visitor saw anything cannot be the content's doing.
 * The lift is the personalized conversion rate over the holdout's, with Katz's 95 % interval (shared/learn/stats.ts).
 */
import { riskRatio, type Lift } from '../shared/learn/stats.js';

/**
 * Below this the answer says "not enough data" instead of a lift: each group needs 100 exposed leads and 5
 * conversions, the usual floor for the log interval's normal approximation (about 5 expected in every cell), and
 * at fewer leads a 10 % holdout is a handful of visitors whose lift would swing on one conversion.
 */
export const HOLDOUT_MINIMUM = { leadsPerGroup: 100, conversionsPerGroup: 5 } as const;

export interface Arm {
  leads: number;
  converted: number;
  /** converted / leads; null without leads. */
  rate: number | null;
}

export interface PersonalizationLift {
  from: string;
  to: string;
  personalized: Arm;
  holdout: Arm;
  /** Personalized rate / holdout rate, with its interval; null when not enough data (see `why`). */
  lift: Lift | null;
  enough: boolean;
  why: string | null;
  minimum: typeof HOLDOUT_MINIMUM;
}

export async function personalizationLift(db: D1Database, from: number, to: number): Promise<PersonalizationLift> {
  const { results } = await db
    .prepare(
      `SELECT holdout, COUNT(*) AS leads,
         SUM(CASE WHEN converted_at IS NOT NULL AND converted_at >= exposed_at AND converted_at <= ?2 THEN 1 ELSE 0 END) AS converted
       FROM leads WHERE holdout IS NOT NULL AND exposed_at >= ?1 AND exposed_at <= ?2 GROUP BY holdout`,
    )
    .bind(from, to)
    .all<{ holdout: number; leads: number; converted: number }>();
  const arm = (h: number): Arm => {
    const r = results.find((x) => x.holdout === h);
    const leads = r?.leads ?? 0;
    const converted = r?.converted ?? 0;
    return { leads, converted, rate: leads ? converted / leads : null };
  };
  const personalized = arm(0);
  const holdout = arm(1);
  const short = [
    ...(personalized.leads < HOLDOUT_MINIMUM.leadsPerGroup || holdout.leads < HOLDOUT_MINIMUM.leadsPerGroup
      ? [`${personalized.leads} personalized and ${holdout.leads} held-out leads were exposed; each group needs ${HOLDOUT_MINIMUM.leadsPerGroup}`]
      : []),
    ...(personalized.converted < HOLDOUT_MINIMUM.conversionsPerGroup || holdout.converted < HOLDOUT_MINIMUM.conversionsPerGroup
      ? [`${personalized.converted} personalized and ${holdout.converted} held-out leads converted; each group needs ${HOLDOUT_MINIMUM.conversionsPerGroup}`]
      : []),
  ];
  const enough = short.length === 0;
  return {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    personalized,
    holdout,
    lift: enough ? riskRatio(personalized.converted, personalized.leads, holdout.converted, holdout.leads) : null,
    enough,
    why: enough ? null : `not enough data: ${short.join('; ')}`,
    minimum: HOLDOUT_MINIMUM,
  };
}
