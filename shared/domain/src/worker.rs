//! What the queue workflows ([`crate::dispatch`], [`crate::import::importer`],
//! [`crate::catalog_sync`]) share: the fate of a message ([`Disposition`]), the back-off of a retried
//! one ([`Backoff`]), the order-log [`Journal`] with its one send step ([`Journal::answer`]), and
//! one retry-on-conflict budget ([`Retries`]) for bookkeeping writes.
//!
//! Workflows never sleep: waiting is the queue's job (a message's visibility), so every "later"
//! here is a [`Disposition::Retry`] with a delay.

use crate::clock::Clock;
use crate::order::{LogEntry, Outcome};
use crate::outbound::{CallError, CallOutcome, CallResult, Receipt};
use crate::ports::{OrderStore, StoreError};
use std::time::Duration;

/// Attempts of a read-modify-write that keeps conflicting before the message is retried later.
pub const MAX_WRITE_ATTEMPTS: u32 = 5;

/// Back-off for retryable failures when VTEX gives no `Retry-After`: `base × 2^(receives-1)`,
/// full jitter, capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(5),
            max: Duration::from_secs(15 * 60),
        }
    }
}

impl Backoff {
    /// Delay before the next delivery of a message received `receive_count` times.
    pub fn delay(&self, receive_count: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(r) = retry_after {
            return r.min(self.max);
        }
        let exp = receive_count.saturating_sub(1).min(20);
        let ceiling = self.base.saturating_mul(1u32 << exp).min(self.max);
        let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        if ms == 0 {
            return Duration::ZERO;
        }
        // Full jitter keeps a burst of throttled messages from coming back together.
        let r = (uuid::Uuid::new_v4().as_u128() as u64) % (ms / 2 + 1);
        Duration::from_millis(ms / 2 + r)
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Disposition {
    /// Done (nothing left to do with it): delete it.
    Done,
    /// Deliver it again after `after`.
    Retry { after: Duration },
    /// Park it in the DLQ with the reason, then delete the original.
    DeadLetter { code: String, reason: String },
}

impl Disposition {
    pub fn dead(code: impl Into<String>, reason: impl Into<String>) -> Self {
        Disposition::DeadLetter {
            code: code.into(),
            reason: reason.into(),
        }
    }

    fn delay_secs(&self) -> u64 {
        match self {
            Disposition::Retry { after } => after.as_secs(),
            _ => 0,
        }
    }
}

/// One delivery of a message, as far as a workflow needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt<'a> {
    /// The queue's id of the message (it labels the log lines).
    pub message_id: &'a str,
    /// This delivery included.
    pub receive_count: u32,
}

/// The budget of a read-modify-write loop: [`MAX_WRITE_ATTEMPTS`] tries, then
/// `Unavailable(gave_up)` so the message is retried later. Each try re-reads what it changes after
/// a conflict: bookkeeping of a call that already happened must not be lost.
///
/// ```ignore
/// let mut tries = Retries::new("order kept changing");
/// loop {
///     tries.take()?;
///     match store.save(&next).await? { Saved(s) => return Ok(s), Conflict => next = reread().await? }
/// }
/// ```
pub struct Retries {
    left: u32,
    gave_up: &'static str,
}

impl Retries {
    pub fn new(gave_up: &'static str) -> Self {
        Retries {
            left: MAX_WRITE_ATTEMPTS,
            gave_up,
        }
    }

    /// Takes one try; the error once the budget is spent.
    pub fn take(&mut self) -> Result<(), StoreError> {
        if self.left == 0 {
            return Err(StoreError::Unavailable(self.gave_up.to_string()));
        }
        self.left -= 1;
        Ok(())
    }
}

/// What VTEX's answer to a sent call leaves to the workflow ([`Journal::answer`]).
pub enum Answer {
    /// Acknowledged, with the receipt as the log shows it: record *Sent*, then
    /// [`Journal::acknowledged`].
    Acknowledged(String),
    /// Refused: undo *Pending* (VTEX still holds what it had), then [`Journal::refused`].
    Refused { status: u16, body: String },
    /// Nothing to record: this is the message's fate (already logged).
    Stop(Disposition),
}

/// The order log of one message's work: every step and every outbound call lands there, labelled
/// with the message.
pub struct Journal<'a> {
    pub log: &'a dyn OrderStore,
    /// The order (or import) whose log this is.
    pub log_id: &'a str,
    pub label: &'a str,
    pub clock: &'a dyn Clock,
    pub backoff: Backoff,
    pub receive_count: u32,
}

impl Journal<'_> {
    pub async fn log(&self, step: &str, outcome: Outcome, detail: String) {
        let entry = LogEntry::new(
            self.clock.now(),
            step,
            outcome,
            format!("{}: {detail}", self.label),
        );
        if let Err(e) = self.log.append_log(self.log_id, &entry).await {
            // The log is best effort; the bookkeeping that matters is already written.
            tracing::warn!(log_id = self.log_id, error = %e, "order log append failed");
        }
    }

    /// Back later: after `retry_after` when VTEX said, else after the back-off.
    pub fn retry(&self, retry_after: Option<Duration>) -> Disposition {
        Disposition::Retry {
            after: self.backoff.delay(self.receive_count, retry_after),
        }
    }

    /// A retryable VTEX answer: logged *Pending*, the message comes back later.
    pub async fn later(
        &self,
        step: &str,
        what: &str,
        retry_after: Option<Duration>,
        reason: &str,
    ) -> Disposition {
        let next = self.retry(retry_after);
        self.log(
            step,
            Outcome::Pending,
            format!(
                "{what}: {reason} (attempt {}); retry in {}s",
                self.receive_count,
                next.delay_secs()
            ),
        )
        .await;
        next
    }

    /// A refusal by VTEX: logged *Error* with VTEX's reason, parked in the DLQ.
    pub async fn refused(&self, step: &str, what: &str, status: u16, body: &str) -> Disposition {
        let reason = format!("{what}: VTEX refused it with {status}: {body}");
        self.log(step, Outcome::Error, reason.clone()).await;
        Disposition::dead(format!("VTEX_{status}"), reason)
    }

    /// A call that could not be built: logged *Error*, parked in the DLQ.
    pub async fn config_error(&self, step: &str, e: CallError) -> Disposition {
        self.log(step, Outcome::Error, e.to_string()).await;
        Disposition::dead("VTEX_CONFIG", e.to_string())
    }

    /// The shared send step, once *Pending* is recorded and the call made: a call that could not
    /// be built and a retryable answer are logged here and end the message's work (a retryable
    /// answer leaves *Pending* for the next delivery); an acknowledgement or a refusal goes back to
    /// the workflow to record.
    pub async fn answer(&self, step: &str, what: &str, call: CallResult<Receipt>) -> Answer {
        match call {
            Err(e) => Answer::Stop(self.config_error(step, e).await),
            Ok(CallOutcome::Success(receipt)) => Answer::Acknowledged(receipt.text()),
            Ok(CallOutcome::Retryable {
                retry_after,
                reason,
            }) => Answer::Stop(self.later(step, what, retry_after, &reason).await),
            Ok(CallOutcome::Rejected { status, body }) => Answer::Refused { status, body },
        }
    }

    /// Logs an acknowledged call once its outcome is recorded; `more` ends the line.
    pub async fn acknowledged(&self, step: &str, what: &str, receipt: &str, more: &str) {
        self.log(
            step,
            Outcome::Success,
            format!("{what} acknowledged, receipt {receipt}{more}"),
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_honors_retry_after_up_to_the_cap() {
        let b = Backoff::default();
        assert_eq!(
            b.delay(3, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(b.delay(1, Some(Duration::from_secs(99_999))), b.max);
    }

    #[test]
    fn backoff_grows_with_receives_stays_jittered_and_capped() {
        let b = Backoff {
            base: Duration::from_secs(4),
            max: Duration::from_secs(60),
        };
        for _ in 0..50 {
            let first = b.delay(1, None);
            assert!(first >= Duration::from_secs(2) && first <= Duration::from_secs(4));
            let third = b.delay(3, None);
            assert!(third >= Duration::from_secs(8) && third <= Duration::from_secs(16));
            assert!(b.delay(30, None) <= b.max);
        }
    }

    #[test]
    fn backoff_honours_retry_after_and_grows_with_receives() {
        let b = Backoff {
            base: Duration::from_secs(2),
            max: Duration::from_secs(60),
        };
        assert_eq!(
            b.delay(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            b.delay(1, Some(Duration::from_secs(700))),
            Duration::from_secs(60)
        );
        let d1 = b.delay(1, None);
        assert!(d1 >= Duration::from_secs(1) && d1 <= Duration::from_secs(2));
        let d4 = b.delay(4, None);
        assert!(d4 >= Duration::from_secs(8) && d4 <= Duration::from_secs(16));
        assert!(b.delay(30, None) <= Duration::from_secs(60));
    }

    #[test]
    fn retries_give_up_after_the_attempts() {
        let mut tries = Retries::new("kept changing");
        for _ in 0..MAX_WRITE_ATTEMPTS {
            assert!(tries.take().is_ok());
        }
        assert!(matches!(tries.take(), Err(StoreError::Unavailable(m)) if m == "kept changing"));
    }
}
