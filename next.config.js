/** @type {import('next').NextConfig} */
const nextConfig = {
  // Tests that build in parallel with another checkout's build use their own folder.
  distDir: process.env.WEBCONF_DIST_DIR || '.next',
  // Native and server-only packages stay out of the bundle.
  serverExternalPackages: ['better-sqlite3', 'pino'],
  poweredByHeader: false,
  // The data folder and test artefacts are not part of the app.
  outputFileTracingExcludes: { '*': ['data/**', 'tests/**', 'bench/**'] },
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'X-Frame-Options', value: 'DENY' },
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'Referrer-Policy', value: 'same-origin' },
        ],
      },
    ];
  },
};
module.exports = nextConfig;
