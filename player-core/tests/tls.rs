//! HTTPS through the TLS settings the fetcher shares across sessions: a cache whose certificate
//! no authority signed is refused with a certificate error, in every session of the process, and
//! never fetched from. Needs the `openssl` command to make the certificate.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use player_core::fetch::{FetchConfig, Fetcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A self-signed certificate for 127.0.0.1, made by `openssl`.
fn self_signed(dir: &std::path::Path) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args([
            "-subj",
            "/CN=reel test cache",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs (apt-get install openssl)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    (
        CertificateDer::from_pem_file(&cert).unwrap(),
        PrivateKeyDer::from_pem_file(&key).unwrap(),
    )
}

#[tokio::test]
async fn a_cache_with_an_unsigned_certificate_is_refused_in_every_session() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let count = count.clone();
            tokio::spawn(async move {
                // A client that trusted the certificate would get a playlist.
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let mut request = [0u8; 1024];
                    let _ = tls.read(&mut request).await;
                    count.fetch_add(1, Ordering::SeqCst);
                    let _ = tls
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\n#EXTM3U\n")
                        .await;
                }
            });
        }
    });
    let url = url::Url::parse(&format!("https://127.0.0.1:{port}/title/master.m3u8")).unwrap();
    let config = FetchConfig {
        retries: 0,
        ..FetchConfig::default()
    };
    // Two sessions: the first builds the shared settings, the second reuses them.
    for session in 1..=2 {
        let error = Fetcher::new(config.clone())
            .get(&url)
            .send()
            .await
            .expect_err("an unsigned certificate is not trusted");
        let text = error.to_string();
        assert!(
            text.contains("cannot connect") && text.to_lowercase().contains("certificate"),
            "session {session}: {text}"
        );
    }
    assert_eq!(served.load(Ordering::SeqCst), 0, "nothing was served");
}
