// Optional second source for gate 6: the latest successful run of the drill workflow, from the
// GitHub API. The Octokit is injected (tests point a real one at a local server).
import type { getOctokit } from '@actions/github';

export type Octokit = ReturnType<typeof getOctokit>;

export interface WorkflowRun {
  id: number;
  url: string;
  /** When the run finished (updated_at of a completed run). */
  time: string;
  branch?: string;
}

export async function latestSuccessfulRun(
  octokit: Octokit,
  repository: string,
  workflow: string,
): Promise<WorkflowRun | undefined> {
  const [owner, repo] = repository.split('/');
  const { data } = await octokit.rest.actions.listWorkflowRuns({
    owner,
    repo,
    workflow_id: /^\d+$/.test(workflow) ? Number(workflow) : workflow,
    status: 'success',
    per_page: 1,
  });
  const run = data.workflow_runs[0];
  if (!run) return undefined;
  return { id: run.id, url: run.html_url, time: run.updated_at, branch: run.head_branch ?? undefined };
}
