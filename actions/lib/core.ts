// The @actions/core surface the suite uses. Functions take it as a parameter
// (slack-github-action style) so tests pass a recorder instead of mocking modules.
import type * as actionsCore from '@actions/core';

export type Core = typeof actionsCore;
