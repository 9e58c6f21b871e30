//! CMCD (CTA-5004) data carried by requests, as headers (`CMCD-Object`, `CMCD-Request`,
//! `CMCD-Session`, `CMCD-Status`) or as the `CMCD` query parameter; parsed for the log and kept for
//! the admin endpoint so tests can read back what a player sent.

use std::collections::{BTreeMap, VecDeque};

use axum::http::{HeaderMap, Uri};
use serde::{Deserialize, Serialize};

const KEEP: usize = 512;
const HEADERS: [&str; 4] = ["cmcd-object", "cmcd-request", "cmcd-session", "cmcd-status"];

/// The CMCD keys of one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CmcdRecord {
    /// Request path.
    pub path: String,
    /// `"header"` or `"query"`.
    pub mode: String,
    /// Key → value as sent (strings keep their quotes off; boolean keys without value are `true`).
    pub keys: BTreeMap<String, String>,
}

impl CmcdRecord {
    /// The CMCD data of a request, if it carries any.
    pub fn from_request(uri: &Uri, headers: &HeaderMap) -> Option<CmcdRecord> {
        let mut keys = BTreeMap::new();
        let mut mode = None;
        for name in HEADERS {
            if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
                parse_into(v, &mut keys);
                mode = Some("header");
            }
        }
        if let Some(query) = uri.query() {
            for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
                if k == "CMCD" {
                    parse_into(&v, &mut keys);
                    mode = Some("query");
                }
            }
        }
        mode.map(|mode| CmcdRecord {
            path: uri.path().to_string(),
            mode: mode.into(),
            keys,
        })
    }

    /// `key=value,…` for the log line, control characters escaped: a client's `%0A` must not
    /// start a forged log line (found by fuzzing, kept in `tests/fuzz-inputs/cmcd/`).
    pub fn summary(&self) -> String {
        self.keys
            .iter()
            .map(|(k, v)| format!("{}={}", k.escape_debug(), v.escape_debug()))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Splits `k=v,k2="a,b",flag` on commas outside quotes.
fn parse_into(data: &str, keys: &mut BTreeMap<String, String>) {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in data.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => items.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    items.push(current);
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        match item.split_once('=') {
            Some((k, v)) => keys.insert(k.trim().into(), v.trim().trim_matches('"').into()),
            None => keys.insert(item.into(), "true".into()),
        };
    }
}

/// The most recent records.
#[derive(Debug, Default)]
pub struct CmcdLog {
    records: VecDeque<CmcdRecord>,
}

impl CmcdLog {
    /// Keeps a record, forgetting the oldest past the limit.
    pub fn push(&mut self, r: CmcdRecord) {
        if self.records.len() == KEEP {
            self.records.pop_front();
        }
        self.records.push_back(r);
    }

    /// All kept records, oldest first.
    pub fn records(&self) -> Vec<CmcdRecord> {
        self.records.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_query_are_parsed() {
        let mut h = HeaderMap::new();
        h.insert("cmcd-object", "br=3200,d=4004,ot=v".parse().unwrap());
        h.insert(
            "cmcd-session",
            "cid=\"demo,1\",sid=\"6e2f\",sf=h".parse().unwrap(),
        );
        h.insert("cmcd-status", "bs".parse().unwrap());
        let uri: Uri = "/demo/video_720p.mp4".parse().unwrap();
        let r = CmcdRecord::from_request(&uri, &h).unwrap();
        assert_eq!(r.mode, "header");
        assert_eq!(r.keys["br"], "3200");
        assert_eq!(r.keys["cid"], "demo,1");
        assert_eq!(r.keys["bs"], "true");

        let uri: Uri = "/demo/a.mp4?CMCD=bl%3D21300%2Cbr%3D3200%2Cot%3Dv"
            .parse()
            .unwrap();
        let r = CmcdRecord::from_request(&uri, &HeaderMap::new()).unwrap();
        assert_eq!(r.mode, "query");
        assert_eq!(r.keys["bl"], "21300");
        assert!(CmcdRecord::from_request(&"/a".parse().unwrap(), &HeaderMap::new()).is_none());
    }
}
