//! The login token: kept in the OS keyring (Secret Service on Linux), one entry per playback
//! API. Where no keyring service runs (servers, CI) that is said in one line and `REEL_TOKEN`
//! from the environment is used instead. The token is never written to a file or a log.

/// Environment variable that supplies a token (and wins over the keyring).
pub const TOKEN_ENV: &str = "REEL_TOKEN";

const SERVICE: &str = "reel";

/// Where a token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// The `REEL_TOKEN` environment variable.
    Environment,
    /// The OS keyring.
    Keyring,
}

/// Token storage problems, each one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No keyring service is reachable.
    #[error(
        "no keyring service is available here ({0}); set {TOKEN_ENV} in the environment instead"
    )]
    NoKeyring(String),
    /// Nothing stored and nothing in the environment.
    #[error("not logged in to {0}: run `reel login` (or set {TOKEN_ENV})")]
    NotLoggedIn(String),
}

fn entry(backend: &str) -> Result<keyring::Entry, TokenError> {
    keyring::Entry::new(SERVICE, backend).map_err(|e| TokenError::NoKeyring(one_line(&e)))
}

fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or_default().to_owned()
}

/// The token for `backend`: `REEL_TOKEN` if set, else the keyring's.
pub fn load(backend: &str) -> Result<(String, TokenSource), TokenError> {
    if let Ok(t) = std::env::var(TOKEN_ENV)
        && !t.trim().is_empty()
    {
        return Ok((t.trim().to_owned(), TokenSource::Environment));
    }
    match entry(backend)?.get_password() {
        Ok(t) => Ok((t, TokenSource::Keyring)),
        Err(keyring::Error::NoEntry) => Err(TokenError::NotLoggedIn(backend.to_owned())),
        Err(e) => Err(TokenError::NoKeyring(one_line(&e))),
    }
}

/// Stores the token for `backend` in the keyring.
pub fn store(backend: &str, token: &str) -> Result<(), TokenError> {
    entry(backend)?
        .set_password(token)
        .map_err(|e| TokenError::NoKeyring(one_line(&e)))
}

/// Forgets the token for `backend`; `Ok(false)` when there was none.
pub fn delete(backend: &str) -> Result<bool, TokenError> {
    match entry(backend)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(TokenError::NoKeyring(one_line(&e))),
    }
}
