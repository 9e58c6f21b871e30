//! Users and bearer tokens of the playback API: HS256-signed JWTs with an expiry.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The user that exists when no users file is given.
pub const DEMO_USER: (&str, &str) = ("demo", "reel");

/// One account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Password (this is a development stub: a production service keeps only a slow hash).
    pub password: String,
}

/// A users file: `[[user]]` tables with `name` and `password`.
#[derive(Debug, Clone, Deserialize)]
struct UsersFile {
    user: Vec<User>,
}

/// Reads a TOML users file.
pub fn load_users(path: &Path) -> Result<Vec<User>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read users file {}: {e}", path.display()))?;
    let file: UsersFile =
        toml::from_str(&text).map_err(|e| format!("users file {}: {e}", path.display()))?;
    if file.user.is_empty() {
        return Err(format!("users file {} lists no user", path.display()));
    }
    Ok(file.user)
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: u64,
    exp: u64,
    /// Not valid before (seconds since the epoch); this backend's tokens carry none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
}

/// Clock skew forgiven on a token's `nbf` and `iat`, seconds (its expiry is exact).
pub const CLOCK_LEEWAY_S: u64 = 30;

/// Why a request's token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No `Authorization: Bearer …` header.
    #[error(
        "missing bearer token: log in with POST /v1/login and send Authorization: Bearer <token>"
    )]
    Missing,
    /// Past its expiry.
    #[error("the token has expired; log in again")]
    Expired,
    /// Not signed by this backend, or malformed.
    #[error("invalid token")]
    Invalid,
}

/// Issues and checks tokens.
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Tokens {
    /// Tokens signed with `secret`, valid for `ttl`.
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl,
        }
    }

    /// A token for `user`, and its expiry (seconds since the epoch).
    pub fn issue(&self, user: &str) -> (String, u64) {
        let iat = now_s();
        let exp = iat + self.ttl.as_secs();
        let claims = Claims {
            sub: user.into(),
            iat,
            exp,
            nbf: None,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail");
        (token, exp)
    }

    /// Checks an `Authorization` header value; returns the user.
    pub fn verify_header(&self, authorization: Option<&str>) -> Result<String, TokenError> {
        // The scheme's name is case-insensitive (RFC 9110, 11.1).
        let token = authorization
            .and_then(|h| h.trim_start().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty())
            .ok_or(TokenError::Missing)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation) {
            // Not valid yet, or issued in the future (a clock or a forger ahead of ours): refused
            // as any bad token is, the answer saying nothing of which check failed.
            Ok(data)
                if data.claims.iat > now_s() + CLOCK_LEEWAY_S
                    || data
                        .claims
                        .nbf
                        .is_some_and(|nbf| nbf > now_s() + CLOCK_LEEWAY_S) =>
            {
                Err(TokenError::Invalid)
            }
            Ok(data) => Ok(data.claims.sub),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                Err(TokenError::Expired)
            }
            Err(_) => Err(TokenError::Invalid),
        }
    }
}

/// A random 32-byte signing secret from the operating system's generator.
pub fn random_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 32];
    getrandom::fill(&mut secret).expect("the OS random generator is available");
    secret
}

/// An unguessable identifier (128 random bits, hex): session ids are capabilities.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random generator is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_and_forged_ones_do_not() {
        let tokens = Tokens::new(b"secret-one", Duration::from_secs(60));
        let (t, exp) = tokens.issue("demo");
        assert!(exp > now_s());
        assert_eq!(
            tokens.verify_header(Some(&format!("Bearer {t}"))),
            Ok("demo".into())
        );
        let other = Tokens::new(b"secret-two", Duration::from_secs(60));
        assert_eq!(
            other.verify_header(Some(&format!("Bearer {t}"))),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            tokens.verify_header(Some("Bearer not.a.jwt")),
            Err(TokenError::Invalid)
        );
        assert_eq!(tokens.verify_header(None), Err(TokenError::Missing));
        assert_eq!(
            tokens.verify_header(Some("Basic abc")),
            Err(TokenError::Missing)
        );
        for scheme in ["bearer", "BEARER", "BeArEr"] {
            assert_eq!(
                tokens.verify_header(Some(&format!("{scheme} {t}"))),
                Ok("demo".into()),
                "{scheme}"
            );
        }
        assert_eq!(
            tokens.verify_header(Some("Bearer")),
            Err(TokenError::Missing)
        );
    }

    #[test]
    fn expired_tokens_are_refused_as_expired() {
        let tokens = Tokens::new(b"k", Duration::from_secs(0));
        let claims = Claims {
            sub: "demo".into(),
            iat: now_s() - 100,
            exp: now_s() - 50,
            nbf: None,
        };
        let t = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &tokens.encoding)
            .unwrap();
        assert_eq!(
            tokens.verify_header(Some(&format!("Bearer {t}"))),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn tokens_not_valid_yet_or_issued_in_the_future_are_refused_past_the_leeway() {
        let tokens = Tokens::new(b"k", Duration::from_secs(60));
        let signed = |iat: u64, nbf: Option<u64>| {
            let claims = Claims {
                sub: "demo".into(),
                iat,
                exp: now_s() + 3600,
                nbf,
            };
            let t = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &tokens.encoding)
                .unwrap();
            tokens.verify_header(Some(&format!("Bearer {t}")))
        };
        let now = now_s();
        assert_eq!(signed(now, None), Ok("demo".into()));
        // A clock a little ahead is forgiven.
        assert_eq!(signed(now + 5, Some(now + 5)), Ok("demo".into()));
        assert_eq!(signed(now, Some(now - 60)), Ok("demo".into()));
        // Beyond the leeway: refused, and said no differently from a forged token.
        assert_eq!(
            signed(now, Some(now + CLOCK_LEEWAY_S + 60)),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            signed(now + CLOCK_LEEWAY_S + 60, None),
            Err(TokenError::Invalid)
        );
        assert_eq!(TokenError::Invalid.to_string(), "invalid token");
    }

    #[test]
    fn users_file_is_toml() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("users.toml");
        std::fs::write(&p, "[[user]]\nname = \"ann\"\npassword = \"pw\"\n").unwrap();
        assert_eq!(load_users(&p).unwrap()[0].name, "ann");
        std::fs::write(&p, "user = []\n").unwrap();
        assert!(load_users(&p).unwrap_err().contains("no user"));
    }
}
