//! RDS IAM authentication tokens: a SigV4 presigned `connect` request, used as the database password.
//!
//! Hand-written instead of the AWS SDK: the token is one HMAC-SHA256 chain over a fixed request, and the SDK would add
//! several hundred kilobytes and its own HTTP stack to a function that needs neither. The tests check it byte for byte
//! against tokens botocore produced for the same inputs.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// How long a token can open connections. RDS accepts at most 15 minutes; a connection outlives its token.
pub const TOKEN_EXPIRY_SECONDS: u32 = 900;

const SERVICE: &str = "rds-db";
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// SHA-256 of the empty body: the presigned request has no payload.
const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The credentials that sign the token: in Lambda, the execution role's temporary credentials from the environment.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

// Never print a secret: logs and error messages may show a Debug representation.
impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl AwsCredentials {
    /// Reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and the optional `AWS_SESSION_TOKEN` (set by Lambda).
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`Self::from_env`], reading variables through `lookup` (empty values count as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let required = |name: &str| get(name).ok_or_else(|| format!("{name} is not set"));
        Ok(Self {
            access_key_id: required("AWS_ACCESS_KEY_ID")?,
            secret_access_key: required("AWS_SECRET_ACCESS_KEY")?,
            session_token: get("AWS_SESSION_TOKEN"),
        })
    }
}

/// The token for `user` at `host:port` (the RDS Proxy endpoint) in `region`, signed at `now`, valid for
/// [`TOKEN_EXPIRY_SECONDS`]. The same string botocore's `generate_db_auth_token` returns.
pub fn rds_auth_token(
    host: &str,
    port: u16,
    region: &str,
    user: &str,
    credentials: &AwsCredentials,
    now: SystemTime,
) -> String {
    let (date, timestamp) = amz_date(now);
    let scope = format!("{date}/{region}/{SERVICE}/aws4_request");

    // botocore's order; the canonical request sorts the same pairs by name.
    let mut query = vec![
        ("Action", "connect".to_owned()),
        ("DBUser", uri_encode(user)),
        ("X-Amz-Algorithm", ALGORITHM.to_owned()),
        (
            "X-Amz-Credential",
            uri_encode(&format!("{}/{scope}", credentials.access_key_id)),
        ),
        ("X-Amz-Date", timestamp.clone()),
        ("X-Amz-Expires", TOKEN_EXPIRY_SECONDS.to_string()),
        ("X-Amz-SignedHeaders", "host".to_owned()),
    ];
    if let Some(token) = &credentials.session_token {
        query.push(("X-Amz-Security-Token", uri_encode(token)));
    }
    let join = |pairs: &[(&str, String)]| {
        pairs
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("&")
    };
    let mut sorted = query.clone();
    sorted.sort();

    let authority = format!("{host}:{port}");
    let canonical_request = format!(
        "GET\n/\n{}\nhost:{authority}\n\nhost\n{EMPTY_PAYLOAD_SHA256}",
        join(&sorted)
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{timestamp}\n{scope}\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );

    let key = [date.as_str(), region, SERVICE, "aws4_request"]
        .iter()
        .fold(
            format!("AWS4{}", credentials.secret_access_key).into_bytes(),
            |key, part| hmac_sha256(&key, part.as_bytes()),
        );
    let signature = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));

    format!("{authority}/?{}&X-Amz-Signature={signature}", join(&query))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 accepts keys of any length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|byte| {
            [
                DIGITS[usize::from(byte >> 4)],
                DIGITS[usize::from(byte & 0x0f)],
            ]
        })
        .map(char::from)
        .collect()
}

/// SigV4 URI encoding: everything but the RFC 3986 unreserved characters, upper-case hex.
fn uri_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// `(YYYYMMDD, YYYYMMDDThhmmssZ)` in UTC. A clock before 1970 (impossible in Lambda) reads as 1970, not a panic.
fn amz_date(now: SystemTime) -> (String, String) {
    let seconds = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let (days, second_of_day) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days);
    let date = format!("{year:04}{month:02}{day:02}");
    let time = format!(
        "{:02}{:02}{:02}",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    );
    (date.clone(), format!("{date}T{time}Z"))
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    // Expected tokens produced by botocore 1.35.99 `generate_db_auth_token` with the clock frozen at
    // 2026-11-22T14:05:09Z: `.venv/bin/python lambda/tests/vectors/rds_iam_token.py` prints them (inputs are there).
    const EXPECTED_WITH_SESSION: &str = "pmp-dev.proxy-abcdefghijkl.eu-central-1.rds.amazonaws.com:5432/?Action=connect&DBUser=pmp_api&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAEXAMPLEKEY123456%2F20261122%2Feu-central-1%2Frds-db%2Faws4_request&X-Amz-Date=20261122T140509Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE%2Ftoken%2Bwith%3Dspecial%2F%2Fchars%3D%3D&X-Amz-Signature=2c140c048af57988351ad67ba581d0dafa08d83e14823d6743d0d416e3ff5ec6";
    const EXPECTED_WITHOUT_SESSION: &str = "db.example.internal:6543/?Action=connect&DBUser=report%20user%40x&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261122%2Fus-east-1%2Frds-db%2Faws4_request&X-Amz-Date=20261122T140509Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=69961729f8d62c2cc536abb8a84ec8f857698ff6c3603382e1ba654f5dfc6bf5";

    /// 2026-11-22T14:05:09Z
    fn frozen() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_795_356_309)
    }

    #[test]
    fn matches_botocore_with_a_session_token() {
        let credentials = AwsCredentials {
            access_key_id: "ASIAEXAMPLEKEY123456".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: Some("IQoJb3JpZ2luX2VjEXAMPLE/token+with=special//chars==".into()),
        };
        let token = rds_auth_token(
            "pmp-dev.proxy-abcdefghijkl.eu-central-1.rds.amazonaws.com",
            5432,
            "eu-central-1",
            "pmp_api",
            &credentials,
            frozen(),
        );
        assert_eq!(token, EXPECTED_WITH_SESSION);
    }

    #[test]
    fn matches_botocore_without_a_session_token() {
        let credentials = AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let token = rds_auth_token(
            "db.example.internal",
            6543,
            "us-east-1",
            "report user@x",
            &credentials,
            frozen(),
        );
        assert_eq!(token, EXPECTED_WITHOUT_SESSION);
    }

    #[test]
    fn dates_are_utc_calendar_dates() {
        let at = |seconds| amz_date(UNIX_EPOCH + Duration::from_secs(seconds)).1;
        assert_eq!(at(0), "19700101T000000Z");
        assert_eq!(at(951_782_400), "20000229T000000Z"); // leap day of a century leap year
        assert_eq!(at(1_709_251_199), "20240229T235959Z");
        assert_eq!(at(4_102_444_800), "21000101T000000Z");
        assert_eq!(
            amz_date(UNIX_EPOCH - Duration::from_secs(5)).1,
            "19700101T000000Z"
        );
    }

    #[test]
    fn uri_encoding_keeps_only_unreserved_characters() {
        assert_eq!(uri_encode("aZ09-_.~"), "aZ09-_.~");
        assert_eq!(uri_encode("a b/c+d=é"), "a%20b%2Fc%2Bd%3D%C3%A9");
    }

    #[test]
    fn credentials_come_from_the_environment_and_never_print() {
        let env = |name: &str| match name {
            "AWS_ACCESS_KEY_ID" => Some("AKID".to_owned()),
            "AWS_SECRET_ACCESS_KEY" => Some("very-secret".to_owned()),
            "AWS_SESSION_TOKEN" => Some(String::new()),
            _ => None,
        };
        let credentials = AwsCredentials::from_lookup(env).expect("credentials are set");
        assert_eq!(
            credentials.session_token, None,
            "an empty token counts as unset"
        );
        assert!(!format!("{credentials:?}").contains("very-secret"));
        let missing = AwsCredentials::from_lookup(|_| None).expect_err("nothing is set");
        assert_eq!(missing, "AWS_ACCESS_KEY_ID is not set");
    }
}
