//! The service account tokens of pods' projected volumes, kept while they
//! are fresh, as the kubelet's token manager keeps them: a token is asked
//! for again once 80% of its life has passed or it is a day old. Without
//! this, every volume refresh (every pod, every 30 s) made a TokenRequest
//! and a new volume version.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// The oldest a token is used, whatever its expiry.
const MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// What a token was asked for with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub pod_uid: String,
    pub service_account: String,
    pub audience: Option<String>,
    pub seconds: i64,
}

#[derive(Debug)]
struct Cached {
    token: String,
    refresh_at: Instant,
}

#[derive(Debug, Default)]
pub struct Tokens {
    cache: Mutex<HashMap<Key, Cached>>,
}

impl Tokens {
    /// The token for `key`, while it is fresh.
    pub fn get(&self, key: &Key, now: Instant) -> Option<String> {
        self.cache.lock().get(key).filter(|c| now < c.refresh_at).map(|c| c.token.clone())
    }

    /// Keeps `token`, valid for `valid_for` from `now`.
    pub fn put(&self, key: Key, token: String, valid_for: Duration, now: Instant) {
        let refresh_at = now + (valid_for.mul_f64(0.8)).min(MAX_AGE);
        self.cache.lock().insert(key, Cached { token, refresh_at });
    }

    /// Forgets the tokens of a pod that went.
    pub fn forget_pod(&self, pod_uid: &str) {
        self.cache.lock().retain(|k, _| k.pod_uid != pod_uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(uid: &str) -> Key {
        Key { pod_uid: uid.into(), service_account: "default".into(), audience: None, seconds: 3607 }
    }

    #[test]
    fn tokens_are_asked_again_after_80_percent_of_their_life() {
        let tokens = Tokens::default();
        let t0 = Instant::now();
        assert_eq!(tokens.get(&key("a"), t0), None);
        tokens.put(key("a"), "one".into(), Duration::from_secs(1000), t0);
        assert_eq!(tokens.get(&key("a"), t0 + Duration::from_secs(799)).as_deref(), Some("one"));
        assert_eq!(tokens.get(&key("a"), t0 + Duration::from_secs(800)), None);
        assert_eq!(tokens.get(&Key { audience: Some("x".into()), ..key("a") }, t0), None, "another audience is another token");

        tokens.put(key("b"), "long".into(), Duration::from_secs(10 * 24 * 3600), t0);
        assert!(tokens.get(&key("b"), t0 + MAX_AGE - Duration::from_secs(1)).is_some());
        assert_eq!(tokens.get(&key("b"), t0 + MAX_AGE), None, "a day at most");

        tokens.forget_pod("a");
        assert_eq!(tokens.get(&key("a"), t0), None);
        assert!(tokens.get(&key("b"), t0).is_some());
    }
}
