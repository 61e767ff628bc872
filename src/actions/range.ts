import { MytError } from '../errors.js';
import { detectChanges, MissingCommitError, parentsOf, requestedChanges, resolveCommit, type ChangeSet, type DeployAction } from '../changes/index.js';
import type { GitHubContext } from './settings.js';

/**
 * What changed, as the event says: a pull request against its base (GITHUB_SHA is the merge
 * commit GitHub made, so the plan is of what merging would give), a push from `before` to
 * `after`, or the platforms named by hand in a workflow_dispatch run.
 */
export async function changesOfEvent(
  root: string,
  context: GitHubContext,
  requested: readonly string[],
  action: DeployAction = 'deploy',
  onNote?: (note: string) => void,
): Promise<ChangeSet> {
  if (requested.length) return requestedChanges(root, context.sha, requested, action);
  const { payload } = context;
  switch (context.eventName) {
    case 'pull_request':
    case 'pull_request_target':
    {
      if (!payload.pull_request) throw new MytError(`the ${context.eventName} event payload has no pull_request`);
      // Without it every platform would look new: refuse rather than plan the whole fleet.
      const base = payload.pull_request.base?.sha;
      if (typeof base !== 'string' || base === '') throw new MytError(`the ${context.eventName} event payload has no pull_request.base.sha: MyT cannot tell what the pull request changed`);
      // On pull_request, GITHUB_SHA is the merge commit GitHub made against the base branch as it is
      // now; the payload's base.sha can be older (the base moved on since the last push to the pull
      // request), and comparing with it would plan other merged work as this pull request's. The
      // merge commit's first parent is exact. (On pull_request_target GITHUB_SHA is the base itself.)
      const head = await resolveCommit(root, context.sha);
      const parents = context.eventName === 'pull_request' ? await parentsOf(root, head) : [];
      return detectChanges({ root, base: parents.length === 2 ? parents[0] : base, head });
    }
    case 'push': {
      // GitHub always sends 'before' (all zeros for a new branch); a payload without it would deploy every platform.
      if (typeof payload.before !== 'string' || payload.before === '') throw new MytError("the push event payload has no 'before' commit: MyT cannot tell what the push changed");
      const head = typeof payload.after === 'string' && payload.after !== '' ? payload.after : context.sha;
      try {
        return await detectChanges({ root, base: payload.before, head });
      } catch (err) {
        // A force push leaves `before` out of every branch, so no clone has it: deploy what is declared.
        if (!(err instanceof MissingCommitError) || !payload.before || !err.message.includes(payload.before)) throw err;
        onNote?.(`the commit before this push (${payload.before.slice(0, 12)}) is in no branch (a force push?): every declared platform is deployed, and no deletion can be seen`);
        return detectChanges({ root, head });
      }
    }
    case 'workflow_dispatch':
      throw new MytError("a workflow_dispatch run must name the platforms (input 'platforms')");
    default:
      throw new MytError(`MyT cannot tell what changed on a '${context.eventName}' event: run it on pull_request, push or workflow_dispatch`);
  }
}
