//! Wire types of Reel's playback API and of the content-steering manifests.
//!
//! Both `reel-stub backend` (the server) and `player-core` (the client) speak these types, so a
//! change here is a change of the protocol. Field names follow the published formats where one
//! exists: the HLS steering manifest (draft-pantos-hls-rfc8216bis §7) and the DASH-IF content
//! steering manifest use upper-case, hyphenated JSON keys.

use serde::{Deserialize, Serialize};

/// `POST /v1/login` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// User name.
    pub user: String,
    /// Password, in clear (the API is meant to sit behind TLS in production).
    pub password: String,
}

/// `POST /v1/login` answer: a signed bearer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// The bearer token, sent back as `Authorization: Bearer <token>`.
    pub token: String,
    /// Always `"Bearer"`.
    pub token_type: String,
    /// Expiry as seconds since the Unix epoch.
    pub expires_at: u64,
}

/// One entry of the catalogue (`GET /v1/titles`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Title {
    /// Stable identifier, used in playback requests and URLs.
    pub id: String,
    /// Duration in seconds.
    pub duration_s: f64,
    /// Video renditions (the bitrate ladder), lowest first.
    pub ladder: Vec<LadderRung>,
    /// Manifest formats the title can be played in.
    pub formats: Vec<Format>,
}

/// One video rendition of a title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LadderRung {
    /// Rendition identifier (also its file name stem).
    pub id: String,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Average bitrate in bits per second.
    pub bitrate: u64,
}

/// `GET /v1/titles` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalogue {
    /// Every title the backend can play.
    pub titles: Vec<Title>,
}

/// Manifest format of a playback session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// HTTP Live Streaming (RFC 8216).
    Hls,
    /// MPEG-DASH (ISO/IEC 23009-1).
    Dash,
}

/// `PUT /v1/bookmarks/{title}` body: where the signed-in viewer left a title.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookmarkUpdate {
    /// Playhead, seconds.
    pub position_s: f64,
    /// The title's duration, seconds.
    pub duration_s: f64,
}

/// `GET /v1/bookmarks/{title}` answer (404 `no_bookmark` when there is none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bookmark {
    /// Title id.
    pub title: String,
    /// Playhead, seconds.
    pub position_s: f64,
    /// The title's duration, seconds.
    pub duration_s: f64,
    /// When it was saved, seconds since the Unix epoch.
    pub updated_at: u64,
}

/// `POST /v1/playback` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybackRequest {
    /// Title identifier from the catalogue.
    pub title: String,
    /// Wanted manifest format.
    pub format: Format,
}

/// A pathway: one cache (or CDN) the client may fetch segments from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pathway {
    /// Pathway identifier (HLS `PATHWAY-ID`, DASH `serviceLocation`).
    pub id: String,
    /// Base URL of the title's files on this pathway, ending in `/`.
    pub base_url: String,
}

/// `POST /v1/playback` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybackResponse {
    /// Opaque session identifier, also part of the manifest and steering URLs.
    pub session_id: String,
    /// Manifest for this session, carrying every pathway and the steering tag.
    pub manifest_url: String,
    /// Pathways in priority order, best first.
    pub pathways: Vec<Pathway>,
    /// Steering manifest URL of this session.
    pub steering_uri: String,
}

/// Body of every error answer of the playback API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Machine-readable code, e.g. `unauthorized`, `not_found`.
    pub error: String,
    /// One human-readable line.
    pub message: String,
}

/// HLS content steering manifest (draft-pantos-hls-rfc8216bis §7.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HlsSteeringManifest {
    /// Always 1.
    #[serde(rename = "VERSION")]
    pub version: u32,
    /// Seconds until the client should reload.
    #[serde(rename = "TTL")]
    pub ttl: u64,
    /// Where to reload from, relative to the manifest's own URL or absolute.
    #[serde(
        rename = "RELOAD-URI",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub reload_uri: Option<String>,
    /// Pathway identifiers, most preferred first.
    #[serde(rename = "PATHWAY-PRIORITY")]
    pub pathway_priority: Vec<String>,
    /// New pathways derived from existing ones.
    #[serde(
        rename = "PATHWAY-CLONES",
        skip_serializing_if = "Vec::is_empty",
        default
    )]
    pub pathway_clones: Vec<PathwayClone>,
}

/// A `PATHWAY-CLONES` entry: a new pathway made from a base pathway by URI replacement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathwayClone {
    /// Pathway the clone copies.
    #[serde(rename = "BASE-ID")]
    pub base_id: String,
    /// The clone's pathway identifier.
    #[serde(rename = "ID")]
    pub id: String,
    /// How the clone's URIs differ from the base's.
    #[serde(rename = "URI-REPLACEMENT")]
    pub uri_replacement: UriReplacement,
}

/// `URI-REPLACEMENT` of a pathway clone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UriReplacement {
    /// Replaces the host (and port) of every URI.
    #[serde(rename = "HOST", skip_serializing_if = "Option::is_none", default)]
    pub host: Option<String>,
    /// Query parameters added to every URI.
    #[serde(
        rename = "PARAMS",
        skip_serializing_if = "std::collections::BTreeMap::is_empty",
        default
    )]
    pub params: std::collections::BTreeMap<String, String>,
}

/// DASH-IF content steering manifest (DASH-IF CTS, "DCSM").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashSteeringManifest {
    /// Always 1.
    #[serde(rename = "VERSION")]
    pub version: u32,
    /// Seconds until the client should reload.
    #[serde(rename = "TTL")]
    pub ttl: u64,
    /// Where to reload from.
    #[serde(
        rename = "RELOAD-URI",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub reload_uri: Option<String>,
    /// `BaseURL@serviceLocation` values, most preferred first.
    #[serde(rename = "SERVICE-LOCATION-PRIORITY")]
    pub service_location_priority: Vec<String>,
}

/// One entry of `GET /v1/caches`: a cache as the playback API last saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheState {
    /// Pathway id.
    pub id: String,
    /// Base URL.
    pub url: String,
    /// Answered its last health poll and says it is up.
    pub up: bool,
    /// Open client connections.
    pub active_connections: u64,
    /// Body bytes sent per second.
    pub bytes_per_second: f64,
}

/// `GET /health` answer of a cache server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheHealth {
    /// The cache's identifier (its pathway id).
    pub id: String,
    /// `true` while the cache serves requests.
    pub up: bool,
    /// Client connections open now.
    pub active_connections: u64,
    /// Body bytes sent per second, averaged over the last few seconds.
    pub bytes_per_second: f64,
    /// Requests answered since start.
    pub requests_served: u64,
}

/// Fault settings of a cache server's admin endpoint (`GET`/`POST /admin/faults`).
///
/// A `POST` merges the fields it carries into the current settings; absent fields keep their value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Faults {
    /// Delay added before every media response, in milliseconds.
    pub latency_ms: u64,
    /// Per-connection body throughput cap in kbit/s; 0 means no cap.
    pub throughput_kbps: u64,
    /// Fraction (0..=1) of media requests answered with 503.
    pub error_rate: f64,
    /// Fraction (0..=1) of media responses whose connection is dropped halfway through the body.
    pub drop_rate: f64,
    /// `false` makes the cache refuse connections on its service port.
    pub up: bool,
}

/// Partial update of [`Faults`], as posted to the admin endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FaultsUpdate {
    /// See [`Faults::latency_ms`].
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub latency_ms: Option<u64>,
    /// See [`Faults::throughput_kbps`].
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub throughput_kbps: Option<u64>,
    /// See [`Faults::error_rate`].
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_rate: Option<f64>,
    /// See [`Faults::drop_rate`].
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub drop_rate: Option<f64>,
    /// See [`Faults::up`].
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub up: Option<bool>,
}

impl Faults {
    /// No fault: the cache is up and serves at full speed.
    pub fn none() -> Self {
        Faults {
            up: true,
            ..Faults::default()
        }
    }

    /// Applies a partial update.
    pub fn apply(&mut self, update: &FaultsUpdate) {
        if let Some(v) = update.latency_ms {
            self.latency_ms = v;
        }
        if let Some(v) = update.throughput_kbps {
            self.throughput_kbps = v;
        }
        if let Some(v) = update.error_rate {
            self.error_rate = v.clamp(0.0, 1.0);
        }
        if let Some(v) = update.drop_rate {
            self.drop_rate = v.clamp(0.0, 1.0);
        }
        if let Some(v) = update.up {
            self.up = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hls_steering_manifest_uses_the_published_keys() {
        let m = HlsSteeringManifest {
            version: 1,
            ttl: 10,
            reload_uri: Some("/steer?x=1".into()),
            pathway_priority: vec!["oca-b".into(), "oca-a".into()],
            pathway_clones: vec![],
        };
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["VERSION"], 1);
        assert_eq!(json["TTL"], 10);
        assert_eq!(json["RELOAD-URI"], "/steer?x=1");
        assert_eq!(json["PATHWAY-PRIORITY"][0], "oca-b");
        assert!(json.get("PATHWAY-CLONES").is_none());
    }

    #[test]
    fn format_is_lowercase_on_the_wire() {
        let r: PlaybackRequest =
            serde_json::from_str(r#"{"title":"demo","format":"dash"}"#).unwrap();
        assert_eq!(r.format, Format::Dash);
    }

    #[test]
    fn fault_update_changes_only_what_it_names() {
        let mut f = Faults::none();
        f.apply(&FaultsUpdate {
            latency_ms: Some(2000),
            error_rate: Some(7.0),
            ..Default::default()
        });
        assert_eq!(f.latency_ms, 2000);
        assert_eq!(f.error_rate, 1.0, "rates are clamped to 0..=1");
        assert!(f.up);
    }
}
