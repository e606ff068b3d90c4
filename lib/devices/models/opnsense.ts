import { StringDecoder } from 'node:string_decoder';
import { SaxesParser } from 'saxes';
import { remoteText } from '../../ssh/errors';
import type { DeviceModel } from './model';
import { commonProblem, firstLine } from './output-text';

/**
 * OPNsense (and pfSense-style) firewalls: the whole configuration is one XML
 * file, /conf/config.xml, whose root element is <opnsense>:
 *
 *   <?xml version="1.0"?>
 *   <opnsense>
 *     <system><hostname>fw1</hostname><domain>example.net</domain>…</system>
 *     …
 *     <revision><username>root@10.0.0.5</username><time>1718000000.1234</time><description>…</description></revision>
 *   </opnsense>
 *
 * A backup is that file, whole: an XML document that ends with </opnsense>.
 * `opnsense-version` prints the firmware, e.g. "OPNsense 24.7.5 (amd64)".
 *
 * Values that change on every export, set aside by normalise():
 * - <revision>'s <time>: a fresh timestamp whenever the configuration is
 *   saved, even with nothing changed;
 * - secrets the device encrypts with a fresh random salt each time it writes
 *   them out, in OpenSSL's salted format ("Salted__" + salt + ciphertext, in
 *   base64 "U2FsdGVkX1…"): the same secret reads differently every time. A
 *   secret changed for real is set aside too: comparing cannot tell the two
 *   apart without the key, so such a change shows with the next other change.
 */

export const OPNSENSE_COMMAND = 'cat /conf/config.xml';
export const OPNSENSE_FIRMWARE_COMMAND = 'opnsense-version';

const START = /^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--[\s\S]*?-->\s*)*<opnsense[\s>/]/;
const END = /<\/opnsense>\s*$/;
const REVISION = /<revision>[\s\S]*?<\/revision>/g;
const TIME = /<time>[^<]*<\/time>/g;
/** An element's text that is only an OpenSSL salted ciphertext in base64 (line breaks allowed). */
const SALTED = />\s*U2FsdGVkX1[A-Za-z0-9+/=\r\n]*\s*</g;

/** The start and the end are checked on this many bytes at each edge; the whole is checked by xmlProblem. */
const EDGE_BYTES = 64 * 1024;
/** The document is decoded and parsed this many bytes at a time. */
const PIECE_BYTES = 16 * 1024;

/**
 * Whether the output is one well-formed XML document, in words; null when it
 * is. Parsed as a stream of small pieces (saxes, a strict non-validating
 * parser): a configuration of any size never becomes one large string, which
 * would outlive the collections that run during the parse and stay in V8's
 * old generation until a full one (many devices in a run).
 */
function xmlProblem(output: Buffer): string | null {
  const parser = new SaxesParser({ position: true });
  let problem: string | null = null;
  parser.on('error', (err) => {
    // saxes prefixes its messages with "line:column: "; the line is said once, in our words.
    problem ??= `is not a whole XML document (line ${parser.line}: ${remoteText(err.message.replace(/^\d+:\d+: /, '').replace(/\.$/, ''), 200)})`;
  });
  const decoder = new StringDecoder('utf8');
  for (let at = 0; at < output.length && problem === null; at += PIECE_BYTES) parser.write(decoder.write(output.subarray(at, at + PIECE_BYTES)));
  if (problem === null) parser.write(decoder.end()).close();
  return problem;
}

export function opnsenseModel(command = OPNSENSE_COMMAND): DeviceModel {
  return {
    id: 'opnsense',
    name: 'OPNsense',
    command,
    firmwareCommand: OPNSENSE_FIRMWARE_COMMAND,
    exitStatusRequired: true,
    check(output) {
      const common = commonProblem(output);
      if (common) return common;
      if (!START.test(output.subarray(0, EDGE_BYTES).toString('utf8'))) return 'is not an OPNsense configuration: it does not start with an XML declaration and <opnsense>';
      if (!END.test(output.subarray(-EDGE_BYTES).toString('utf8'))) return 'is truncated: it does not end with </opnsense>';
      return xmlProblem(output);
    },
    normalise(config) {
      const text = config
        .toString('latin1')
        .replace(REVISION, (rev) => rev.replace(TIME, '<time>[set aside]</time>'))
        .replace(SALTED, '>[salted secret]<');
      return Buffer.from(text, 'latin1');
    },
    firmwareVersion(_config, firmwareOutput) {
      return firstLine(firmwareOutput);
    },
    facts(config) {
      const from = config.indexOf('<system>');
      const to = from < 0 ? -1 : config.indexOf('</system>', from);
      const system = to < 0 ? '' : config.subarray(from + '<system>'.length, to).toString('utf8');
      const host = /<hostname>([^<]*)<\/hostname>/.exec(system)?.[1]?.trim();
      const domain = /<domain>([^<]*)<\/domain>/.exec(system)?.[1]?.trim();
      if (!host) return {};
      return { hostname: remoteText(domain ? `${host}.${domain}` : host, 255) };
    },
  };
}
