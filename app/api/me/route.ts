import { withAuth } from '@/lib/http/route';

/** Who am I: any signed-in account, the OTP user included. */
export const GET = withAuth(
  null,
  async ({ user }) => ({ username: user.username, role: user.role, kind: user.kind }),
  { name: 'api.me' },
);
