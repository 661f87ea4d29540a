/** The model file and the site file, checked as a whole (worker/config.ts): what npm start, deploy and the Worker use. */
import { describe, expect, it } from 'vitest';
import shippedModel from '../../leadlevel.model.json';
import shippedSite from '../../leadlevel.site.json';
import shippedTeams from '../../leadlevel.teams.json';
import { checkConfig, formatConfigProblems } from '../../worker/config.js';

const paths = (model: unknown, site: unknown = shippedSite) => checkConfig(model, site).map((p) => `${p.file} ${p.path}`);

describe('checkConfig', () => {
  it('the shipped files are valid', () => {
    expect(checkConfig(shippedModel, shippedSite)).toEqual([]);
  });

  it('the README’s {"extends": "b2b-three-tier"} with the shipped site file: every level the model lacks', () => {
    const problems = checkConfig({ extends: 'b2b-three-tier' }, shippedSite);
    expect(formatConfigProblems(problems)).toBe(
      [
        'leadlevel.site.json content.hero-cta.engaged: no level "engaged" (levels: cold, warm, hot, or default)',
        'leadlevel.site.json content.hero-cta.very_hot: no level "very_hot" (levels: cold, warm, hot, or default)',
        'leadlevel.site.json treatments.very_hot: no level "very_hot" (levels: cold, warm, hot)',
        'leadlevel.site.json treatments.engaged: no level "engaged" (levels: cold, warm, hot)',
      ].join('\n'),
    );
    // A site file written for three tiers fits it.
    const threeTierSite = { origin: null, content: { 'hero-cta': { cold: 'a', hot: 'b', default: 'c' } }, treatments: { hot: shippedSite.treatments.hot } };
    expect(checkConfig({ extends: 'b2b-three-tier' }, threeTierSite)).toEqual([]);
  });

  it('an unknown extends, or one that is not a string, or a name only an object prototype has', () => {
    for (const base of ['b2b-fancy', 42, 'toString', '__proto__']) {
      const problems = checkConfig({ extends: base }, shippedSite);
      expect(problems).toEqual([{ file: 'leadlevel.model.json', path: 'extends', reason: expect.stringMatching(/is not a shipped model \(b2b-default, b2b-three-tier\)/) }]);
    }
  });

  it('files that are not objects: null, an array, a string — each named, never a crash', () => {
    expect(paths(null)).toEqual(['leadlevel.model.json (file)']);
    expect(paths([], null)).toEqual(['leadlevel.model.json (file)', 'leadlevel.site.json (file)']);
    expect(paths(shippedModel, 'x')).toEqual(['leadlevel.site.json (file)']);
    // A model the validator chokes on is still a problem in the list, not an exception.
    expect(paths({ id: 'x', scoringTypes: [null] }).every((p) => p.startsWith('leadlevel.model.json'))).toBe(true);
    expect(paths({ id: 'x', scoringTypes: [null] }).length).toBeGreaterThan(0);
  });

  it('a broken model is reported without checking the site against levels it cannot know; site shape is still checked', () => {
    const problems = checkConfig({ extends: 'b2b-default', scoringTypes: [] }, { content: { hero: 'not a map' }, treatments: { nowhere: {} } });
    expect(problems.map((p) => `${p.file} ${p.path}`)).toEqual(['leadlevel.model.json scoringTypes', 'leadlevel.site.json content.hero', 'leadlevel.site.json treatments.nowhere']);
    expect(problems[2].reason).toMatch(/needs salesInvolvement/);
  });

  it('with the default model: a content variant or treatment for a level that does not exist', () => {
    const site = { ...shippedSite, content: { hero: { scorching: '<b>x</b>', default: '<i>y</i>' } }, treatments: { ...shippedSite.treatments, lukewarm: shippedSite.treatments.warm } };
    expect(paths(shippedModel, site)).toEqual(['leadlevel.site.json content.hero.scorching', 'leadlevel.site.json treatments.lukewarm']);
  });
});

describe('checkConfig with the teams file', () => {
  const teams = (t: unknown) => checkConfig(shippedModel, shippedSite, t).map((p) => `${p.file} ${p.path}: ${p.reason}`);
  const team = (extra: Record<string, unknown> = {}) => ({ id: 'sdr', name: 'SDRs', destinations: [{ type: 'webhook', url: 'https://hooks.example.com/x' }], ...extra });

  it('the shipped teams file is valid, and routes the treatment protocol', () => {
    expect(checkConfig(shippedModel, shippedSite, shippedTeams)).toEqual([]);
    expect(shippedTeams.routes).toEqual([
      { when: { level: 'engaged' }, team: 'sdr' },
      { when: { level: 'hot', fit: ['A', 'B'] }, team: 'ae' },
      { when: { level: 'hot', fit: ['C', 'D', 'none'] }, team: 'sdr' },
      { when: { level: 'very_hot' }, team: 'ae' },
      { when: { level: 'very_hot' }, team: 'manager' },
    ]);
    // Placeholders on loopback: nothing leaves the machine until they are replaced.
    for (const t of shippedTeams.teams) for (const d of t.destinations) if ('url' in d) expect(new URL(d.url).hostname).toBe('127.0.0.1');
  });

  it('an unknown team, level, stage, scoring type or fit grade; a bad URL, email, zone or type: every problem, named', () => {
    expect(
      teams({
        teams: [
          team({ escalateTo: 'nobody', timeZone: 'Mars/Olympus' }),
          { id: 'ae', name: 'AEs', destinations: [{ type: 'webhook', url: 'ftp://x' }, { type: 'slack', url: 'not a url' }, { type: 'email', to: ['not-an-email'] }, { type: 'pager' }] },
          team(),
        ],
        routes: [
          { when: { level: 'scorching' }, team: 'sdr' },
          { when: { level: 'hot' }, team: 'closers' },
          { when: { stage: 'mql' }, team: 'sdr' },
          { when: { level: 'hot', scoringType: 'partners' }, team: 'sdr' },
          { when: { level: 'hot', fit: 'E' }, team: 'sdr' },
          { when: { fit: 'A' }, team: 'sdr' },
        ],
      }),
    ).toEqual([
      'leadlevel.teams.json teams[0].timeZone: "Mars/Olympus" is not an IANA time zone (like "Europe/Berlin")',
      'leadlevel.teams.json teams[1].destinations[0].url: "ftp://x" is not an http(s) URL',
      'leadlevel.teams.json teams[1].destinations[1].url: "not a url" is not a URL',
      'leadlevel.teams.json teams[1].destinations[2].to[0]: "not-an-email" is not an email address',
      'leadlevel.teams.json teams[1].destinations[3].type: "pager" is not a destination type (webhook, slack, email)',
      'leadlevel.teams.json teams[2].id: "sdr" is the id of an earlier team too',
      'leadlevel.teams.json teams[0].escalateTo: no team "nobody" (teams: sdr, ae)',
      'leadlevel.teams.json routes[0].when.level: no level "scorching" (levels: cold, warm, engaged, hot, very_hot)',
      'leadlevel.teams.json routes[1].team: no team "closers" (teams: sdr, ae)',
      'leadlevel.teams.json routes[2].when.stage: no stage "mql" (stages: the model has none)',
      'leadlevel.teams.json routes[3].when.scoringType: no scoring type "partners" in the model (engagement)',
      'leadlevel.teams.json routes[4].when.fit: "E" is not a fit grade (A, B, C, D, or none: no fit grade)',
      'leadlevel.teams.json routes[5].when: needs a level or a stage: what a lead moves into to be sent to the team',
    ]);
  });

  it('SLA settings: spans per level, business hours per team — every bad one named', () => {
    const good = { teams: [team({ businessHours: { start: '08:30', end: '18:00', days: [1, 2, 3, 4, 5, 6] } })], routes: [], sla: { very_hot: { hours: 2 }, hot: { businessHours: 6 }, engaged: { businessDays: 3 }, warm: null } };
    expect(teams(good)).toEqual([]);
    expect(
      teams({
        teams: [team({ businessHours: { start: '9am', end: '17:00', days: [0, 1], lunch: true } }), { ...team({ businessHours: { start: '17:00', end: '09:00', days: [] } }), id: 'ae' }, { ...team({ businessHours: 'weekdays' }), id: 'x' }],
        routes: [],
        sla: { scorching: { hours: 1 }, very_hot: { minutes: 30 }, hot: { hours: -1 }, engaged: { businessDays: 3, hours: 1 }, warm: 5 },
      }),
    ).toEqual([
      'leadlevel.teams.json sla.scorching: no level "scorching" (levels: cold, warm, engaged, hot, very_hot)',
      'leadlevel.teams.json sla.very_hot: must be one of { "hours": n }, { "businessHours": n }, { "businessDays": n }, or null for no SLA (got {"minutes":30})',
      'leadlevel.teams.json sla.hot.hours: must be a number above 0 and at most 8784 (got -1)',
      'leadlevel.teams.json sla.engaged: must be one of { "hours": n }, { "businessHours": n }, { "businessDays": n }, or null for no SLA (got {"businessDays":3,"hours":1})',
      'leadlevel.teams.json sla.warm: must be one of { "hours": n }, { "businessHours": n }, { "businessDays": n }, or null for no SLA (got 5)',
      'leadlevel.teams.json teams[0].businessHours.lunch: is not a field of business hours (start, end, days)',
      'leadlevel.teams.json teams[0].businessHours.start: must be a time of day "HH:MM", 24-hour (got "9am")',
      'leadlevel.teams.json teams[0].businessHours.days[0]: 0 is not an ISO weekday (1 Monday … 7 Sunday)',
      'leadlevel.teams.json teams[1].businessHours.end: must be after start (17:00) on the same day',
      'leadlevel.teams.json teams[1].businessHours.days: must be a list of one or more ISO weekdays (1 Monday … 7 Sunday)',
      'leadlevel.teams.json teams[2].businessHours: must be { "start": "09:00", "end": "17:00", "days": [1, 2, 3, 4, 5] } (days: 1 Monday … 7 Sunday)',
    ]);
    expect(teams({ teams: [team()], sla: ['very_hot'] })).toEqual(['leadlevel.teams.json sla: must map level ids to a span ({ "hours" }, { "businessHours" } or { "businessDays" }) or null for none']);
  });

  it('files that are not teams files: null, a list, no teams — named, never a crash', () => {
    expect(teams(null)).toEqual(['leadlevel.teams.json (file): must be a JSON object with teams and routes (got null)']);
    expect(teams([])).toEqual(['leadlevel.teams.json (file): must be a JSON object with teams and routes (got [])']);
    expect(teams({ routes: [] })).toEqual(['leadlevel.teams.json teams: must be a list of { id, name, destinations }']);
    expect(teams({ teams: [null], routes: [null] })).toEqual([
      'leadlevel.teams.json teams[0]: must be an object { id, name, destinations }',
      'leadlevel.teams.json routes[0]: must be { "when": { level?, fit?, stage?, scoringType? }, "team" }',
    ]);
  });

  it('the README’s three-tier model with the shipped teams file: routes to levels it lacks', () => {
    const threeTierSite = { origin: null, content: {}, treatments: {} };
    expect(checkConfig({ extends: 'b2b-three-tier' }, threeTierSite, shippedTeams).map((p) => `${p.path}: ${p.reason}`)).toEqual([
      'routes[0].when.level: no level "engaged" (levels: cold, warm, hot)',
      'routes[3].when.level: no level "very_hot" (levels: cold, warm, hot)',
      'routes[4].when.level: no level "very_hot" (levels: cold, warm, hot)',
    ]);
  });
});
