/**
 * Gauge values as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes them, which is what Cloud Foundry drains send:
 * the shortest digits that round-trip, in exponent form when the exponent is below -4 or at least 6
 * (`1234567` is `1.234567e+06`). Receivers' parsers built for CF drains see the same text from us.
 */
export function formatGoFloat(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  if (Object.is(v, -0)) return "-0";
  // With no argument, toExponential gives the shortest mantissa that round-trips, like Go's shortest mode.
  const [mantissa = "", expText = "0"] = v.toExponential().split("e");
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  // In this range JavaScript's shortest form is already positional and identical to Go's.
  return String(v);
}
