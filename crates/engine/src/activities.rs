//! Activities: Task states whose resource is an activity ARN
//! (`arn:aws:states:REGION:ACCOUNT:activity:NAME`) wait for a worker.
//!
//! Owns [`ActivityTask`] and the queues of scheduled activity tasks, one per
//! activity ARN, that `GetActivityTask` long-polls. A queued task carries
//! its task token; the worker answers with `SendTaskSuccess` /
//! `SendTaskFailure` / `SendTaskHeartbeat` on that token, which the
//! callback registry (`callbacks`) routes to the execution, so an activity
//! is a callback task whose integration is "put it in the queue". Queues
//! are memory only: after a restart, journal replay re-issues the pending
//! task with the same token and recovery queues it again (a task a worker
//! had already taken may be handed out twice: at least once, as tasks are).
//!
//! It must not apply events or decide timeouts (the scheduler and the
//! interpreter do).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;

/// A task handed to an activity worker (`GetActivityTask`'s answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityTask {
    /// The token to answer with.
    pub task_token: String,
    /// The task's input (its effective parameters), as JSON text.
    pub input: String,
}

#[derive(Debug, Default)]
struct Queue {
    tasks: VecDeque<ActivityTask>,
    ready: std::sync::Arc<Notify>,
}

/// The scheduled activity tasks, by activity ARN.
#[derive(Debug, Default)]
pub(crate) struct Activities {
    queues: Mutex<HashMap<String, Queue>>,
}

impl Activities {
    /// Queues a task for the workers of `activity_arn`.
    pub(crate) fn schedule(&self, activity_arn: &str, task: ActivityTask) {
        let mut queues = self.lock();
        let queue = queues.entry(activity_arn.to_owned()).or_default();
        queue.tasks.push_back(task);
        queue.ready.notify_one();
    }

    /// The oldest task of `activity_arn` that is still waiting (`waiting`
    /// says whether its token still is), waiting up to `wait` for one.
    pub(crate) async fn next(
        &self,
        activity_arn: &str,
        wait: Duration,
        waiting: impl Fn(&str) -> bool,
    ) -> Option<ActivityTask> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let ready = {
                let mut queues = self.lock();
                let queue = queues.entry(activity_arn.to_owned()).or_default();
                while let Some(task) = queue.tasks.pop_front() {
                    if waiting(&task.task_token) {
                        return Some(task);
                    }
                }
                std::sync::Arc::clone(&queue.ready)
            };
            // `notify_one` stores a permit when nobody waits, so a task
            // queued between the look above and this wait is not missed.
            if tokio::time::timeout_at(deadline, ready.notified())
                .await
                .is_err()
            {
                return None;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Queue>> {
        self.queues.lock().unwrap_or_else(|p| p.into_inner())
    }
}
