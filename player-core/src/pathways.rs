//! The failover state: which pathway (cache) to fetch from — the priority order, a penalty box
//! for pathways that failed, and the current pathway, which is sticky. Pure: time is passed in
//! as `now_s`, seconds on the caller's monotonic clock.

use std::collections::HashMap;

use crate::presentation::Presentation;

/// Seconds a failed pathway stays in the penalty box by default.
pub const DEFAULT_PENALTY_S: f64 = 300.0;

/// Which pathway to fetch from: steering priority, a penalty box for failed pathways, and the
/// current pathway, which is sticky (only failover and a new steering priority move it).
#[derive(Debug, Clone, PartialEq)]
pub struct PathwayChooser {
    order: Vec<String>,
    /// Pathway → penalized until this time.
    penalties: HashMap<String, f64>,
    current: Option<String>,
    penalty_s: f64,
}

impl PathwayChooser {
    /// A chooser over the manifest's pathways: `preferred` first (the steering default; a
    /// whitespace-separated list is accepted, ids the manifest lacks are ignored), then manifest
    /// order. Starts on the first; penalties last [`DEFAULT_PENALTY_S`].
    pub fn new(pathways: &[String], preferred: Option<&str>) -> Self {
        let mut order = Vec::new();
        for p in preferred
            .into_iter()
            .flat_map(str::split_whitespace)
            .filter(|p| pathways.iter().any(|q| q == p))
        {
            push_unique(&mut order, p);
        }
        for p in pathways {
            push_unique(&mut order, p);
        }
        PathwayChooser {
            current: order.first().cloned(),
            order,
            penalties: HashMap::new(),
            penalty_s: DEFAULT_PENALTY_S,
        }
    }

    /// The chooser for a presentation, preferring its steering default pathway.
    pub fn from_presentation(presentation: &Presentation) -> Self {
        let preferred = presentation
            .steering
            .as_ref()
            .and_then(|s| s.default_pathway.as_deref());
        Self::new(&presentation.pathways, preferred)
    }

    /// The same chooser with penalties lasting `penalty_s` seconds.
    pub fn with_penalty_s(mut self, penalty_s: f64) -> Self {
        self.penalty_s = penalty_s;
        self
    }

    /// The pathway in use (`None` when the manifest names none).
    pub fn current(&self) -> Option<&str> {
        self.current.as_deref()
    }

    /// The priority order, best first.
    pub fn order(&self) -> &[String] {
        &self.order
    }

    /// Puts a pathway in the penalty box for `penalty_s` from now (extending, never shortening).
    pub fn penalize(&mut self, id: &str, now_s: f64) {
        self.expire(now_s);
        let until = now_s + self.penalty_s;
        let entry = self.penalties.entry(id.to_owned()).or_insert(until);
        *entry = entry.max(until);
    }

    /// The pathway is in the penalty box at `now_s`.
    pub fn is_penalized(&self, id: &str, now_s: f64) -> bool {
        self.penalties.get(id).is_some_and(|&until| until > now_s)
    }

    /// Penalizes the current pathway and moves to the next usable one in priority order
    /// (wrapping); returns it, or `None` (staying put) when every pathway is penalized.
    pub fn fail_over(&mut self, now_s: f64) -> Option<String> {
        let start = match self.current.clone() {
            Some(c) => {
                self.penalize(&c, now_s);
                self.order.iter().position(|p| *p == c).map_or(0, |i| i + 1)
            }
            None => {
                self.expire(now_s);
                0
            }
        };
        let n = self.order.len();
        let next = (0..n)
            .map(|k| &self.order[(start + k) % n])
            .find(|p| !self.is_penalized(p, now_s))?
            .clone();
        self.current = Some(next.clone());
        Some(next)
    }

    /// Whether [`PathwayChooser::fail_over`] would find a pathway to move to.
    pub fn can_fail_over(&self, now_s: f64) -> bool {
        self.order
            .iter()
            .any(|p| self.current.as_deref() != Some(p.as_str()) && !self.is_penalized(p, now_s))
    }

    /// Steering sent a new priority: adopts it and moves to its first usable pathway if that is
    /// not the current one; returns the new pathway when it changed. An empty order is ignored;
    /// when every pathway is penalized the current one stays.
    pub fn set_priority(&mut self, order: Vec<String>, now_s: f64) -> Option<String> {
        let mut deduped = Vec::with_capacity(order.len());
        for p in &order {
            push_unique(&mut deduped, p);
        }
        if deduped.is_empty() {
            return None;
        }
        self.order = deduped;
        self.expire(now_s);
        let target = self
            .order
            .iter()
            .find(|p| !self.is_penalized(p, now_s))?
            .clone();
        if self.current.as_deref() == Some(target.as_str()) {
            return None;
        }
        self.current = Some(target.clone());
        Some(target)
    }

    /// Every pathway of the order is penalized (`false` when there are none).
    pub fn all_penalized(&self, now_s: f64) -> bool {
        !self.order.is_empty() && self.order.iter().all(|p| self.is_penalized(p, now_s))
    }

    /// Penalized pathways with the seconds left, in priority order (others after, by id).
    pub fn penalized(&self, now_s: f64) -> Vec<(String, f64)> {
        let mut list: Vec<(String, f64)> = self
            .penalties
            .iter()
            .filter(|&(_, &until)| until > now_s)
            .map(|(id, &until)| (id.clone(), until - now_s))
            .collect();
        list.sort_by(|(a, _), (b, _)| {
            let rank = |id: &String| {
                self.order
                    .iter()
                    .position(|p| p == id)
                    .unwrap_or(usize::MAX)
            };
            rank(a).cmp(&rank(b)).then_with(|| a.cmp(b))
        });
        list
    }

    /// Forgets penalties that are over.
    fn expire(&mut self, now_s: f64) {
        self.penalties.retain(|_, until| *until > now_s);
    }
}

/// Appends `id` unless `list` has it.
pub(crate) fn push_unique(list: &mut Vec<String>, id: &str) {
    if !list.iter().any(|p| p == id) {
        list.push(id.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn chooser_starts_on_the_default_then_fails_over_in_order() {
        let mut ch = PathwayChooser::new(&ids(&["a", "b", "c"]), Some("b"));
        assert_eq!(ch.order(), ids(&["b", "a", "c"]).as_slice());
        assert_eq!(ch.current(), Some("b"));
        assert_eq!(ch.fail_over(0.0).as_deref(), Some("a"));
        assert_eq!(ch.fail_over(1.0).as_deref(), Some("c"));
        assert!(!ch.all_penalized(1.0));
        assert_eq!(ch.fail_over(2.0), None, "everything penalized");
        assert_eq!(ch.current(), Some("c"), "stays put");
        assert!(ch.all_penalized(2.0));
        // b's penalty ran out at 300: failing over from c wraps around to it.
        assert!(!ch.all_penalized(300.0));
        assert_eq!(ch.fail_over(300.5).as_deref(), Some("b"));
    }

    #[test]
    fn chooser_wraps_around_past_the_end() {
        let mut ch = PathwayChooser::new(&ids(&["a", "b", "c"]), None).with_penalty_s(10.0);
        assert_eq!(ch.current(), Some("a"));
        assert_eq!(ch.fail_over(0.0).as_deref(), Some("b"));
        assert_eq!(ch.fail_over(1.0).as_deref(), Some("c"));
        assert_eq!(
            ch.fail_over(10.0).as_deref(),
            Some("a"),
            "a usable again at 10"
        );
    }

    #[test]
    fn chooser_ignores_unknown_defaults_and_handles_no_pathways() {
        let ch = PathwayChooser::new(&ids(&["a", "b"]), Some("zz b"));
        assert_eq!(ch.order(), ids(&["b", "a"]).as_slice());
        let mut empty = PathwayChooser::new(&[], Some("a"));
        assert_eq!(empty.current(), None);
        assert_eq!(empty.fail_over(0.0), None);
        assert!(!empty.all_penalized(0.0));
    }

    #[test]
    fn penalties_expire_and_are_listed_with_time_left() {
        let mut ch = PathwayChooser::new(&ids(&["a", "b", "c"]), None);
        ch.penalize("c", 0.0);
        ch.penalize("a", 100.0);
        assert_eq!(
            ch.penalized(200.0),
            vec![("a".to_string(), 200.0), ("c".to_string(), 100.0)]
        );
        assert!(ch.is_penalized("c", 299.0));
        assert!(!ch.is_penalized("c", 300.0));
        assert_eq!(ch.penalized(300.0), vec![("a".to_string(), 100.0)]);
        ch.penalize("a", 150.0);
        assert_eq!(
            ch.penalized(300.0),
            vec![("a".to_string(), 150.0)],
            "extended"
        );
        assert!(ch.penalized(1000.0).is_empty());
    }

    #[test]
    fn set_priority_moves_only_when_steering_says_so() {
        let mut ch = PathwayChooser::new(&ids(&["a", "b"]), None);
        assert_eq!(ch.set_priority(ids(&["a", "b"]), 0.0), None, "already on a");
        assert_eq!(ch.fail_over(0.0).as_deref(), Some("b"));
        // a is penalized: steering naming it first does not move us back yet.
        assert_eq!(ch.set_priority(ids(&["a", "b"]), 10.0), None);
        assert_eq!(ch.current(), Some("b"));
        assert_eq!(ch.order(), ids(&["a", "b"]).as_slice());
        // Penalty over, and steering still prefers a: move.
        assert_eq!(
            ch.set_priority(ids(&["a", "b"]), 300.0).as_deref(),
            Some("a")
        );
        assert_eq!(ch.current(), Some("a"));
        // A new (cloned) pathway first.
        assert_eq!(
            ch.set_priority(ids(&["c", "a", "c"]), 301.0).as_deref(),
            Some("c")
        );
        assert_eq!(ch.order(), ids(&["c", "a"]).as_slice());
        // Empty orders are ignored.
        assert_eq!(ch.set_priority(Vec::new(), 302.0), None);
        assert_eq!(ch.order(), ids(&["c", "a"]).as_slice());
    }

    #[test]
    fn can_fail_over_says_whether_fail_over_would_move() {
        let mut ch = PathwayChooser::new(&ids(&["a", "b"]), None);
        assert!(ch.can_fail_over(0.0));
        ch.penalize("b", 0.0);
        assert!(!ch.can_fail_over(1.0), "only the current one is left");
        assert_eq!(ch.fail_over(1.0), None);
        assert!(ch.can_fail_over(400.0), "penalties expire");
        assert!(!PathwayChooser::new(&[], None).can_fail_over(0.0));
    }

    #[test]
    fn set_priority_with_everything_penalized_stays_put() {
        let mut ch = PathwayChooser::new(&ids(&["a", "b"]), None);
        ch.penalize("a", 0.0);
        ch.penalize("b", 0.0);
        assert_eq!(ch.set_priority(ids(&["b", "a"]), 1.0), None);
        assert_eq!(ch.current(), Some("a"));
        assert!(ch.all_penalized(1.0));
    }
}
