//! The static token file (kube-apiserver's `--token-auth-file`):
//! `token,user,uid[,"group1,group2"]` per line, reloaded when it changes.
//!
//! Unlike kube-apiserver, which reads the file once, Nubis re-reads it when
//! its size, mtime, ctime or inode changed, checked at most once per
//! interval on lookup so the request path costs one atomic load. A file
//! that no longer parses keeps the last good tokens (and is logged once);
//! a file that is gone means no tokens.

use super::{AUTHENTICATED_GROUP, TokenFileError, csv};
use crate::auth::User;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

const CHECK_INTERVAL: Duration = Duration::from_secs(1);

type Digest = [u8; 32];

/// The users of a static token file, looked up by token.
pub struct TokenFile {
    path: PathBuf,
    check_every_ms: u64,
    epoch: Instant,
    /// Milliseconds since `epoch` before which the file is not looked at.
    next_check_ms: AtomicU64,
    loaded: RwLock<Loaded>,
}

#[derive(Default)]
struct Loaded {
    /// The file as last looked at, good or bad, so a bad file is parsed
    /// and reported once rather than every interval.
    seen: Option<Stamp>,
    /// Tokens by their SHA-256: a map probe then compares digests, not
    /// secrets, so its timing tells nothing about a valid token.
    users: HashMap<Digest, User>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    inode: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl TokenFile {
    /// Reads the token file at `path`; a missing file means no tokens, and
    /// a bad one is logged and means no tokens until it is fixed.
    pub fn open(path: &Path) -> TokenFile {
        TokenFile::with_check_interval(path, CHECK_INTERVAL)
    }

    /// As [`TokenFile::open`], looking for changes at most every `interval`.
    pub fn with_check_interval(path: &Path, interval: Duration) -> TokenFile {
        let file = TokenFile {
            path: path.to_path_buf(),
            check_every_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            epoch: Instant::now(),
            next_check_ms: AtomicU64::new(0),
            loaded: RwLock::new(Loaded::default()),
        };
        file.reload();
        file.next_check_ms
            .store(file.check_every_ms, Ordering::Relaxed);
        file
    }

    /// The user whose token this is, with `system:authenticated` added.
    pub fn authenticate(&self, token: &str) -> Option<User> {
        if token.is_empty() {
            return None;
        }
        self.reload_if_due();
        let digest = digest(token);
        self.loaded.read().users.get(&digest).cloned()
    }

    fn reload_if_due(&self) {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        let due = self.next_check_ms.load(Ordering::Relaxed);
        if now < due {
            return;
        }
        // One caller wins the check; the others go on with what is loaded.
        if self
            .next_check_ms
            .compare_exchange(
                due,
                now.saturating_add(self.check_every_ms),
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
        {
            self.reload();
        }
    }

    fn reload(&self) {
        let stamp = match std::fs::metadata(&self.path) {
            Ok(m) => Some(Stamp {
                len: m.len(),
                inode: m.ino(),
                mtime: (m.mtime(), m.mtime_nsec()),
                ctime: (m.ctime(), m.ctime_nsec()),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => {
                tracing::warn!(path = %self.path.display(), %error, "cannot stat token file; keeping its last content");
                return;
            }
        };
        if self.loaded.read().seen == stamp && stamp.is_some() {
            return;
        }
        let Some(stamp) = stamp else {
            let mut loaded = self.loaded.write();
            if loaded.seen.is_some() {
                tracing::warn!(path = %self.path.display(), "token file removed; no static tokens are valid now");
            }
            *loaded = Loaded::default();
            return;
        };
        let parsed = std::fs::read(&self.path)
            .map_err(|source| TokenFileError::Read {
                path: self.path.clone(),
                source,
            })
            .and_then(|bytes| parse(&self.path, &String::from_utf8_lossy(&bytes)));
        let mut loaded = self.loaded.write();
        loaded.seen = Some(stamp);
        match parsed {
            Ok(users) => {
                tracing::info!(path = %self.path.display(), tokens = users.len(), "loaded token file");
                loaded.users = users;
            }
            Err(error) => {
                tracing::warn!(%error, "token file not loaded; keeping its last good content");
            }
        }
    }
}

fn digest(token: &str) -> Digest {
    let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The users of a token file's text, by token digest, as kube-apiserver
/// reads them: fewer than 3 columns fails the whole file, an empty token
/// skips its record, a later duplicate wins; the fourth column is a
/// comma-separated list of groups.
fn parse(path: &Path, text: &str) -> Result<HashMap<Digest, User>, TokenFileError> {
    let records = csv::parse(text).map_err(|source| TokenFileError::Csv {
        path: path.to_path_buf(),
        source,
    })?;
    let mut users = HashMap::with_capacity(records.len());
    for record in records {
        let f = &record.fields;
        if f.len() < 3 {
            return Err(TokenFileError::TooFewColumns {
                path: path.to_path_buf(),
                line: record.line,
                found: f.len(),
            });
        }
        if f[0].is_empty() {
            tracing::warn!(path = %path.display(), line = record.line, "empty token in token file; record skipped");
            continue;
        }
        // Kubernetes keeps the empty names a blank or trailing comma makes;
        // they can name no RBAC subject, so they are dropped here.
        let mut groups: Vec<String> = f
            .get(3)
            .map(|g| {
                g.split(',')
                    .filter(|g| !g.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if !groups.iter().any(|g| g == AUTHENTICATED_GROUP) {
            groups.push(AUTHENTICATED_GROUP.to_string());
        }
        let user = User {
            name: f[1].clone(),
            uid: f[2].clone(),
            groups,
            extra: Default::default(),
        };
        if users.insert(digest(&f[0]), user).is_some() {
            tracing::warn!(path = %path.display(), line = record.line, "duplicate token in token file; the later record wins");
        }
    }
    Ok(users)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    fn user(name: &str, uid: &str, groups: &[&str]) -> User {
        User {
            name: name.into(),
            uid: uid.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            extra: Default::default(),
        }
    }

    fn write(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn authn_token_file_parse_groups_quoting_and_missing_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.csv");
        write(
            &path,
            "t-alice,alice,1001,\"devs,ops\"\r\n\nt-bob,bob,1002\n\"t,quoted\",\"carol, c\",1003,system:authenticated\n,nobody,0\nt-dan,dan,1004,\"\"\n",
        );
        let f = TokenFile::with_check_interval(&path, Duration::ZERO);
        assert_eq!(
            f.authenticate("t-alice"),
            Some(user(
                "alice",
                "1001",
                &["devs", "ops", "system:authenticated"]
            ))
        );
        assert_eq!(
            f.authenticate("t-bob"),
            Some(user("bob", "1002", &["system:authenticated"]))
        );
        assert_eq!(
            f.authenticate("t,quoted"),
            Some(user("carol, c", "1003", &["system:authenticated"]))
        );
        assert_eq!(
            f.authenticate("t-dan"),
            Some(user("dan", "1004", &["system:authenticated"]))
        );
        assert_eq!(f.authenticate(""), None);
        assert_eq!(f.authenticate("t-alic"), None);
        assert_eq!(f.authenticate("t-alice "), None);
        assert_eq!(f.loaded.read().users.len(), 4);
    }

    #[test]
    fn authn_token_file_bad_lines_fail_the_file() {
        let p = Path::new("tokens.csv");
        let e = parse(p, "good,alice,1\nonly,two\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "token file tokens.csv must have at least 3 columns (token, user name, user uid) on line 2, found 2"
        );
        let e = parse(p, "good,alice,1\nbad\"quote,bob,2\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "token file tokens.csv: line 2: bare \" in non-quoted field"
        );
        // Comments are not a thing in this format: a `#` line is a record.
        let users = parse(p, "# token,user,uid\n").unwrap();
        assert_eq!(
            users.get(&digest("# token")).map(|u| u.name.as_str()),
            Some("user")
        );
    }

    #[test]
    fn authn_token_file_duplicate_token_later_wins() {
        let users = parse(Path::new("t"), "same,first,1\nsame,second,2\n").unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users.get(&digest("same")).unwrap().name, "second");
    }

    #[test]
    fn authn_token_file_missing_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let f = TokenFile::open(&dir.path().join("absent.csv"));
        assert_eq!(f.authenticate("anything"), None);
    }

    #[test]
    fn authn_token_file_reloads_on_change_and_keeps_last_good() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.csv");
        write(&path, "one,alice,1\n");
        let f = TokenFile::with_check_interval(&path, Duration::ZERO);
        assert_eq!(
            f.authenticate("one").map(|u| u.name),
            Some("alice".to_string())
        );

        write(&path, "two,bob,2,admins\n");
        assert_eq!(f.authenticate("one"), None);
        assert_eq!(
            f.authenticate("two"),
            Some(user("bob", "2", &["admins", "system:authenticated"]))
        );

        // A broken file keeps the last good tokens.
        write(&path, "three,carol\n");
        assert_eq!(
            f.authenticate("two").map(|u| u.name),
            Some("bob".to_string())
        );
        assert_eq!(f.authenticate("three"), None);

        // Replaced by rename, as editors and config management do.
        let tmp = dir.path().join("tokens.csv.tmp");
        write(&tmp, "four,dan,4\n");
        std::fs::rename(&tmp, &path).unwrap();
        assert_eq!(
            f.authenticate("four").map(|u| u.name),
            Some("dan".to_string())
        );
        assert_eq!(f.authenticate("two"), None);

        std::fs::remove_file(&path).unwrap();
        assert_eq!(f.authenticate("four"), None);
    }

    #[test]
    fn authn_token_file_checks_at_most_once_per_interval() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.csv");
        write(&path, "one,alice,1\n");
        let f = TokenFile::with_check_interval(&path, Duration::from_secs(3600));
        write(&path, "two,bob,2\n");
        // Within the interval the old content is still served.
        assert!(f.authenticate("one").is_some());
        assert_eq!(f.authenticate("two"), None);
    }
}
