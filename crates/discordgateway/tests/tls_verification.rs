//! TLS verification is on by default (issue 8 point 5): a `wss://` server whose certificate
//! is self-signed (not issued by a webpki root) is refused during the handshake, before a
//! single WebSocket byte (let alone the token) is sent.
//!
//! The certificate and key in `tests/data/` were made once with
//! `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost
//! -addext subjectAltName=DNS:localhost` (valid for 100 years), then converted to DER.

use std::sync::Arc;
use std::time::Duration;

use discordgateway::proto::config::{Config, ReconnectPolicy};
use discordgateway::{Event, GatewayUrl, Notice, Shard, ShardConfig, Token};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

const CERT: &[u8] = include_bytes!("data/selfsigned-cert.der");
const KEY: &[u8] = include_bytes!("data/selfsigned-key.der");

/// A TLS acceptor presenting the self-signed certificate.
fn acceptor() -> tokio_rustls::TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(KEY.to_vec()));
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(CERT.to_vec())], key)
        .expect("server config");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

#[tokio::test]
async fn a_self_signed_server_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let acceptor = acceptor();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        match acceptor.accept(tcp).await {
            // The handshake completed: the client trusted the certificate (the bug this
            // test exists for). Read what it sends, to show it.
            Ok(mut tls) => {
                let mut buf = vec![0; 1024];
                let n = tls.read(&mut buf).await.unwrap_or(0);
                Err(String::from_utf8_lossy(&buf[..n]).into_owned())
            }
            Err(e) => Ok(e.to_string()),
        }
    });
    let url = GatewayUrl::parse(&format!("wss://localhost:{port}")).expect("url");
    let core = Config::builder(Token::new("MTAx.tls-secret.token").expect("token"))
        .default_url(url)
        .reconnect(ReconnectPolicy::Manual)
        .build()
        .expect("core config");
    let config = ShardConfig::builder(core)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("shard config");
    let mut shard = Shard::new(config);
    // The attempt ends with a disconnect (a notice, then the manual-mode error): never READY.
    for _ in 0..3 {
        let event = tokio::time::timeout(Duration::from_secs(20), shard.next_event())
            .await
            .expect("the attempt ends");
        match event {
            Ok(Event::Notice(Notice::Ready { .. }) | Event::Dispatch(_)) => {
                panic!("a session over an untrusted TLS connection")
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let server_saw = server.await.expect("server task");
    let why = server_saw.expect("the client refused the certificate");
    assert!(
        why.to_ascii_lowercase().contains("certificate") || why.contains("alert"),
        "the handshake failed on the certificate: {why}"
    );
}
