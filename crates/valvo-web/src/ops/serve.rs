//! The HTTP server: HTTP/1.1 with a header read timeout (a client that
//! never finishes its headers is dropped), and a graceful drain: on the
//! shutdown signal `/readyz` answers 503; after the drain delay no new
//! connection is accepted; requests under way finish (keep-alive
//! connections close after their current response) within the grace time,
//! and then the server returns.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::AppState;

/// Serves the app on a bound listener until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(addr = ?addr, "listening");
    let config = state.config().clone();
    let router = crate::app(state.clone());
    // The mail sender, while the server runs (it stops when it drains).
    let mailer = config
        .mail
        .clone()
        .map(|m| tokio::spawn(super::mailer::run(state.clone(), m)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    // After the signal: `/readyz` says 503 at once, and the listener still
    // takes connections for the drain delay, so that the load balancer
    // stops sending traffic before anything is refused.
    let mut draining_until: Option<tokio::time::Instant> = None;
    loop {
        let drain_end = async {
            match draining_until {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown, if draining_until.is_none() => {
                state.start_draining();
                if config.drain_delay.is_zero() {
                    break;
                }
                tracing::info!(delay_s = config.drain_delay.as_secs_f64(), "not ready; draining");
                draining_until = Some(tokio::time::Instant::now() + config.drain_delay);
                continue;
            }
            () = drain_end => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = tower::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(req)
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(config.header_timeout)
            .keep_alive(true);
        let conn =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    state.start_draining();
    let open = graceful.count();
    tracing::info!(
        connections = open,
        grace_s = config.shutdown_grace.as_secs_f64(),
        "draining"
    );
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("drained"),
        () = tokio::time::sleep(config.shutdown_grace) => {
            tracing::warn!("grace time over; the connections still open end with the process");
        }
    }
    // A message being sent finishes (its claim would otherwise lapse and
    // another instance send it again); then the sender stops.
    if let Some(mut m) = mailer {
        if tokio::time::timeout(std::time::Duration::from_secs(5), &mut m)
            .await
            .is_err()
        {
            m.abort();
        }
    }
    Ok(())
}
