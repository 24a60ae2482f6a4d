// Words and numbers a person reads: dates and times in the reader's locale and time zone (the zone is
// named once, in the page footer), calendar dates without a time zone, waits and ages in words,
// counts with thousands separators.

/** The browser's IANA time zone. */
export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** The reader's time zone as people name it: "Central European Standard Time (Europe/Berlin)". */
export function zoneName(zone = browserZone()) {
  const part = new Intl.DateTimeFormat(undefined, { timeZone: zone, timeZoneName: "long" })
    .formatToParts(new Date())
    .find((p) => p.type === "timeZoneName");
  return part && part.value !== zone ? `${part.value} (${zone})` : zone;
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dayFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });
const calendarFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });

/** An instant as people read it, in their own time zone: "3 Dec 2026, 14:05"; "—" for none. */
export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "—" : dateTimeFormat.format(date);
}

/** The day of an instant, in the reader's time zone: "3 Dec 2026"; "—" for none. */
export function day(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "—" : dayFormat.format(date);
}

/** A calendar date ("1980-12-03", a date of birth) as people read it, "3 Dec 1980", never shifted by
 * a time zone; the text itself if it is not a date. */
export function calendarDay(text) {
  if (!text) return "—";
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return text;
  return calendarFormat.format(new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))));
}

const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const UNITS = [
  ["year", 365 * 86400],
  ["month", 30 * 86400],
  ["week", 7 * 86400],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

/** How far an instant is from now, in words: "in 15 minutes", "3 days ago", "yesterday". */
export function relative(iso, now = Date.now()) {
  if (!iso) return "—";
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  if (Number.isNaN(seconds)) return "—";
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === "second") {
      return relativeFormat.format(Math.round(seconds / size), unit);
    }
  }
  return relativeFormat.format(0, "second");
}

/** A count with the reader's thousands separators: "12,345". */
export const count = (n) => Number(n).toLocaleString();

// ISO 3166-1 two-letter codes of the countries and territories with their own telephone numbering.
const REGIONS = "AC AD AE AF AG AI AL AM AO AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GT GU GW GY HK HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TA TC TD TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW".split(" ");

/** The reader's country, from their browser's language ("en-GB" gives "GB"), or "" if it names none. */
export function browserRegion() {
  try {
    const region = new Intl.Locale(navigator.language || "en").maximize().region || "";
    return REGIONS.includes(region) ? region : "";
  } catch {
    return "";
  }
}

/** Every country as an <option>, named in the reader's language and sorted by that name. */
export function countryChoices() {
  const names = new Intl.DisplayNames(undefined, { type: "region" });
  return REGIONS.map((code) => [code, names.of(code) || code])
    .sort((a, b) => a[1].localeCompare(b[1]))
    .map(([code, name]) => {
      const option = document.createElement("option");
      option.value = code;
      option.textContent = name;
      return option;
    });
}
