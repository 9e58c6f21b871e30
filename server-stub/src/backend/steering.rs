//! The steering policy: which pathway (cache) a client should prefer, from the caches' health and
//! what the client reports (its current pathway and throughput). Pure and deterministic.

/// What the backend knows of one cache from its last health poll.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheStatus {
    /// Pathway id.
    pub id: String,
    /// Answered its last health poll and says it is up.
    pub up: bool,
    /// Open client connections.
    pub active_connections: u64,
    /// Bytes sent per second.
    pub bytes_per_second: f64,
}

impl CacheStatus {
    /// Load score: connections, plus one per 5 MB/s of egress.
    pub fn load(&self) -> f64 {
        self.active_connections as f64 + self.bytes_per_second / 5e6
    }
}

/// What a client said on its last steering request (`_HLS_pathway`, `_HLS_throughput`, or the
/// `_DASH_` forms).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientReport {
    /// The pathway it is using.
    pub pathway: Option<String>,
    /// Its measured throughput in bit/s.
    pub throughput_bps: Option<u64>,
}

/// Reads a steering request's query: `_HLS_pathway="a"` and `_HLS_throughput=<bit/s>`, or the
/// DASH-IF lists `_DASH_pathway="a,b"` and `_DASH_throughput=<kbit/s>,…` (most recent first; the
/// first entry counts). Each request replaces the previous report.
pub fn client_report(
    query: &std::collections::HashMap<String, String>,
    dash: bool,
) -> ClientReport {
    let prefix = if dash { "_DASH" } else { "_HLS" };
    let first = |key: &str| {
        query
            .get(&format!("{prefix}_{key}"))
            .and_then(|v| {
                v.trim_matches('"')
                    .split(',')
                    .next()
                    .map(str::trim)
                    .map(String::from)
            })
            .filter(|v| !v.is_empty())
    };
    let unit = if dash { 1000.0 } else { 1.0 };
    ClientReport {
        pathway: first("pathway"),
        throughput_bps: first("throughput")
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|t| t.is_finite() && *t >= 0.0)
            .map(|t| (t * unit) as u64),
    }
}

/// Tuning of the policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// A client stays on its pathway unless another is lighter by more than this load.
    pub stickiness: f64,
    /// Below this reported throughput (bit/s) the client's pathway loses its place: the client is
    /// struggling there, so it is steered to the other caches that are up.
    pub poor_throughput_bps: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            stickiness: 4.0,
            poor_throughput_bps: 200_000,
        }
    }
}

/// The pathway priority for a client: caches that are up first, lightest first (the client's
/// current pathway keeps first place unless it is much busier or the client reports poor
/// throughput on it), then caches that are down, in configured order.
pub fn pathway_priority(
    caches: &[CacheStatus],
    client: &ClientReport,
    policy: &Policy,
) -> Vec<String> {
    let mut up: Vec<&CacheStatus> = caches.iter().filter(|c| c.up).collect();
    let down = caches.iter().filter(|c| !c.up);
    // Stable sort: equal loads keep the configured order.
    up.sort_by(|a, b| a.load().total_cmp(&b.load()));

    let struggling = client
        .throughput_bps
        .is_some_and(|t| t < policy.poor_throughput_bps);
    if let Some(current) = client.pathway.as_deref()
        && let Some(pos) = up.iter().position(|c| c.id == current)
    {
        let cache = up.remove(pos);
        if struggling && !up.is_empty() {
            up.push(cache);
        } else {
            // The client's own connection counts in its cache's load; discount it.
            let own = (cache.load() - 1.0).max(0.0);
            let lightest = up.first().map_or(f64::INFINITY, |c| c.load());
            if own <= lightest + policy.stickiness {
                up.insert(0, cache);
            } else {
                let at = up.iter().position(|c| c.load() > own).unwrap_or(up.len());
                up.insert(at, cache);
            }
        }
    }
    up.into_iter().chain(down).map(|c| c.id.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(id: &str, up: bool, conns: u64) -> CacheStatus {
        CacheStatus {
            id: id.into(),
            up,
            active_connections: conns,
            bytes_per_second: 0.0,
        }
    }

    fn ids(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    #[test]
    fn client_reports_read_both_query_forms() {
        let q = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<std::collections::HashMap<_, _>>()
        };
        let hls = client_report(
            &q(&[("_HLS_pathway", "\"b\""), ("_HLS_throughput", "2500000")]),
            false,
        );
        assert_eq!(hls.pathway.as_deref(), Some("b"));
        assert_eq!(hls.throughput_bps, Some(2_500_000));
        let dash = client_report(
            &q(&[
                ("_DASH_pathway", "\"beta,alpha\""),
                ("_DASH_throughput", "15000,10000"),
            ]),
            true,
        );
        assert_eq!(dash.pathway.as_deref(), Some("beta"));
        assert_eq!(
            dash.throughput_bps,
            Some(15_000_000),
            "DASH-IF reports kbit/s"
        );
        let none = client_report(&q(&[("_HLS_throughput", "NaN")]), false);
        assert_eq!(none, ClientReport::default());
    }

    #[test]
    fn down_caches_go_last_and_ties_keep_configured_order() {
        let caches = [
            cache("a", false, 0),
            cache("b", true, 0),
            cache("c", true, 0),
        ];
        let p = pathway_priority(&caches, &ClientReport::default(), &Policy::default());
        assert_eq!(ids(&p), ["b", "c", "a"]);
    }

    #[test]
    fn lighter_caches_come_first() {
        let caches = [
            cache("a", true, 9),
            cache("b", true, 1),
            cache("c", true, 5),
        ];
        let p = pathway_priority(&caches, &ClientReport::default(), &Policy::default());
        assert_eq!(ids(&p), ["b", "c", "a"]);
    }

    #[test]
    fn a_client_sticks_to_its_pathway_under_small_load_differences() {
        let caches = [cache("a", true, 0), cache("b", true, 3)];
        let client = ClientReport {
            pathway: Some("b".into()),
            throughput_bps: Some(8_000_000),
        };
        let p = pathway_priority(&caches, &client, &Policy::default());
        assert_eq!(ids(&p), ["b", "a"]);
    }

    #[test]
    fn a_much_busier_pathway_loses_its_client() {
        let caches = [cache("a", true, 0), cache("b", true, 20)];
        let client = ClientReport {
            pathway: Some("b".into()),
            throughput_bps: None,
        };
        let p = pathway_priority(&caches, &client, &Policy::default());
        assert_eq!(ids(&p), ["a", "b"]);
    }

    #[test]
    fn poor_throughput_moves_the_client_elsewhere() {
        let caches = [
            cache("a", true, 0),
            cache("b", true, 0),
            cache("c", false, 0),
        ];
        let client = ClientReport {
            pathway: Some("a".into()),
            throughput_bps: Some(150_000),
        };
        let p = pathway_priority(&caches, &client, &Policy::default());
        assert_eq!(ids(&p), ["b", "a", "c"]);
    }

    #[test]
    fn a_dead_current_pathway_is_not_kept_first() {
        let caches = [cache("a", false, 0), cache("b", true, 2)];
        let client = ClientReport {
            pathway: Some("a".into()),
            throughput_bps: Some(8_000_000),
        };
        let p = pathway_priority(&caches, &client, &Policy::default());
        assert_eq!(ids(&p), ["b", "a"]);
    }
}
