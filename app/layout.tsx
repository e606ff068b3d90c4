import type { Metadata } from 'next';
import './globals.css';

export const metadata: Metadata = { title: { default: 'Webconf', template: '%s · Webconf' }, icons: { icon: '/favicon.svg' } };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen">
        <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:m-2 focus:rounded focus:bg-white focus:p-2">
          Skip to main content
        </a>
        {children}
      </body>
    </html>
  );
}
