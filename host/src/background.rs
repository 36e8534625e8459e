//! A small pool of low-priority threads, for CPU-heavy work that must not take
//! time slices from page rendering: password hashing during a sign-in storm, and
//! calls of plugins on probation (they recently ran out of time or memory).
//!
//! The threads lower their own scheduling priority once, at start (`nice` 19 on
//! Linux): when the machine is busy, the kernel gives the ordinary threads that
//! render pages the CPU first; when it is idle, these threads run at full speed.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// Work for another thread.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// `f` as a job whose outcome arrives on the receiver: its value, or its
/// panic, caught (a panic stays with its own job).
pub fn caught<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> (Job, tokio::sync::oneshot::Receiver<std::thread::Result<T>>) {
    let (done, outcome) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = done.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    (job, outcome)
}

/// The text a caught panic carries, if any.
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> Option<String> {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
}

/// Threads at the lowest scheduling priority, fed through a queue.
#[derive(Clone)]
pub struct LowPriorityPool {
    jobs: mpsc::Sender<Job>,
}

impl LowPriorityPool {
    /// Starts `threads` named `name-N`.
    pub fn new(name: &str, threads: usize) -> std::io::Result<LowPriorityPool> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || {
                    lower_this_threads_priority();
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            // The pool was dropped.
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(LowPriorityPool { jobs })
    }

    /// Runs `f` on one of the pool's threads and waits for its result without
    /// blocking the async runtime. A panic in `f` becomes an error.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let (job, result) = caught(f);
        self.jobs
            .send(job)
            .map_err(|_| anyhow::anyhow!("file de tâches fermée"))?;
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) => Err(anyhow::anyhow!("tâche interrompue (panique)")),
            Err(_) => Err(anyhow::anyhow!("tâche perdue")),
        }
    }
}

/// `nice 19` for the calling thread (Linux: the nice value is per thread).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn lower_this_threads_priority() {
    // SAFETY: plain system calls on the calling thread's own id; no memory is shared.
    let result = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19)
    };
    if result != 0 {
        tracing::warn!(
            "priorité basse refusée : {}",
            std::io::Error::last_os_error()
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_reports_panics() {
        let pool = LowPriorityPool::new("test", 2).unwrap();
        assert_eq!(pool.run(|| 2 + 2).await.unwrap(), 4);
        assert!(pool.run(|| panic!("boum")).await.is_err());
        // Still serving after a panic.
        assert_eq!(pool.run(|| "ok").await.unwrap(), "ok");
    }
}
