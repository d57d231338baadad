//! The cluster's certificates: a CA made on first start, a serving
//! certificate whose names cover the listen address, localhost and the
//! hostname, and client certificates (CN = user, O = groups) signed by the CA.
//! Everything is kept in the data dir and reused on later starts.

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::data_dir::write_private;

/// PEM files of one certificate and its key.
#[derive(Debug, Clone)]
pub struct CertPair {
    pub cert_pem: String,
    pub key_pem: String,
}

pub struct Pki {
    dir: PathBuf,
    pub ca: CertPair,
}

fn validity(params: &mut CertificateParams, years: i32) {
    let today = jiff::Zoned::now().date();
    let start = today.yesterday().unwrap_or(today);
    params.not_before = rcgen::date_time_ymd(i32::from(start.year()), start.month() as u8, start.day() as u8);
    params.not_after = rcgen::date_time_ymd(
        i32::from(start.year()) + years,
        start.month() as u8,
        start.day().min(28) as u8,
    );
}

fn read_pair(dir: &Path, name: &str) -> Option<CertPair> {
    let cert_pem = std::fs::read_to_string(dir.join(format!("{name}.crt"))).ok()?;
    let key_pem = std::fs::read_to_string(dir.join(format!("{name}.key"))).ok()?;
    Some(CertPair { cert_pem, key_pem })
}

fn write_pair(dir: &Path, name: &str, pair: &CertPair) -> Result<()> {
    write_private(&dir.join(format!("{name}.key")), pair.key_pem.as_bytes())?;
    write_private(&dir.join(format!("{name}.crt")), pair.cert_pem.as_bytes())?;
    Ok(())
}

impl Pki {
    /// Loads the CA from `dir`, or makes one on first start.
    pub fn load_or_create(dir: &Path) -> Result<Pki> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let ca = match read_pair(dir, "ca") {
            Some(p) => p,
            None => {
                let key = KeyPair::generate().context("generating the CA key")?;
                let mut params = CertificateParams::default();
                let mut dn = DistinguishedName::new();
                dn.push(DnType::CommonName, "nubis-ca");
                params.distinguished_name = dn;
                params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                params.key_usages =
                    vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
                validity(&mut params, 10);
                let cert = params.self_signed(&key).context("signing the CA certificate")?;
                let pair = CertPair { cert_pem: cert.pem(), key_pem: key.serialize_pem() };
                write_pair(dir, "ca", &pair)?;
                pair
            }
        };
        Ok(Pki { dir: dir.to_path_buf(), ca })
    }

    fn sign(&self, params: &CertificateParams) -> Result<CertPair> {
        let ca_key = KeyPair::from_pem(&self.ca.key_pem).context("reading the CA key")?;
        let issuer = Issuer::from_ca_cert_pem(&self.ca.cert_pem, ca_key).context("reading the CA certificate")?;
        let key = KeyPair::generate().context("generating a key")?;
        let cert = params.signed_by(&key, &issuer).context("signing a certificate")?;
        Ok(CertPair { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
    }

    /// The serving certificate for `names` (DNS names and IP addresses),
    /// reused while it covers them, made anew when a name is missing.
    pub fn serving(&self, names: &[String]) -> Result<CertPair> {
        let sans_file = self.dir.join("server.sans");
        let wanted = names.join("\n");
        if let (Some(pair), Ok(recorded)) = (read_pair(&self.dir, "server"), std::fs::read_to_string(&sans_file))
            && recorded == wanted {
                return Ok(pair);
            }
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "nubis-apiserver");
        params.distinguished_name = dn;
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.parse::<IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => n.clone().try_into().map(SanType::DnsName).context("a DNS name for the certificate"),
            })
            .collect::<Result<_>>()?;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        validity(&mut params, 1);
        let pair = self.sign(&params)?;
        write_pair(&self.dir, "server", &pair)?;
        write_private(&sans_file, wanted.as_bytes())?;
        Ok(pair)
    }

    /// A client certificate for `user` in `groups`.
    pub fn client(&self, user: &str, groups: &[String]) -> Result<CertPair> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, user);
        for g in groups {
            dn.push(DnType::OrganizationName, g.as_str());
        }
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        validity(&mut params, 1);
        self.sign(&params)
    }

    /// The admin's client certificate, made once and kept.
    pub fn admin(&self) -> Result<CertPair> {
        if let Some(p) = read_pair(&self.dir, "admin") {
            return Ok(p);
        }
        let pair = self.client("nubis-admin", &["system:masters".to_string()])?;
        write_pair(&self.dir, "admin", &pair)?;
        Ok(pair)
    }
}
