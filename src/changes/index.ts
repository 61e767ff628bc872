// Change detection: which platforms a commit range changed, and the deploy matrix made from them.
export { declaredAt, detectChanges, requestedChanges, type ChangeSet, type DeletedPlatform, type DeployAction, type DetectOptions, type PlatformChange } from './detect.js';
export { deployMatrix, groupKey, leftRunning, toDestroy, GITHUB_MATRIX_LIMIT, type DeployMatrix, type MatrixJob } from './matrix.js';
export { MissingCommitError, parentsOf, resolveCommit, NO_COMMIT } from './git-tree.js';
export { DECLARATION_NAME } from './snapshot.js';
