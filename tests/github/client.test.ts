// The GitHub client (@octokit/rest with the retry and throttling plugins) against a STAND-IN for
// GitHub's REST API whose requests are checked against GitHub's OpenAPI description.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gitHub, upsertComment } from '../../src/github/client.js';
import { registerSecret, resetSecretRegistry } from '../../src/secrets/masking.js';
import { startGitHubStandIn, type GitHubStandIn } from '../helpers/github-stand-in.js';

let github: GitHubStandIn;
beforeEach(async () => {
  github = await startGitHubStandIn();
});
afterEach(async () => {
  resetSecretRegistry();
  await github.close();
});

const pr = { owner: 'octo', repo: 'fleet', number: 3 };

describe('the GitHub client', () => {
  it('waits out a rate limit (403 with x-ratelimit-remaining: 0) as GitHub asks, then succeeds', async () => {
    const log: string[] = [];
    github.failNext.push(403);
    const client = gitHub({ token: 't', baseUrl: `${github.url}/`, log: (l) => log.push(l) });
    const posted = await upsertComment(client, pr, 'plan', 'hello');
    expect(posted.action).toBe('created');
    expect(log.join('\n')).toMatch(/^GitHub rate limit on GET \S+\/repos\/octo\/fleet\/issues\/3\/comments\S*: waiting \d+ s/);
    expect(github.requests.map((r) => r.operationId)).toEqual(['issues/list-comments', 'issues/list-comments', 'issues/create-comment']);
    expect(github.violations).toEqual([]);
  }, 30_000);

  it('gives up after its retries, with GitHub\'s error, when the server keeps failing', async () => {
    github.failNext.push(502, 502, 502);
    const client = gitHub({ token: 't', baseUrl: github.url, retries: 1 });
    await expect(upsertComment(client, pr, 'plan', 'hello')).rejects.toMatchObject({ status: 502 });
    expect(github.comments.get(3)).toBeUndefined();
  }, 30_000);

  it('finds its comment on a later page, and masks secrets in the body it sends', async () => {
    const others = Array.from({ length: 150 }, (_, i) => ({ id: i + 1, body: `comment ${i}`, user: { login: 'someone', type: 'User' as const } }));
    github.comments.set(3, [...others, { id: 999, body: '<!-- myt:plan -->\nold', user: { login: 'github-actions[bot]', type: 'Bot' } }]);
    registerSecret('s3cr3t-value-123');
    const posted = await upsertComment(gitHub({ token: 't', baseUrl: github.url }), pr, 'plan', 'the password is s3cr3t-value-123');
    expect(posted).toEqual({ id: 999, action: 'updated' });
    // 151 comments at 100 a page: the second page holds it.
    expect(github.requests.map((r) => r.operationId)).toEqual(['issues/list-comments', 'issues/list-comments', 'issues/update-comment']);
    expect(github.comments.get(3)!.at(-1)!.body).toBe('<!-- myt:plan -->\nthe password is ***');
    expect(github.violations).toEqual([]);
  }, 30_000);

  it("leaves another bot's comment that carries the marker (it cannot edit it) and keeps its own", async () => {
    // Another app quoting MyT's comment carries the marker too; the workflow token cannot edit it.
    const quoting = { id: 5, body: '<!-- myt:plan -->\nquoted by another bot', user: { login: 'quote-bot[bot]', type: 'Bot' as const } };
    github.comments.set(3, [quoting]);
    const client = gitHub({ token: 't', baseUrl: github.url });
    const first = await upsertComment(client, pr, 'plan', 'plan one');
    expect(first.action).toBe('created');
    const second = await upsertComment(client, pr, 'plan', 'plan two');
    expect(second).toEqual({ id: first.id, action: 'updated' });
    expect(github.comments.get(3)!.map((c) => c.body)).toEqual(['<!-- myt:plan -->\nquoted by another bot', '<!-- myt:plan -->\nplan two']);
  }, 30_000);
});
