import { XMLValidator } from 'fast-xml-parser';
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
      const text = output.toString('utf8');
      if (!START.test(text)) return 'is not an OPNsense configuration: it does not start with an XML declaration and <opnsense>';
      if (!END.test(text)) return 'is truncated: it does not end with </opnsense>';
      const valid = XMLValidator.validate(text);
      if (valid !== true) return `is not a whole XML document (line ${valid.err.line}: ${remoteText(valid.err.msg, 200)})`;
      return null;
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
      const system = /<system>([\s\S]*?)<\/system>/.exec(config.toString('utf8'))?.[1] ?? '';
      const host = /<hostname>([^<]*)<\/hostname>/.exec(system)?.[1]?.trim();
      const domain = /<domain>([^<]*)<\/domain>/.exec(system)?.[1]?.trim();
      if (!host) return {};
      return { hostname: remoteText(domain ? `${host}.${domain}` : host, 255) };
    },
  };
}
