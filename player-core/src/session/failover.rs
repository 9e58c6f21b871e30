//! What the session does when a segment cannot be had: a pure decision over the failure, the
//! buffer and the pathways, taken in this order —
//!
//! 1. a download abandoned as too slow for the buffer is fetched again one rendition lower, from
//!    the same pathway, unless what it measured cannot carry even the lowest rendition: then the
//!    pathway is left at once as well (stepping down rung by rung, each step judged for a second
//!    or more, would spend the buffer);
//! 2. a segment far larger than its rendition declares is the content's fault, the same on
//!    every pathway: none is left, the next try goes one rendition lower, and at the lowest the
//!    session fails;
//! 3. any other failure leaves the pathway (penalizing it) for the next usable one;
//! 4. with no pathway to move to, the next try goes one rendition lower;
//! 5. at the lowest rendition, a missing segment (404) is skipped: a hole in the timeline the
//!    viewer sees as a stall, not the end of playback — unless three in a row were missing
//!    already (the stream, not a segment, is broken): then the session fails;
//! 6. any other failure at the lowest rendition is tried again while the buffer lasts, and the
//!    session fails when the buffer is empty.
//!
//! A successful download can also make the session leave a pathway: [`too_slow_to_stay`].

use std::time::Duration;

use crate::presentation::MediaKind;

/// A segment that could not be had, after the fetcher's retries.
#[derive(Debug, Clone)]
pub(super) struct Failure<'a> {
    pub kind: MediaKind,
    /// The segment's number, for messages.
    pub segment: u64,
    /// The rendition it was requested at.
    pub rendition: usize,
    /// Why it failed, in one line.
    pub error: &'a str,
    /// The throughput measured by a download abandoned as too slow for the buffer, bit/s.
    pub abandoned_at_bps: Option<f64>,
    /// The server said the segment does not exist.
    pub not_found: bool,
    /// The body was over its size limit: the content's fault, the same on every pathway.
    pub too_large: bool,
    /// Segments of this stream skipped as missing just before this one.
    pub missing_in_a_row: u32,
}

/// What the session knows when it decides.
#[derive(Debug, Clone, Copy)]
pub(super) struct Circumstances {
    /// The lowest rendition's bitrate, bit/s.
    pub lowest_bps: u64,
    /// How many pathways the failed rendition can be fetched from.
    pub pathways: usize,
    /// Leaving the failed pathway would land on a usable one.
    pub can_leave: bool,
    /// Media buffered ahead of the play position, seconds.
    pub buffer_s: f64,
    /// How long a left pathway is avoided, seconds.
    pub penalty_s: f64,
}

/// Why a pathway is left; worded once the pathway's name is known.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Leave {
    /// What the abandoned download measured cannot carry the lowest rendition.
    TooSlow {
        segment: u64,
        measured_bps: f64,
        lowest_bps: u64,
    },
    /// The segment failed there.
    Failed {
        segment: u64,
        error: String,
        penalty_s: f64,
    },
}

impl Leave {
    /// The reason, naming the pathway left.
    pub fn reason(&self, from: &str) -> String {
        match self {
            Leave::TooSlow {
                segment,
                measured_bps,
                lowest_bps,
            } => format!(
                "{from} is too slow: {:.0} kbit/s measured on segment {segment}, under the lowest \
                 rendition's {:.0} kbit/s",
                measured_bps / 1000.0,
                *lowest_bps as f64 / 1000.0
            ),
            Leave::Failed {
                segment,
                error,
                penalty_s,
            } => format!(
                "segment {segment} failed on {from}: {error}; avoiding it for {penalty_s:.0} s"
            ),
        }
    }
}

/// What happens to the segment next.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Next {
    /// The scheduler fetches it again, from the pathway moved to.
    Refetch,
    /// It is fetched again no higher than rendition `to`.
    StepDown { to: usize, reason: String },
    /// It is fetched again after `after`; the viewer is warned.
    RetryLater { after: Duration, warning: String },
    /// It is left out, for this reason: playback goes on after it.
    Skip(String),
    /// Playback stops, for this reason.
    Fail(String),
}

/// The decision: first leave the pathway (penalizing it, moving if one is usable), then `next`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Decision {
    pub leave: Option<Leave>,
    pub next: Next,
}

/// Buffer below which a segment failing everywhere stops playback, seconds.
const LAST_TRY_BUFFER_S: f64 = 0.5;
/// Wait between tries of a segment failing everywhere.
const RETRY_EVERYWHERE_AFTER: Duration = Duration::from_millis(500);
/// A pathway measured under this multiple of the lowest rendition's bitrate cannot carry it.
const CARRY_MARGIN: f64 = 1.2;
/// Missing segments in a row that are skipped; one more fails the session.
const MAX_MISSING_IN_A_ROW: u32 = 3;

/// Decides what to do after `failure` (see the module doc for the order).
pub(super) fn decide(failure: &Failure<'_>, at: &Circumstances) -> Decision {
    if let Some(measured_bps) = failure.abandoned_at_bps
        && failure.rendition > 0
    {
        let leave = (measured_bps < CARRY_MARGIN * at.lowest_bps as f64 && at.pathways > 1)
            .then_some(Leave::TooSlow {
                segment: failure.segment,
                measured_bps,
                lowest_bps: at.lowest_bps,
            });
        return Decision {
            leave,
            next: Next::StepDown {
                to: failure.rendition - 1,
                reason: format!("too slow for the buffer: {}", failure.error),
            },
        };
    }
    if failure.too_large {
        let next = if failure.rendition > 0 {
            Next::StepDown {
                to: failure.rendition - 1,
                reason: failure.error.to_owned(),
            }
        } else {
            Next::Fail(format!(
                "{} segment {} could not be played: {}",
                kind_name(failure.kind),
                failure.segment,
                failure.error
            ))
        };
        return Decision { leave: None, next };
    }
    let leave = (at.pathways > 1).then(|| Leave::Failed {
        segment: failure.segment,
        error: failure.error.to_owned(),
        penalty_s: at.penalty_s,
    });
    let next = if leave.is_some() && at.can_leave {
        Next::Refetch
    } else if failure.rendition > 0 {
        Next::StepDown {
            to: failure.rendition - 1,
            reason: failure.error.to_owned(),
        }
    } else {
        let kind = kind_name(failure.kind);
        if failure.not_found && failure.missing_in_a_row < MAX_MISSING_IN_A_ROW {
            Next::Skip(format!("missing ({})", failure.error))
        } else if failure.not_found {
            Next::Fail(format!(
                "{kind} segment {} could not be played: {} ({} segments missing in a row)",
                failure.segment,
                failure.error,
                failure.missing_in_a_row + 1
            ))
        } else if at.buffer_s > LAST_TRY_BUFFER_S {
            Next::RetryLater {
                after: RETRY_EVERYWHERE_AFTER,
                warning: format!(
                    "{kind} segment {} failed everywhere ({}); trying again while the buffer lasts ({:.1} s)",
                    failure.segment, failure.error, at.buffer_s
                ),
            }
        } else {
            Next::Fail(format!(
                "{kind} segment {} could not be played: {}",
                failure.segment, failure.error
            ))
        }
    };
    Decision { leave, next }
}

fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Video => "video",
        MediaKind::Audio => "audio",
        MediaKind::Text => "text",
    }
}

/// A pathway that cannot deliver even the lowest rendition in real time — a segment of the
/// adaptive stream (video, or the audio of an audio-only title) at rendition 0 took over 1.2 ×
/// its duration — is left for another one, when there is one: no rendition change can save
/// playback there.
pub(super) fn too_slow_to_stay(
    adaptive: bool,
    rendition: usize,
    pathways: usize,
    download_s: f64,
    segment_duration_s: f64,
) -> bool {
    adaptive && rendition == 0 && pathways >= 2 && download_s > CARRY_MARGIN * segment_duration_s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(rendition: usize) -> Failure<'static> {
        Failure {
            kind: MediaKind::Video,
            segment: 7,
            rendition,
            error: "HTTP 503",
            abandoned_at_bps: None,
            not_found: false,
            too_large: false,
            missing_in_a_row: 0,
        }
    }

    fn two_pathways() -> Circumstances {
        Circumstances {
            lowest_bps: 400_000,
            pathways: 2,
            can_leave: true,
            buffer_s: 8.0,
            penalty_s: 300.0,
        }
    }

    #[test]
    fn a_failed_segment_leaves_the_pathway_and_is_fetched_again_there() {
        let d = decide(&failure(3), &two_pathways());
        assert_eq!(d.next, Next::Refetch);
        assert_eq!(
            d.leave.unwrap().reason("oca-a"),
            "segment 7 failed on oca-a: HTTP 503; avoiding it for 300 s"
        );
    }

    #[test]
    fn with_nowhere_to_go_the_pathway_is_still_penalized_and_the_rendition_steps_down() {
        let at = Circumstances {
            can_leave: false,
            ..two_pathways()
        };
        let d = decide(&failure(3), &at);
        assert!(matches!(d.leave, Some(Leave::Failed { .. })));
        assert_eq!(
            d.next,
            Next::StepDown {
                to: 2,
                reason: "HTTP 503".into()
            }
        );
    }

    #[test]
    fn one_pathway_steps_down_without_leaving() {
        let at = Circumstances {
            pathways: 1,
            ..two_pathways()
        };
        let d = decide(&failure(1), &at);
        assert_eq!(d.leave, None);
        assert!(matches!(d.next, Next::StepDown { to: 0, .. }));
    }

    #[test]
    fn at_the_lowest_rendition_it_retries_while_the_buffer_lasts_then_fails() {
        let at = Circumstances {
            pathways: 1,
            buffer_s: 3.0,
            ..two_pathways()
        };
        match decide(&failure(0), &at).next {
            Next::RetryLater { after, warning } => {
                assert_eq!(after, Duration::from_millis(500));
                assert_eq!(
                    warning,
                    "video segment 7 failed everywhere (HTTP 503); trying again while the buffer \
                     lasts (3.0 s)"
                );
            }
            other => panic!("expected a retry, got {other:?}"),
        }
        let dry = Circumstances {
            buffer_s: 0.2,
            ..at
        };
        assert_eq!(
            decide(&failure(0), &dry).next,
            Next::Fail("video segment 7 could not be played: HTTP 503".into())
        );
    }

    #[test]
    fn a_missing_segment_is_skipped_even_without_buffer_but_a_fourth_in_a_row_fails() {
        let missing = Failure {
            kind: MediaKind::Audio,
            not_found: true,
            error: "HTTP 404",
            ..failure(0)
        };
        let dry = Circumstances {
            can_leave: false,
            buffer_s: 0.0,
            ..two_pathways()
        };
        assert_eq!(
            decide(&missing, &dry).next,
            Next::Skip("missing (HTTP 404)".into())
        );
        let third = Failure {
            missing_in_a_row: 2,
            ..missing.clone()
        };
        assert!(matches!(decide(&third, &dry).next, Next::Skip(_)));
        let fourth = Failure {
            missing_in_a_row: 3,
            ..missing.clone()
        };
        assert_eq!(
            decide(&fourth, &dry).next,
            Next::Fail(
                "audio segment 7 could not be played: HTTP 404 (4 segments missing in a row)"
                    .into()
            )
        );
        // Above the lowest rendition, a lower one may have it.
        let higher = Failure {
            rendition: 2,
            ..missing
        };
        assert!(matches!(
            decide(&higher, &dry).next,
            Next::StepDown { to: 1, .. }
        ));
    }

    #[test]
    fn an_oversized_segment_steps_down_leaving_no_pathway_and_fails_at_the_lowest() {
        let big = |rendition| Failure {
            error: "segment too large: over 8 MiB from http://a/s.ts",
            too_large: true,
            ..failure(rendition)
        };
        // The content is as large on every pathway: none is left or penalized.
        let d = decide(&big(2), &two_pathways());
        assert_eq!(d.leave, None);
        assert!(matches!(d.next, Next::StepDown { to: 1, .. }), "{d:?}");
        let d = decide(&big(0), &two_pathways());
        assert_eq!(d.leave, None);
        assert_eq!(
            d.next,
            Next::Fail(
                "video segment 7 could not be played: segment too large: over 8 MiB from \
                 http://a/s.ts"
                    .into()
            )
        );
    }

    #[test]
    fn an_abandoned_download_steps_down_and_leaves_only_a_pathway_too_slow_for_the_lowest() {
        let slow = Failure {
            abandoned_at_bps: Some(300_000.0),
            error: "abandoned",
            ..failure(2)
        };
        let d = decide(&slow, &two_pathways());
        assert_eq!(
            d.next,
            Next::StepDown {
                to: 1,
                reason: "too slow for the buffer: abandoned".into()
            }
        );
        assert_eq!(
            d.leave.unwrap().reason("oca-a"),
            "oca-a is too slow: 300 kbit/s measured on segment 7, under the lowest rendition's \
             400 kbit/s"
        );
        let fast_enough = Failure {
            abandoned_at_bps: Some(2_000_000.0),
            ..slow.clone()
        };
        assert_eq!(decide(&fast_enough, &two_pathways()).leave, None);
        let alone = Circumstances {
            pathways: 1,
            ..two_pathways()
        };
        assert_eq!(decide(&slow, &alone).leave, None);
    }

    #[test]
    fn only_the_adaptive_stream_at_the_lowest_rendition_slower_than_real_time_leaves_a_pathway() {
        assert!(too_slow_to_stay(true, 0, 2, 5.0, 4.0));
        assert!(!too_slow_to_stay(true, 0, 2, 4.7, 4.0));
        assert!(!too_slow_to_stay(true, 1, 2, 9.0, 4.0));
        assert!(!too_slow_to_stay(false, 0, 2, 9.0, 4.0));
        assert!(!too_slow_to_stay(true, 0, 1, 9.0, 4.0));
    }
}
