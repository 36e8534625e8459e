//! One blocking task per request for its plugin calls.
//!
//! A plugin call is short (an instance in ~15 µs, a block in a few hundred)
//! but must not run on an async worker: a loop runs until its epoch deadline.
//! Crossing to the blocking pool and back per call cost a home page ~25
//! context switches (the pool grew to 166 threads under 32 clients). So the
//! calls a request starts together — the page's blocks and news, polled by one
//! `join_all` — are gathered and run one after the other in a single blocking
//! task: the first call to arrive yields once, so that the others of the same
//! poll join it, then runs them all.
//!
//! The price: within one page the calls run in sequence, not side by side (a
//! page's cache misses cost their sum, about 1 ms for a cold home page). A
//! plugin that recently ran out of time runs alone on the penalty lane, so one
//! loop delays the page that met it once, not every page.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::background::{Job, caught, panic_text};

#[derive(Default)]
pub struct Batch {
    jobs: Mutex<Vec<Job>>,
}

tokio::task_local! {
    static BATCH: Arc<Batch>;
}

/// Runs `future` (a request) with its plugin calls gathered per poll.
pub async fn gathering<F: Future>(future: F) -> F::Output {
    BATCH.scope(Arc::default(), future).await
}

/// Runs `job` on the blocking pool: with the other calls of the same request
/// and poll when there is a batch, alone otherwise.
/// `started` counts the blocking tasks (tests, benchmarks, /metrics).
pub(super) async fn run_blocking<T: Send + 'static>(
    started: &AtomicU64,
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let Ok(batch) = BATCH.try_with(Arc::clone) else {
        started.fetch_add(1, Ordering::Relaxed);
        return tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| e.to_string());
    };
    // A panic stays with its own call: the batch's others still run.
    let (job, receiver) = caught(job);
    let leader = {
        let mut jobs = batch.jobs.lock().unwrap_or_else(|e| e.into_inner());
        jobs.push(job);
        jobs.len() == 1
    };
    if leader {
        // Dropped before it takes the jobs (the request went away): the jobs
        // are dropped too, so that their callers end and a later call leads.
        let pending = Pending(&batch);
        // The other calls of this poll (join_all's next futures) join now.
        tokio::task::yield_now().await;
        let jobs = pending.take();
        started.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || jobs.into_iter().for_each(|job| job()))
            .await
            .map_err(|e| e.to_string())?;
    }
    match receiver.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => {
            Err(panic_text(panic.as_ref()).unwrap_or_else(|| "panique pendant l'appel".into()))
        }
        Err(_) => Err("appel abandonné".into()),
    }
}

/// The batch's jobs, until the leader takes them.
struct Pending<'b>(&'b Batch);

impl Pending<'_> {
    fn take(self) -> Vec<Job> {
        let jobs = std::mem::take(&mut *self.0.jobs.lock().unwrap_or_else(|e| e.into_inner()));
        std::mem::forget(self);
        jobs
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
