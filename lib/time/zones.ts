/**
 * IANA time-zone names as people know them today. The ICU data in Node 20
 * still lists some zones under their old names (Asia/Calcutta, Europe/Kiev):
 * the tz database keeps those as links ("backward" file) to the current ones.
 * The list offered maps each known link to its current name; an old name
 * saved before is still accepted everywhere (Intl resolves both).
 */
export const LEGACY_ZONE_LINKS: Readonly<Record<string, string>> = {
  'Asia/Calcutta': 'Asia/Kolkata',
  'Asia/Katmandu': 'Asia/Kathmandu',
  'Asia/Rangoon': 'Asia/Yangon',
  'Asia/Saigon': 'Asia/Ho_Chi_Minh',
  'Europe/Kiev': 'Europe/Kyiv',
  'America/Godthab': 'America/Nuuk',
  'Atlantic/Faeroe': 'Atlantic/Faroe',
  'Pacific/Enderbury': 'Pacific/Kanton',
  'Pacific/Ponape': 'Pacific/Pohnpei',
  'Pacific/Truk': 'Pacific/Chuuk',
  'America/Buenos_Aires': 'America/Argentina/Buenos_Aires',
  'America/Catamarca': 'America/Argentina/Catamarca',
  'America/Cordoba': 'America/Argentina/Cordoba',
  'America/Jujuy': 'America/Argentina/Jujuy',
  'America/Mendoza': 'America/Argentina/Mendoza',
  'America/Indianapolis': 'America/Indiana/Indianapolis',
  'America/Louisville': 'America/Kentucky/Louisville',
  'Asia/Chongqing': 'Asia/Shanghai',
  'Asia/Dacca': 'Asia/Dhaka',
  'Asia/Thimbu': 'Asia/Thimphu',
  'Asia/Ujung_Pandang': 'Asia/Makassar',
  'Asia/Ulan_Bator': 'Asia/Ulaanbaatar',
  'Europe/Uzhgorod': 'Europe/Kyiv',
  'Europe/Zaporozhye': 'Europe/Kyiv',
};

/** The current name of a zone: the link's target, or the name itself. */
export function currentZoneName(tz: string): string {
  return LEGACY_ZONE_LINKS[tz] ?? tz;
}

/** The zones this runtime knows, under current names, each once, with UTC first. */
export function timeZoneNames(): string[] {
  const names = new Set(Intl.supportedValuesOf('timeZone').map(currentZoneName));
  names.delete('UTC');
  return ['UTC', ...[...names].sort()];
}
