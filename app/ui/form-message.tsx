import type { ActionState } from '@/lib/auth/validated-action';
import { Banner } from './banner';

/** The form-level message of an action's result. */
export function FormMessage({ state, success }: { state: ActionState | undefined; success?: string }) {
  if (!state) return null;
  if (state.ok) return success || state.message ? <Banner kind="success">{state.message ?? success}</Banner> : null;
  return state.message ? <Banner kind="error">{state.message}</Banner> : null;
}
