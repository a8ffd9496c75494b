//! The metrics the gateway records, declared in one place.
//!
//! Owns the names, labels and descriptions of the gateway's series
//! (recorded with the `metrics` crate; the binary installs the exporter).
//! It must not install a recorder. Labels are bounded: a route is named by
//! its method and path *pattern* (`POST /hooks/{source}`), never by the
//! requested path, and unmatched requests share `route="unmatched"`.

use metrics::{Unit, describe_counter, describe_histogram};

/// Counter: every answered webhook request, by `route` and `status` (the
/// HTTP status code, e.g. `"200"`).
pub const REQUESTS: &str = "stepgate_webhook_requests_total";

/// Histogram, seconds: from receiving a request to answering its success
/// response (async: the start is durable; sync: the execution succeeded),
/// by `route`.
pub const ACK_SECONDS: &str = "stepgate_webhook_ack_seconds";

/// The `route` label of requests that matched no route (404, 405).
pub const UNMATCHED: &str = "unmatched";

/// Describes the gateway's metrics to the installed recorder (call once
/// after installing it, so the exporter prints HELP and units).
pub fn describe() {
    describe_counter!(
        REQUESTS,
        "Webhook requests answered, by route (METHOD path-pattern, or unmatched) and HTTP status."
    );
    describe_histogram!(
        ACK_SECONDS,
        Unit::Seconds,
        "Time from receiving a webhook request to its success answer, by route."
    );
}
