//! Graceful shutdown: once asked to stop, the host accepts no new connection,
//! lets the requests in flight finish within a grace period, starts no new
//! background work (scheduler ticks, hot reload), waits for the work already
//! running, then the store is flushed ([`crate::App::close`]).
//!
//! [`Shutdown`] is the one flag everything checks; it knows nothing of the app.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{RwLock, RwLockReadGuard, watch};

/// The stopping flag, the requests in flight and the background work running.
pub struct Shutdown {
    stopping: watch::Sender<bool>,
    in_flight: AtomicUsize,
    /// Held for reading by each piece of background work; taken for writing
    /// once stopping, to wait for the work still running.
    background: RwLock<()>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown {
            stopping: watch::channel(false).0,
            in_flight: AtomicUsize::new(0),
            background: RwLock::new(()),
        }
    }
}

/// How serving ended ([`Shutdown::serve`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stopped {
    /// Requests in flight when the stop was asked.
    pub in_flight: usize,
    /// Of those (and of any that arrived on their connections since), the
    /// ones still running when the grace period ran out: cut.
    pub cut: usize,
}

impl Stopped {
    /// The requests in flight at the stop that finished.
    pub fn finished(&self) -> usize {
        self.in_flight.saturating_sub(self.cut)
    }
}

/// Counts a request in flight until dropped.
pub struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Shutdown {
    /// Asks everything to stop (idempotent).
    pub fn begin(&self) {
        self.stopping.send_replace(true);
    }

    /// Whether the stop was asked.
    pub fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// A receiver that sees the flag become true (for loops that wait).
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Counts one request until the guard is dropped.
    pub fn request(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(&self.in_flight)
    }

    /// Requests being answered now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Leave to start a piece of background work, held while it runs; None
    /// once stopping (start nothing new).
    pub async fn background(&self) -> Option<RwLockReadGuard<'_, ()>> {
        let guard = self.background.read().await;
        // Checked after taking the guard: a stop asked before is seen here,
        // and one asked after waits for this work in `wait_background`.
        (!self.is_stopping()).then_some(guard)
    }

    /// Waits for the background work running to finish, at most `bound`;
    /// false if some was still running then.
    pub async fn wait_background(&self, bound: Duration) -> bool {
        tokio::time::timeout(bound, self.background.write())
            .await
            .is_ok()
    }

    /// Runs `server` (an axum server whose graceful-shutdown signal calls
    /// [`Shutdown::begin`]) until it has finished its connections, or until
    /// `grace` has passed since the stop was asked.
    pub async fn serve(
        &self,
        server: impl Future<Output = std::io::Result<()>>,
        grace: Duration,
    ) -> std::io::Result<Stopped> {
        let mut stopping = self.subscribe();
        let mut server = std::pin::pin!(server);
        let in_flight = tokio::select! {
            result = &mut server => {
                result?;
                return Ok(Stopped::default());
            }
            _ = stopping.wait_for(|s| *s) => self.in_flight(),
        };
        tracing::info!("arrêt demandé : {in_flight} requête(s) en cours, délai de grâce {grace:?}");
        match tokio::time::timeout(grace, server).await {
            Ok(result) => {
                result?;
                Ok(Stopped { in_flight, cut: 0 })
            }
            Err(_) => {
                let cut = self.in_flight();
                tracing::warn!(
                    "délai de grâce de {grace:?} écoulé : {cut} requête(s) encore en cours coupée(s), leurs connexions fermées"
                );
                Ok(Stopped { in_flight, cut })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_background_work_starts_once_stopping() {
        let shutdown = Shutdown::default();
        let running = shutdown.background().await;
        assert!(running.is_some());
        shutdown.begin();
        assert!(shutdown.is_stopping());
        // The work already running is waited for, within the bound.
        assert!(!shutdown.wait_background(Duration::from_millis(20)).await);
        drop(running);
        assert!(shutdown.wait_background(Duration::from_secs(1)).await);
        assert!(shutdown.background().await.is_none());
    }

    #[tokio::test]
    async fn the_grace_period_bounds_the_wait() {
        let shutdown = Shutdown::default();
        let request = shutdown.request();
        let serving = shutdown.serve(std::future::pending(), Duration::from_millis(50));
        let stopping = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            shutdown.begin();
        };
        let (stopped, ()) = tokio::join!(serving, stopping);
        assert_eq!(
            stopped.unwrap(),
            Stopped {
                in_flight: 1,
                cut: 1
            }
        );
        drop(request);
        assert_eq!(shutdown.in_flight(), 0);
    }
}
