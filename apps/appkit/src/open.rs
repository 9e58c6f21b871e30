//! Opening something to play, the same way in both players: the engine's settings from
//! `config.toml`, and a target that is either a manifest URL or a title resolved through the
//! playback API with the stored token (whose ordered cache list becomes the pathway order).

use player_core::BufferPolicy;
use player_core::protocol::Format;
use player_core::{PlayerConfig, Url};

use crate::api::{Client, ClientError};
use crate::settings::Settings;
use crate::token::{self, TokenError};

/// Why a target cannot be opened, in one line.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// An ABR name the engine does not know.
    #[error("unknown ABR algorithm {0:?}; use one of {1}")]
    UnknownAbr(String, String),
    /// Something with `://` that does not parse.
    #[error("{0:?} is not a URL: {1}")]
    BadUrl(String, String),
    /// An empty target.
    #[error("nothing to open: give a manifest URL or a title")]
    Empty,
    /// No usable token.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The API refused the token.
    #[error("{0}: the token is missing, wrong or expired; log in again (`reel login`)")]
    Unauthorized(String),
    /// Any other API problem.
    #[error(transparent)]
    Api(ClientError),
}

impl From<ClientError> for OpenError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Unauthorized(m) => OpenError::Unauthorized(m),
            other => OpenError::Api(other),
        }
    }
}

/// The engine's settings from `config.toml`, with the ABR algorithm overridden by `abr`.
pub fn player_config(settings: &Settings, abr: Option<&str>) -> Result<PlayerConfig, OpenError> {
    let name = abr.unwrap_or(&settings.abr);
    let algorithm = player_core::abr::by_name(name).ok_or_else(|| {
        OpenError::UnknownAbr(name.to_owned(), player_core::abr::ALGORITHMS.join(", "))
    })?;
    let b = &settings.buffer;
    Ok(PlayerConfig {
        abr: algorithm,
        buffer: BufferPolicy {
            startup_s: b.startup_s,
            resume_s: b.resume_s,
            low_watermark_s: b.low_watermark_s,
            high_watermark_s: b.high_watermark_s,
            ..BufferPolicy::default()
        },
        subtitle_language: settings.subtitle_language.clone(),
        audio_language: settings.audio_language.clone(),
        ..PlayerConfig::default()
    })
}

/// A target ready for the engine.
#[derive(Debug)]
pub struct Opened {
    /// The manifest.
    pub url: Url,
    /// What to call it on screen.
    pub title: String,
    /// The playback API, when the target was a title (for the caches' health).
    pub api: Option<Client>,
    /// The token the title was opened with (for its bookmark).
    pub token: Option<String>,
}

/// The stored token (keyring or `REEL_TOKEN`), read off the async threads.
pub async fn stored_token(backend: &str) -> Result<String, OpenError> {
    let backend = backend.to_owned();
    let loaded = tokio::task::spawn_blocking(move || token::load(&backend))
        .await
        .map_err(|e| OpenError::Token(TokenError::NoKeyring(e.to_string())))?;
    Ok(loaded?.0)
}

/// Resolves `target` — a manifest URL, or a title id at the playback API `backend` — and
/// seeds `config` with the API's cache order and the content id.
pub async fn resolve(
    target: &str,
    backend: &str,
    format: Format,
    config: &mut PlayerConfig,
) -> Result<Opened, OpenError> {
    resolve_with_token(target, backend, format, None, config).await
}

/// [`resolve`] with a token already in hand (the demo's login, or a login the keyring could not
/// keep) instead of the stored one; `None` reads the stored token.
pub async fn resolve_with_token(
    target: &str,
    backend: &str,
    format: Format,
    token: Option<&str>,
    config: &mut PlayerConfig,
) -> Result<Opened, OpenError> {
    let target = target.trim();
    if target.contains("://") {
        let url =
            Url::parse(target).map_err(|e| OpenError::BadUrl(target.into(), e.to_string()))?;
        return Ok(Opened {
            url,
            title: target.to_owned(),
            api: None,
            token: None,
        });
    }
    if target.is_empty() {
        return Err(OpenError::Empty);
    }
    let client = Client::new(backend)?;
    let token = match token {
        Some(t) => t.to_owned(),
        None => stored_token(backend).await?,
    };
    let session = client.playback(&token, target, format).await?;
    config.pathway_order = session.pathways.iter().map(|p| p.id.clone()).collect();
    config.content_id = Some(target.to_owned());
    let url = Url::parse(&session.manifest_url).map_err(|e| {
        OpenError::Api(ClientError::Malformed(format!(
            "manifest URL {:?}: {e}",
            session.manifest_url
        )))
    })?;
    Ok(Opened {
        url,
        title: target.to_owned(),
        api: Some(client),
        token: Some(token),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_empty_target_and_a_bad_url_are_refused_before_any_request() {
        let mut config = PlayerConfig::default();
        let e = resolve_with_token("  ", "http://127.0.0.1:9", Format::Hls, None, &mut config)
            .await
            .unwrap_err();
        assert!(matches!(e, OpenError::Empty), "{e}");
        let e = resolve(
            "http://[::1/x.m3u8",
            "http://127.0.0.1:9",
            Format::Hls,
            &mut config,
        )
        .await
        .unwrap_err();
        assert!(matches!(e, OpenError::BadUrl(..)), "{e}");
    }
}
