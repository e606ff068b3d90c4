/**
 * State that must be one per process. Next.js bundles a module into every
 * chunk that imports it (route handlers, pages and server actions each get
 * their own copy), so a module-level Map is not shared between a route
 * handler and a server action: a USB drive's lock and use count taken by
 * one were invisible to the other. State kept here lives on globalThis
 * under a registered symbol and is the same object in every copy.
 */
export function processState<T>(name: string, init: () => T): T {
  const key = Symbol.for(`webconf.${name}`);
  const g = globalThis as unknown as Record<symbol, T>;
  if (!(key in g)) g[key] = init();
  return g[key];
}
