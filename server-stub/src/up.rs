//! `reel-stub up`: the whole delivery stack on loopback — a demo title (encoded on first run),
//! three caches with fault controls, and the playback API with steering. The players' demo modes
//! start the same stack in-process through [`Stack::start`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use crate::backend::{BackendConfig, BackendServer};
use crate::encode::{self, EncodeOptions, Source};
use crate::oca::{Oca, OcaConfig};
use crate::title::{TitleMeta, scan_media_root};

/// Id of the title `up` encodes when the media root has none.
pub const DEMO_TITLE: &str = "demo";

/// How to start the stack.
#[derive(Debug, Clone)]
pub struct UpConfig {
    /// Media root; a demo title is encoded into it if it has no title.
    pub media: PathBuf,
    /// Address to bind everything to.
    pub host: IpAddr,
    /// Backend port; caches take the next ports and their admin ports the ones after. 0 picks
    /// free ports for everything.
    pub port_base: u16,
    /// Number of caches.
    pub caches: usize,
    /// Length of the demo title, in seconds.
    pub demo_seconds: u32,
    /// Show the encoder's progress bar.
    pub progress: bool,
    /// The backend's bookmark database; in memory when `None`.
    pub bookmarks_db: Option<PathBuf>,
}

impl UpConfig {
    /// Defaults: 127.0.0.1, ports from 8470, three caches, a 120 s demo title.
    pub fn new(media: impl Into<PathBuf>) -> Self {
        UpConfig {
            media: media.into(),
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port_base: 8470,
            caches: 3,
            demo_seconds: 120,
            progress: true,
            bookmarks_db: None,
        }
    }
}

/// The running stack.
pub struct Stack {
    /// The playback API and steering server.
    pub backend: BackendServer,
    /// The caches, in configured order (`oca-1`, `oca-2`, …).
    pub caches: Vec<Oca>,
    /// The titles in the media root.
    pub titles: Vec<TitleMeta>,
}

/// The platform's data directory for Reel's media (`~/.local/share/reel/media` on Linux).
pub fn default_media_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "reel")
        .map(|d| d.data_dir().join("media"))
        .unwrap_or_else(|| PathBuf::from("media"))
}

/// The platform's data directory for the backend's bookmarks
/// (`~/.local/share/reel/bookmarks.sqlite` on Linux).
pub fn default_bookmarks_db() -> PathBuf {
    directories::ProjectDirs::from("", "", "reel")
        .map(|d| d.data_dir().join("bookmarks.sqlite"))
        .unwrap_or_else(|| PathBuf::from("bookmarks.sqlite"))
}

/// Errors of `up`.
#[derive(Debug, thiserror::Error)]
pub enum UpError {
    /// Encoding the demo title failed.
    #[error("encoding the demo title: {0}")]
    Encode(#[from] encode::EncodeError),
    /// A cache could not start.
    #[error(transparent)]
    Cache(#[from] crate::oca::OcaError),
    /// The backend could not start.
    #[error(transparent)]
    Backend(#[from] crate::backend::BackendError),
    /// Bad options.
    #[error("{0}")]
    Config(String),
    /// The media root could not be read.
    #[error("media root {0}: {1}")]
    Media(String, std::io::Error),
}

impl Stack {
    /// Encodes the demo title if needed, then starts the caches and the backend.
    pub async fn start(config: &UpConfig) -> Result<Stack, UpError> {
        std::fs::create_dir_all(&config.media)
            .map_err(|e| UpError::Media(config.media.display().to_string(), e))?;
        let mut titles = scan_media_root(&config.media)
            .map_err(|e| UpError::Media(config.media.display().to_string(), e))?;
        if titles.is_empty() {
            eprintln!(
                "no title in {}: encoding the {} s demo title (first run only)",
                config.media.display(),
                config.demo_seconds
            );
            let mut opts = EncodeOptions::new(
                Source::Synthetic {
                    seconds: config.demo_seconds,
                },
                &config.media,
                DEMO_TITLE,
            );
            opts.progress = config.progress;
            let title = tokio::task::spawn_blocking(move || encode::encode(&opts))
                .await
                .expect("the encoder thread does not panic")?;
            titles.push(title);
        }
        if config.caches == 0 {
            return Err(UpError::Config("at least one cache is needed".into()));
        }
        let last = config.port_base as usize + 2 * config.caches;
        if config.port_base != 0 && last > u16::MAX as usize {
            return Err(UpError::Config(format!(
                "ports {}..={last} do not fit; choose a lower --port-base",
                config.port_base
            )));
        }
        let port = |offset: usize| -> u16 {
            if config.port_base == 0 {
                0
            } else {
                config.port_base + offset as u16
            }
        };
        let mut caches = Vec::new();
        for i in 0..config.caches {
            let oca = Oca::start(OcaConfig {
                id: format!("oca-{}", i + 1),
                root: config.media.clone(),
                listen: SocketAddr::new(config.host, port(1 + i)),
                admin: Some(SocketAddr::new(config.host, port(1 + config.caches + i))),
            })
            .await;
            match oca {
                Ok(o) => caches.push(o),
                Err(e) => {
                    for c in caches {
                        c.shutdown().await;
                    }
                    return Err(e.into());
                }
            }
        }
        let mut backend_config = BackendConfig::new(
            &config.media,
            SocketAddr::new(config.host, port(0)),
            caches
                .iter()
                .map(|c| (c.id().to_string(), c.url()))
                .collect(),
        );
        backend_config.bookmarks_db = config.bookmarks_db.clone();
        let backend = BackendServer::start(backend_config).await;
        let backend = match backend {
            Ok(b) => b,
            Err(e) => {
                for c in caches {
                    c.shutdown().await;
                }
                return Err(e.into());
            }
        };
        Ok(Stack {
            backend,
            caches,
            titles,
        })
    }

    /// Stops everything.
    pub async fn shutdown(self) {
        self.backend.shutdown().await;
        for c in self.caches {
            c.shutdown().await;
        }
    }
}
