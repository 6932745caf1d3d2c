//! Server and client times, held as UTC milliseconds and shown as RFC 3339 with milliseconds.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A UTC instant with millisecond precision, between years 0000 and 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

/// Why a time string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 date-time (e.g. 2024-01-01T10:00:00Z)")]
pub struct TimestampError;

// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z in Unix milliseconds.
const MIN_MILLIS: i64 = -62_167_219_200_000;
const MAX_MILLIS: i64 = 253_402_300_799_999;

impl Timestamp {
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    /// The current server time.
    pub fn now() -> Self {
        let now = OffsetDateTime::now_utc();
        Self((now.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    pub fn from_millis(millis: i64) -> Self {
        Self(millis.clamp(MIN_MILLIS, MAX_MILLIS))
    }

    pub fn as_millis(self) -> i64 {
        self.0
    }

    pub fn plus_millis(self, millis: i64) -> Self {
        Self::from_millis(self.0.saturating_add(millis))
    }

    /// Parses an RFC 3339 date-time with any offset; sub-millisecond digits are truncated.
    pub fn parse_rfc3339(value: &str) -> Result<Self, TimestampError> {
        let parsed = OffsetDateTime::parse(value, &Rfc3339).map_err(|_| TimestampError)?;
        let millis = parsed.unix_timestamp_nanos().div_euclid(1_000_000);
        let millis = i64::try_from(millis).map_err(|_| TimestampError)?;
        if !(MIN_MILLIS..=MAX_MILLIS).contains(&millis) {
            return Err(TimestampError);
        }
        Ok(Self(millis))
    }

    /// `2024-01-01T12:00:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        let mut out = String::with_capacity(24);
        self.write_rfc3339(&mut out);
        out
    }

    /// Appends the RFC 3339 form to `out`.
    pub fn write_rfc3339(self, out: &mut String) {
        out.push_str(self.rfc3339_bytes().as_str());
    }

    /// Formats without going through `core::fmt` or the heap: this runs for three fields of
    /// every pulled record.
    fn rfc3339_bytes(self) -> Rfc3339Buf {
        let days = self.0.div_euclid(86_400_000);
        let ms_of_day = self.0.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        let mut buf = [0u8; 24];
        let digits = |buf: &mut [u8], mut value: i64| {
            for slot in buf.iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        digits(&mut buf[0..4], year.clamp(0, 9999));
        buf[4] = b'-';
        digits(&mut buf[5..7], month);
        buf[7] = b'-';
        digits(&mut buf[8..10], day);
        buf[10] = b'T';
        digits(&mut buf[11..13], ms_of_day / 3_600_000);
        buf[13] = b':';
        digits(&mut buf[14..16], ms_of_day / 60_000 % 60);
        buf[16] = b':';
        digits(&mut buf[17..19], ms_of_day / 1000 % 60);
        buf[19] = b'.';
        digits(&mut buf[20..23], ms_of_day % 1000);
        buf[23] = b'Z';
        Rfc3339Buf(buf)
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` on the stack.
struct Rfc3339Buf([u8; 24]);

impl Rfc3339Buf {
    fn as_str(&self) -> &str {
        // Every byte is an ASCII digit or separator.
        std::str::from_utf8(&self.0).unwrap_or("0000-01-01T00:00:00.000Z")
    }
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.rfc3339_bytes().as_str())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_render_as_rfc3339_with_milliseconds_in_utc() {
        let ts = Timestamp::parse_rfc3339("2024-01-01T12:00:00Z").unwrap();
        assert_eq!(ts.to_rfc3339(), "2024-01-01T12:00:00.000Z");
        let ts = Timestamp::parse_rfc3339("2024-02-29T23:59:59.1239+02:00").unwrap();
        assert_eq!(ts.to_rfc3339(), "2024-02-29T21:59:59.123Z");
        assert_eq!(
            Timestamp::UNIX_EPOCH.to_rfc3339(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_millis(-1).to_rfc3339(),
            "1969-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn fast_formatting_agrees_with_the_time_crate() {
        for millis in [
            0i64,
            951_782_400_000,
            1_700_000_000_123,
            4_102_444_800_000,
            -86_400_001,
        ] {
            let ours = Timestamp::from_millis(millis).to_rfc3339();
            let theirs = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
                .unwrap()
                .format(&Rfc3339)
                .unwrap();
            assert_eq!(
                Timestamp::parse_rfc3339(&theirs).unwrap().as_millis(),
                millis
            );
            assert_eq!(Timestamp::parse_rfc3339(&ours).unwrap().as_millis(), millis);
        }
    }

    #[test]
    fn malformed_times_are_refused() {
        for bad in [
            "",
            "yesterday",
            "2024-01-01",
            "2024-13-01T00:00:00Z",
            "2024-01-01 10:00",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad}");
        }
    }
}
