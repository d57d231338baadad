//! The ServiceAccount signing key on disk: a P-256 private key as a PKCS#8
//! PEM file, created on first use. It is written mode 0600 to a temporary
//! file, fsynced, then linked into place (a rename that cannot clobber, so
//! two servers starting at once agree on one key) and the directory
//! fsynced, so a key that signed tokens survives a crash.

use super::KeyFileError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

const PEM_LABEL: &str = "PRIVATE KEY";

/// The PKCS#8 DER of the key at `path`, created there if there is none.
pub fn load_or_create(path: &Path) -> Result<Vec<u8>, KeyFileError> {
    if let Some(der) = load(path)? {
        return Ok(der);
    }
    let der = generate()?;
    let write_err = |source| KeyFileError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(write_err)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4()));
    let written = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(to_pem(&der).as_bytes())?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_err(e));
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return load(path)?.ok_or_else(|| KeyFileError::Read {
                path: path.to_path_buf(),
                source: e,
            });
        }
        Err(e) => return Err(write_err(e)),
    }
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(write_err)?;
    Ok(der)
}

fn load(path: &Path) -> Result<Option<Vec<u8>>, KeyFileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(KeyFileError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        let mode = format!("{:o}", meta.permissions().mode() & 0o777);
        tracing::warn!(path = %path.display(), mode, "service account key is readable by others; it should be 0600");
    }
    from_pem(&text)
        .map(Some)
        .map_err(|found| KeyFileError::NotPem {
            path: path.to_path_buf(),
            found,
        })
}

/// A fresh P-256 key as PKCS#8 DER.
pub fn generate() -> Result<Vec<u8>, KeyFileError> {
    let rng = SystemRandom::new();
    EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map(|doc| doc.as_ref().to_vec())
        .map_err(|_| KeyFileError::Generate)
}

fn to_pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {PEM_LABEL}-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {PEM_LABEL}-----\n"));
    pem
}

/// The DER of the first `PRIVATE KEY` block, or what was found instead.
fn from_pem(text: &str) -> Result<Vec<u8>, String> {
    let begin = format!("-----BEGIN {PEM_LABEL}-----");
    let end = format!("-----END {PEM_LABEL}-----");
    let Some(start) = text.find(&begin) else {
        let other = text.lines().find_map(|l| {
            l.trim()
                .strip_prefix("-----BEGIN ")
                .and_then(|l| l.strip_suffix("-----"))
        });
        return Err(match other {
            Some(label) => format!("a {label:?} block"),
            None => "no PEM block".to_string(),
        });
    };
    let body = &text[start + begin.len()..];
    let Some(stop) = body.find(&end) else {
        return Err("an unterminated PEM block".to_string());
    };
    let b64: String = body[..stop]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD
        .decode(b64)
        .map_err(|e| format!("invalid base64 in the PEM block ({e})"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    #[test]
    fn authn_key_pem_round_trip() {
        let der = generate().unwrap();
        assert_eq!(from_pem(&to_pem(&der)).unwrap(), der);
        assert!(
            to_pem(&der)
                .lines()
                .all(|l| l.len() <= 64 || l.starts_with("-----"))
        );
        assert_eq!(
            from_pem("-----BEGIN EC PRIVATE KEY-----\nAA==\n-----END EC PRIVATE KEY-----\n")
                .unwrap_err(),
            "a \"EC PRIVATE KEY\" block"
        );
        assert_eq!(from_pem("garbage").unwrap_err(), "no PEM block");
    }

    #[test]
    fn authn_key_created_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/sa.key");
        let first = load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let second = load_or_create(&path).unwrap();
        assert_eq!(first, second);
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("sa.key")]);
    }

    #[test]
    fn authn_key_bad_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sa.key");
        std::fs::write(&path, "not a key").unwrap();
        let e = load_or_create(&path).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "service account key {}: expected a PEM \"PRIVATE KEY\" (PKCS#8) block, found no PEM block",
                path.display()
            )
        );
        // The bad file is not replaced by a fresh key.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a key");
    }
}
