//! HLS and DASH manifests generated from a [`TitleMeta`](crate::title::TitleMeta).
//!
//! The encoder writes them once with relative URIs (one origin); the backend writes them again for
//! each playback session, with one URI set per pathway (cache) and the content-steering tag.

pub mod dash;
pub mod hls;

use reel_protocol::Pathway;

/// Where the segments of a manifest are fetched from.
#[derive(Debug, Clone, Copy)]
pub enum Delivery<'a> {
    /// URIs relative to the manifest: the files sit beside it.
    Local,
    /// One URI set per pathway, in priority order, and the steering server to ask.
    Steered {
        /// Pathways, most preferred first; each `base_url` ends in `/`.
        pathways: &'a [Pathway],
        /// Content steering manifest URL for this session.
        steering_uri: &'a str,
    },
}

/// Formats seconds as an ISO 8601 duration (`PT12.345S`), as DASH wants.
pub(crate) fn iso_duration(seconds: f64) -> String {
    format!("PT{seconds:.3}S")
}
