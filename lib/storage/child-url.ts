/** An entry's URL from its page (BrowseResult in browser.ts): prefix, the encoded name, suffix (an NFS URL ends with ?version=). */
export function childUrl(page: { childUrlPrefix: string; childUrlSuffix: string }, name: string): string {
  return `${page.childUrlPrefix}${encodeURIComponent(name)}${page.childUrlSuffix}`;
}
