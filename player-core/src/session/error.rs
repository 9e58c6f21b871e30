//! Why a session stopped: [`SessionError`], carried by [`crate::PlayerState::Failed`].

use serde::{Serialize, Serializer};

/// Why playback stopped, for embedders to match on; `Display` is the one line the players show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The manifest could not be fetched, is not one Reel can read, or describes nothing to
    /// play (also a live manifest that could no longer be reloaded).
    #[error("{0}")]
    Manifest(String),
    /// A segment could not be fetched from the pathway it was asked of (`None`: the stream's
    /// only location), and there was no other pathway to try.
    #[error("{message}")]
    Network {
        pathway: Option<String>,
        message: String,
    },
    /// A segment failed on every pathway, and all of them are in the penalty box.
    #[error("{message}")]
    AllPathwaysDown {
        pathways: Vec<String>,
        message: String,
    },
    /// The media cannot be decoded: no decoder for its codec, a decoder error, or segments that
    /// are not media wherever they are fetched.
    #[error("{0}")]
    Undecodable(String),
    /// The stream needs something Reel does not support (a DRM scheme, an index format, a
    /// presentation with no video or audio).
    #[error("{0}")]
    Unsupported(String),
    /// The session itself broke (a bug: please report it).
    #[error("{0}")]
    Internal(String),
}

impl SessionError {
    /// The one line saying why.
    pub fn message(&self) -> &str {
        match self {
            SessionError::Manifest(m)
            | SessionError::Undecodable(m)
            | SessionError::Unsupported(m)
            | SessionError::Internal(m)
            | SessionError::Network { message: m, .. }
            | SessionError::AllPathwaysDown { message: m, .. } => m,
        }
    }
}

/// Serialized as its one line, as the failure reason always was.
impl Serialize for SessionError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.message())
    }
}

impl From<crate::sink::SinkError> for SessionError {
    fn from(e: crate::sink::SinkError) -> Self {
        SessionError::Undecodable(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_and_serializes_as_its_one_line() {
        let e = SessionError::AllPathwaysDown {
            pathways: vec!["a".into(), "b".into()],
            message: "video segment 3 could not be played: HTTP 503".into(),
        };
        assert_eq!(
            e.to_string(),
            "video segment 3 could not be played: HTTP 503"
        );
        assert_eq!(
            serde_json::to_string(&crate::PlayerState::Failed(e)).unwrap(),
            r#"{"state":"failed","reason":"video segment 3 could not be played: HTTP 503"}"#
        );
    }
}
