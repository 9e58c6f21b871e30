//! The playback API client: login, the catalogue, playback sessions (manifest URL and the
//! ordered cache list) and the caches' state — with errors a viewer can act on.

use std::time::Duration;

use reel_protocol::{
    ApiError, Bookmark, BookmarkUpdate, CacheState, Catalogue, Format, LoginRequest, LoginResponse,
    PlaybackRequest, PlaybackResponse,
};
use url::Url;

/// What went wrong talking to the playback API, in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The base URL is not usable.
    #[error("{0:?} is not a playback API URL: {1}")]
    BadUrl(String, String),
    /// No answer.
    #[error("the playback API at {0} cannot be reached: {1}")]
    Unreachable(String, String),
    /// 401: no token, a bad one, or an expired one.
    #[error("the playback API refused the login: {0}")]
    Unauthorized(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// Any other error answer.
    #[error("the playback API answered {0}: {1}")]
    Status(u16, String),
    /// An answer that is not what the API promises.
    #[error("the playback API sent an unexpected answer: {0}")]
    Malformed(String),
}

/// The largest answer read from the API. Its JSON is a few kilobytes (a catalogue of thousands
/// of titles stays well under this); a server sending more is not the playback API.
pub const MAX_ANSWER_BYTES: usize = 4 << 20;

/// Characters of an error answer's message shown to the viewer, on one line.
const SHOWN_MESSAGE_CHARS: usize = 200;

/// A client of one playback API.
#[derive(Debug, Clone)]
pub struct Client {
    base: Url,
    http: reqwest::Client,
}

impl Client {
    /// A client of the API at `base` (e.g. `http://127.0.0.1:8470`).
    pub fn new(base: &str) -> Result<Client, ClientError> {
        let mut base =
            Url::parse(base).map_err(|e| ClientError::BadUrl(base.into(), e.to_string()))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| ClientError::BadUrl(base.to_string(), e.to_string()))?;
        Ok(Client { base, http })
    }

    /// The API's base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> Url {
        self.base.join(path).expect("API paths are valid")
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let body = self.send_raw(request).await?;
        serde_json::from_slice(&body).map_err(|e| ClientError::Malformed(e.to_string()))
    }

    /// Sends `request`; the body of a success, or the error it names.
    async fn send_raw(&self, request: reqwest::RequestBuilder) -> Result<Vec<u8>, ClientError> {
        let shown = self.base.as_str().trim_end_matches('/').to_owned();
        let unreachable = |e: reqwest::Error| {
            let mut cause: &dyn std::error::Error = &e;
            while let Some(next) = cause.source() {
                cause = next;
            }
            ClientError::Unreachable(shown.clone(), cause.to_string())
        };
        let mut response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let too_big =
            || ClientError::Malformed(format!("an answer over {} MiB", MAX_ANSWER_BYTES >> 20));
        if response
            .content_length()
            .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
        {
            return Err(too_big());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        if status.is_success() {
            return Ok(body);
        }
        let message = serde_json::from_slice::<ApiError>(&body)
            .map(|e| e.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
        // One line, whatever the server sent: its words, the first 200 characters of them.
        let message: String = message
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(SHOWN_MESSAGE_CHARS)
            .collect();
        Err(match status.as_u16() {
            401 => ClientError::Unauthorized(message),
            404 => ClientError::NotFound(message),
            code => ClientError::Status(code, message),
        })
    }

    /// Logs in; the answer carries the token.
    pub async fn login(&self, user: &str, password: &str) -> Result<LoginResponse, ClientError> {
        self.send(self.http.post(self.url("v1/login")).json(&LoginRequest {
            user: user.into(),
            password: password.into(),
        }))
        .await
    }

    /// The catalogue.
    pub async fn titles(&self, token: &str) -> Result<Catalogue, ClientError> {
        self.send(self.http.get(self.url("v1/titles")).bearer_auth(token))
            .await
    }

    /// Opens a playback session for a title.
    pub async fn playback(
        &self,
        token: &str,
        title: &str,
        format: Format,
    ) -> Result<PlaybackResponse, ClientError> {
        self.send(
            self.http
                .post(self.url("v1/playback"))
                .bearer_auth(token)
                .json(&PlaybackRequest {
                    title: title.into(),
                    format,
                }),
        )
        .await
    }

    /// Where the signed-in viewer left `title`, if anywhere.
    pub async fn bookmark(
        &self,
        token: &str,
        title: &str,
    ) -> Result<Option<Bookmark>, ClientError> {
        let url = self.url(&format!("v1/bookmarks/{}", path_segment(title)));
        match self.send(self.http.get(url).bearer_auth(token)).await {
            Ok(b) => Ok(Some(b)),
            Err(ClientError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records where the signed-in viewer left `title`.
    pub async fn save_bookmark(
        &self,
        token: &str,
        title: &str,
        position_s: f64,
        duration_s: f64,
    ) -> Result<Bookmark, ClientError> {
        let url = self.url(&format!("v1/bookmarks/{}", path_segment(title)));
        self.send(self.http.put(url).bearer_auth(token).json(&BookmarkUpdate {
            position_s,
            duration_s,
        }))
        .await
    }

    /// Forgets where the signed-in viewer left `title`.
    pub async fn delete_bookmark(&self, token: &str, title: &str) -> Result<(), ClientError> {
        let url = self.url(&format!("v1/bookmarks/{}", path_segment(title)));
        self.send_raw(self.http.delete(url).bearer_auth(token))
            .await
            .map(|_| ())
    }

    /// The caches as the API last saw them (health, load).
    pub async fn caches(&self) -> Result<Vec<CacheState>, ClientError> {
        self.send(self.http.get(self.url("v1/caches"))).await
    }
}

/// `s` as one URL path segment (a title id with a `/` or `?` stays one segment).
fn path_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server on 127.0.0.1 answering every request with `head` then `body`.
    async fn answering(head: String, body: Vec<u8>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (head, body) = (head.clone(), body.clone());
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(&body).await;
                });
            }
        });
        format!("http://{address}")
    }

    #[tokio::test]
    async fn an_answer_past_the_cap_is_refused_and_an_error_is_shown_in_one_short_line() {
        let too_big = ClientError::Malformed("an answer over 4 MiB".into());
        // Chunked, with no length to refuse it by: read up to the cap, then refused.
        let chunk = format!("{:x}\r\n{}\r\n", 1 << 16, "x".repeat(1 << 16));
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                    transfer-encoding: chunked\r\n\r\n";
        let api =
            Client::new(&answering(head.into(), chunk.repeat(80).into_bytes()).await).unwrap();
        assert_eq!(api.titles("t").await.unwrap_err(), too_big);
        // A declared length past the cap is refused before any of the body is read (none comes:
        // reading would end in "cannot be reached").
        let head = "HTTP/1.1 200 OK\r\ncontent-length: 1000000000\r\n\r\n";
        let api = Client::new(&answering(head.into(), Vec::new()).await).unwrap();
        assert_eq!(api.titles("t").await.unwrap_err(), too_big);
        // Under the cap, the answer is read.
        let body = br#"{"titles":[]}"#.to_vec();
        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
        let api = Client::new(&answering(head, body).await).unwrap();
        assert!(api.titles("t").await.unwrap().titles.is_empty());
        // An error's message is shown on one line, at most 200 characters.
        let body = serde_json::to_vec(&ApiError {
            error: "internal".into(),
            message: format!("{}\nforged: second line", "m".repeat(10_000)),
        })
        .unwrap();
        let head = format!(
            "HTTP/1.1 500 Internal Server Error\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let api = Client::new(&answering(head, body).await).unwrap();
        assert_eq!(
            api.titles("t").await.unwrap_err(),
            ClientError::Status(500, "m".repeat(200))
        );
    }
}
