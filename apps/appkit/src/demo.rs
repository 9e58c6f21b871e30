//! The demo: the whole `reel-stub` stack (caches with fault controls, playback API, steering)
//! started in-process on loopback — encoding the demo title on first run — plus the chaos
//! controls the players bind to keys and buttons, sent to the caches' admin endpoints over HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
#[cfg(feature = "demo")]
use std::time::Duration;

use reel_protocol::{Faults, FaultsUpdate, Format, PlaybackResponse};
#[cfg(feature = "demo")]
use reel_stub::up::{Stack, UpConfig};

use crate::api::{Client, ClientError};

/// The demo account of `reel-stub`.
pub const DEMO_USER: (&str, &str) = ("demo", "reel");

/// Errors of the demo stack.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The stack did not start.
    #[error("the demo stack did not start: {0}")]
    Start(String),
    /// The playback API refused something.
    #[error(transparent)]
    Api(#[from] ClientError),
    /// A cache's admin endpoint did not answer.
    #[error("cache {0} did not take the fault: {1}")]
    Admin(String, String),
}

/// A chaos action on a cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chaos {
    /// Refuse connections and cut open ones.
    Kill,
    /// Add 2 s before every response.
    Latency,
    /// Cap each connection at 500 kbit/s.
    Throttle,
}

impl Chaos {
    fn update(self) -> FaultsUpdate {
        match self {
            Chaos::Kill => FaultsUpdate {
                up: Some(false),
                ..FaultsUpdate::default()
            },
            Chaos::Latency => FaultsUpdate {
                latency_ms: Some(2000),
                ..FaultsUpdate::default()
            },
            Chaos::Throttle => FaultsUpdate {
                throughput_kbps: Some(500),
                ..FaultsUpdate::default()
            },
        }
    }

    /// What it does, for the event log.
    pub fn describe(self) -> &'static str {
        match self {
            Chaos::Kill => "killed",
            Chaos::Latency => "2 s of latency added to",
            Chaos::Throttle => "throttled to 500 kbit/s:",
        }
    }
}

/// The running demo stack (started by [`Demo::start`], with the `demo` feature).
pub struct Demo {
    #[cfg(feature = "demo")]
    stack: Stack,
    /// The first title of the media root.
    title: Option<String>,
    api: Client,
    admin: Vec<(String, SocketAddr)>,
    http: reqwest::Client,
}

/// How to start the demo.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// Media root (default: the platform data directory).
    pub media: Option<PathBuf>,
    /// First port (0 = any free ports).
    pub port_base: u16,
    /// Show the encoder's progress bar on first run.
    pub progress: bool,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            media: None,
            port_base: 0,
            progress: true,
        }
    }
}

impl Demo {
    /// Starts the stack (encoding the demo title first if the media root has none).
    #[cfg(feature = "demo")]
    pub async fn start(config: &DemoConfig) -> Result<Demo, DemoError> {
        let media = config
            .media
            .clone()
            .unwrap_or_else(reel_stub::up::default_media_dir);
        let mut up = UpConfig::new(media);
        up.port_base = config.port_base;
        up.progress = config.progress;
        let stack = Stack::start(&up)
            .await
            .map_err(|e| DemoError::Start(e.to_string()))?;
        let api = Client::new(&stack.backend.url())?;
        let admin = stack
            .caches
            .iter()
            .filter_map(|c| c.admin_addr.map(|a| (c.id().to_owned(), a)))
            .collect();
        Ok(Demo {
            title: stack.titles.first().map(|t| t.id.clone()),
            stack,
            api,
            admin,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()
                .map_err(|e| DemoError::Start(e.to_string()))?,
        })
    }

    /// The playback API client.
    pub fn api(&self) -> &Client {
        &self.api
    }

    /// The first title of the media root (the demo title on a fresh machine).
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// Logs in as the demo user and opens a playback session of the first title.
    pub async fn session(&self, format: Format) -> Result<PlaybackResponse, DemoError> {
        let login = self.api.login(DEMO_USER.0, DEMO_USER.1).await?;
        let title = self
            .title()
            .ok_or_else(|| DemoError::Start("the media root has no title".into()))?;
        Ok(self.api.playback(&login.token, title, format).await?)
    }

    /// Cache ids, in configured order.
    pub fn caches(&self) -> Vec<String> {
        self.admin.iter().map(|(id, _)| id.clone()).collect()
    }

    async fn post(&self, cache: &str, path: &str, body: String) -> Result<Faults, DemoError> {
        let (_, addr) = self
            .admin
            .iter()
            .find(|(id, _)| id == cache)
            .ok_or_else(|| DemoError::Admin(cache.into(), "no such cache".into()))?;
        let response = self
            .http
            .post(format!("http://{addr}{path}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| DemoError::Admin(cache.into(), e.to_string()))?;
        if !response.status().is_success() {
            return Err(DemoError::Admin(
                cache.into(),
                format!("HTTP {}", response.status()),
            ));
        }
        response
            .json()
            .await
            .map_err(|e| DemoError::Admin(cache.into(), e.to_string()))
    }

    /// Applies a chaos action to a cache through its admin endpoint.
    pub async fn chaos(&self, cache: &str, chaos: Chaos) -> Result<Faults, DemoError> {
        let body = serde_json::to_string(&chaos.update()).expect("faults serialise");
        self.post(cache, "/admin/faults", body).await
    }

    /// Clears every fault on every cache.
    pub async fn restore_all(&self) -> Result<(), DemoError> {
        for id in self.caches() {
            self.post(&id, "/admin/reset", String::new()).await?;
        }
        Ok(())
    }

    /// Stops everything.
    pub async fn shutdown(self) {
        #[cfg(feature = "demo")]
        self.stack.shutdown().await;
    }
}
