//! Response bodies read from a file in chunks, paced to the cache's throughput cap and, when the
//! drop fault fires, cut off halfway (the body errors, so hyper closes the connection mid-body).

use std::io::SeekFrom;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::Cache;

const CHUNK: usize = 64 * 1024;

/// A byte range of an open file, ready to stream.
pub struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    cache: Arc<Cache>,
}

struct Progress {
    body: FileBody,
    sent: u64,
    drop_at: Option<u64>,
    /// Pacing reference: the cap in force, when it started, and bytes sent since.
    pace: (u64, Instant, u64),
}

impl FileBody {
    /// Opens `path` and positions it at `start`; `length` bytes will be sent.
    pub async fn open(
        path: &Path,
        start: u64,
        length: u64,
        cache: Arc<Cache>,
    ) -> std::io::Result<Self> {
        let mut file = tokio::fs::File::open(path).await?;
        file.seek(SeekFrom::Start(start)).await?;
        Ok(FileBody {
            file,
            remaining: length,
            cache,
        })
    }

    /// The streaming body. With probability `drop_rate` the connection is cut after half the bytes.
    pub fn into_body(self, drop_rate: f64) -> Body {
        let drop_at =
            (drop_rate > 0.0 && fastrand::f64() < drop_rate).then_some(self.remaining / 2);
        let progress = Progress {
            body: self,
            sent: 0,
            drop_at,
            pace: (0, Instant::now(), 0),
        };
        Body::from_stream(futures_util::stream::try_unfold(progress, next_chunk))
    }
}

async fn next_chunk(mut p: Progress) -> std::io::Result<Option<(Bytes, Progress)>> {
    if p.body.remaining == 0 {
        return Ok(None);
    }
    if p.drop_at.is_some_and(|at| p.sent >= at) {
        tracing::info!(cache = %p.body.cache.id, "fault injected: dropping the connection mid-body");
        return Err(std::io::Error::other(
            "fault injected: connection dropped mid-body",
        ));
    }
    let cap_kbps = p.body.cache.faults().throughput_kbps;
    if cap_kbps != p.pace.0 {
        p.pace = (cap_kbps, Instant::now(), 0);
    }
    let bytes_per_s = cap_kbps.saturating_mul(1000) / 8;
    let mut want = if cap_kbps > 0 {
        // 50 ms worth of data per chunk keeps the pacing smooth.
        ((bytes_per_s / 20) as usize).clamp(512, CHUNK)
    } else {
        CHUNK
    };
    want = want.min(p.body.remaining as usize);
    if let Some(at) = p.drop_at {
        want = want.min((at - p.sent).max(1) as usize);
    }
    let mut buf = vec![0u8; want];
    let mut filled = 0;
    while filled < want {
        let n = p.body.file.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "file shrank while being served",
            ));
        }
        filled += n;
    }
    if cap_kbps > 0 {
        // Release each chunk when the cap would have finished sending it (no initial burst), so
        // even a small response is measured at the capped rate.
        p.pace.2 += want as u64;
        let due = Duration::from_secs_f64(p.pace.2 as f64 / bytes_per_s.max(1) as f64);
        let elapsed = p.pace.1.elapsed();
        if due > elapsed {
            tokio::time::sleep(due - elapsed).await;
        }
    }
    p.sent += want as u64;
    p.body.remaining -= want as u64;
    p.body.cache.meter.add(want as u64);
    Ok(Some((Bytes::from(buf), p)))
}
