//! Route matching: which configured route a method and path select.
//!
//! Owns API Gateway's precedence: a literal segment beats `{param}`, which
//! beats greedy `{proxy+}`; an exact method beats `ANY`. It must not look at
//! anything but the method and the path.

use config::{Method, Segment};

use crate::GatewayRoute;

/// What a request selects.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Match {
    /// The index of the route.
    Route(usize),
    /// No route has this path.
    NotFound,
    /// Routes have this path, with these methods only (sorted).
    MethodNotAllowed(Vec<&'static str>),
}

/// How specifically `pattern` matches `path` (lower is more specific), or
/// `None` if it does not.
fn specificity(pattern: &[Segment], path: &str) -> Option<Vec<u8>> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let segments: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split('/').collect()
    };
    let mut rank = Vec::with_capacity(pattern.len());
    for (i, p) in pattern.iter().enumerate() {
        match p {
            Segment::Literal(l) => {
                if segments.get(i) != Some(&l.as_str()) {
                    return None;
                }
                rank.push(0);
            }
            Segment::Param(_) => {
                if segments.get(i).is_none_or(|s| s.is_empty()) {
                    return None;
                }
                rank.push(1);
            }
            // As in API Gateway, `{proxy+}` needs at least one segment:
            // `/{proxy+}` does not match `/`.
            Segment::Greedy(_) => {
                if segments.get(i).is_none_or(|s| s.is_empty()) {
                    return None;
                }
                rank.push(2);
                return Some(rank);
            }
        }
    }
    (segments.len() == pattern.len()).then_some(rank)
}

/// The route for `method` and `path`.
pub(crate) fn select(routes: &[GatewayRoute], method: &str, path: &str) -> Match {
    let mut best: Option<((Vec<u8>, bool), usize)> = None;
    let mut allowed: Vec<&'static str> = Vec::new();
    for (i, route) in routes.iter().enumerate() {
        let Some(rank) = specificity(&route.path.segments, path) else {
            continue;
        };
        allowed.push(route.method.as_str());
        let any = route.method == Method::Any;
        if !any && route.method.as_str() != method {
            continue;
        }
        let key = (rank, any);
        if best.as_ref().is_none_or(|(k, _)| key < *k) {
            best = Some((key, i));
        }
    }
    match best {
        Some((_, i)) => Match::Route(i),
        None if allowed.is_empty() => Match::NotFound,
        None => {
            allowed.sort_unstable();
            allowed.dedup();
            Match::MethodNotAllowed(allowed)
        }
    }
}
