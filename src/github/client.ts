// The one way the actions talk to GitHub's REST API: @octokit/rest with the retry and throttling
// plugins, at GITHUB_API_URL (GitHub Enterprise Server has its own), and the one PR comment MyT
// keeps per pull request, found again by a hidden marker and edited, never posted twice.
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { maskSecrets } from '../secrets/masking.js';

const MytOctokit = Octokit.plugin(retry, throttling);
export type GitHub = InstanceType<typeof MytOctokit>;

export interface GitHubOptions {
  readonly token: string;
  /** GITHUB_API_URL; default https://api.github.com. */
  readonly baseUrl?: string;
  /** Where rate-limit waits are logged. */
  readonly log?: (line: string) => void;
  /** How often a request is tried again after a rate limit or a server error. Default: 3. */
  readonly retries?: number;
}

export function gitHub(opts: GitHubOptions): GitHub {
  const retries = opts.retries ?? 3;
  const log = opts.log ?? (() => undefined);
  return new MytOctokit({
    auth: opts.token,
    baseUrl: (opts.baseUrl ?? 'https://api.github.com').replace(/\/+$/, ''),
    userAgent: 'myt-actions',
    retry: { retries },
    throttle: {
      // Wait as GitHub asks (Retry-After), a few times; then the request fails with GitHub's error.
      onRateLimit: (after, options, _octokit, count) => {
        log(`GitHub rate limit on ${options.method} ${options.url}: waiting ${after} s (attempt ${count + 1})`);
        return count < retries;
      },
      onSecondaryRateLimit: (after, options, _octokit, count) => {
        log(`GitHub secondary rate limit on ${options.method} ${options.url}: waiting ${after} s (attempt ${count + 1})`);
        return count < retries;
      },
    },
  });
}

/** The hidden marker of MyT's plan comment; `kind` keeps other MyT comments apart. */
export function commentMarker(kind: string): string {
  return `<!-- myt:${kind} -->`;
}

export interface PullRequestRef {
  readonly owner: string;
  readonly repo: string;
  readonly number: number;
}

/**
 * Creates MyT's comment on a pull request, or edits the one it made before (the first comment that
 * carries the marker): one comment per pull request, updated on every push. The body passes
 * through the secrets mask first: a comment's edit history keeps every version.
 */
export async function upsertComment(github: GitHub, pr: PullRequestRef, kind: string, body: string): Promise<{ id: number; action: 'created' | 'updated' }> {
  const marker = commentMarker(kind);
  const text = `${marker}\n${maskSecrets(body)}`;
  const comments = github.paginate.iterator(github.rest.issues.listComments, { owner: pr.owner, repo: pr.repo, issue_number: pr.number, per_page: 100 });
  for await (const page of comments) {
    // Only a bot's comment (the workflow token's github-actions[bot], or an app): anyone can type the marker.
    for (const candidate of page.data.filter((c) => c.body?.startsWith(marker) && c.user?.type === 'Bot')) {
      try {
        await github.rest.issues.updateComment({ owner: pr.owner, repo: pr.repo, comment_id: candidate.id, body: text });
        return { id: candidate.id, action: 'updated' };
      } catch (err) {
        // Another bot's comment quoting the marker: this token may not edit it (403), or it is gone (404). Look further.
        const status = (err as { status?: unknown }).status;
        if (status !== 403 && status !== 404) throw err;
      }
    }
  }
  const created = await github.rest.issues.createComment({ owner: pr.owner, repo: pr.repo, issue_number: pr.number, body: text });
  return { id: created.data.id, action: 'created' };
}
