/** Routing (worker/notify/teams.ts): which teams a lead's move up sends it to, with and without a fit grade. */
import { describe, expect, it } from 'vitest';
import shippedTeams from '../../leadlevel.teams.json';
import { fitOf } from '../../worker/notify/fit.js';
import { teamsFor, type Move, type TeamsConfig } from '../../worker/notify/teams.js';

const cfg = shippedTeams as unknown as TeamsConfig;
const to = (level: string, fit: Move['fit'] = null, kind: Move['kind'] = 'level'): Move => ({ kind, scoringType: 'engagement', to: level, level, stage: null, fit });
const sent = (m: Move) => teamsFor(m, 'engagement', cfg).map((t) => t.id);

describe('the shipped routes: the treatment protocol', () => {
  it('Engaged → SDRs; Hot with fit A/B → AEs, otherwise (C, D, no grade) → SDRs; Very Hot → AEs and their manager', () => {
    expect(sent(to('cold'))).toEqual([]);
    expect(sent(to('warm'))).toEqual([]);
    expect(sent(to('engaged'))).toEqual(['sdr']);
    expect(sent(to('hot', 'A'))).toEqual(['ae']);
    expect(sent(to('hot', 'B'))).toEqual(['ae']);
    expect(sent(to('hot', 'C'))).toEqual(['sdr']);
    expect(sent(to('hot', 'D'))).toEqual(['sdr']);
    expect(sent(to('hot', null))).toEqual(['sdr']);
    expect(sent(to('very_hot', 'A'))).toEqual(['ae', 'manager']);
    expect(sent(to('very_hot', 'D'))).toEqual(['ae', 'manager']);
  });

  it('a level route does not fire on a stage move, nor a route of another scoring type; a team is told once', () => {
    const both: TeamsConfig = {
      teams: cfg.teams,
      routes: [
        { when: { level: 'hot' }, team: 'ae' },
        { when: { level: ['hot', 'very_hot'] }, team: 'ae' },
        { when: { stage: 'mql' }, team: 'sdr' },
        { when: { level: 'hot', scoringType: 'partners' }, team: 'manager' },
      ],
    };
    expect(teamsFor(to('hot'), 'engagement', both).map((t) => t.id)).toEqual(['ae']);
    expect(teamsFor({ ...to('mql', null, 'stage'), level: 'hot', stage: 'mql' }, 'engagement', both).map((t) => t.id)).toEqual(['sdr']);
    expect(teamsFor({ ...to('hot'), scoringType: 'partners' }, 'engagement', both).map((t) => t.id)).toEqual(['manager']);
  });

  it('fit is read from the lead only as a grade A–D; anything else is no grade', () => {
    expect(fitOf({ fit: { grade: 'A', score: 42, reasons: [{ text: 'VP' }] } })).toEqual({ grade: 'A', score: 42, reasons: [{ text: 'VP' }] });
    for (const lead of [{}, null, { fit: null }, { fit: { grade: 'E' } }, { fit: { grade: 1 } }, { fit: 'A' }]) expect(fitOf(lead)).toBeNull();
  });
});
