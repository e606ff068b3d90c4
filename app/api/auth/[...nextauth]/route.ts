import NextAuth from 'next-auth';
import { authOptions } from '@/lib/auth/options';

/** next-auth's own routes (sign-in, callback, CSRF token, sign-out), with options built per request. */
async function handler(req: Request, ctx: { params: Promise<{ nextauth: string[] }> }) {
  const params = await ctx.params;
  return NextAuth(req as never, { params } as never, authOptions());
}

export { handler as GET, handler as POST };
