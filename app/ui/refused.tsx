import { Banner } from './banner';

/** What a page shows a signed-in user whose role may not see it. */
export function Refused({ title, message }: { title: string; message: string }) {
  return (
    <section aria-labelledby="refused-title">
      <h1 id="refused-title" className="mb-4 text-2xl font-semibold">
        {title}
      </h1>
      <Banner kind="error" testId="refused">
        {message}
      </Banner>
    </section>
  );
}
