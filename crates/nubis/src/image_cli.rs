//! `nubis image`: the data dir's image store from the command line (what
//! `ctr images` is to containerd): pull and push with progress bars,
//! list, inspect, remove, export to and import from archives, and prune.
//! It works on the store's files directly, beside a running `nubis up`
//! (the store locks its index).

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use image::archive;
use image::gc;
use image::pull::{Progress, Puller};
use image::push::Pusher;
use image::registries::Credentials;
use image::{ImageName, Registries, Store};
use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressStyle};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Args)]
pub struct ImageArgs {
    /// The data dir whose image store to use.
    #[arg(long, default_value = "nubis-data", global = true)]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub registries: RegistryFlags,
    #[command(subcommand)]
    pub command: ImageCommand,
}

/// How registries are reached; `nubis up` takes the same flags.
#[derive(Args, Clone, Default)]
pub struct RegistryFlags {
    /// A registry reached over plain HTTP (HOST:PORT); repeatable.
    #[arg(long = "insecure-registry", global = true)]
    pub insecure_registries: Vec<String>,
    /// A mirror of a registry, tried before it: REGISTRY=URL, e.g.
    /// docker.io=http://127.0.0.1:5000; repeatable.
    #[arg(long = "registry-mirror", global = true)]
    pub registry_mirrors: Vec<String>,
}

impl RegistryFlags {
    pub fn registries(&self) -> Result<Registries> {
        Ok(Registries::new(&self.insecure_registries, &self.registry_mirrors)?)
    }
}

#[derive(Subcommand)]
pub enum ImageCommand {
    /// Pull an image from its registry (or a mirror) into the store.
    Pull {
        /// The image, e.g. nginx, registry.local:5000/app:v1.
        name: String,
        /// A docker config file (as `docker login` writes) with credentials.
        #[arg(long)]
        docker_config: Option<PathBuf>,
    },
    /// List the images in the store.
    #[command(alias = "ls")]
    List,
    /// Print an image's manifest and config as JSON.
    Inspect { name: String },
    /// Remove images from the store (their blobs go at garbage collection).
    #[command(alias = "rm")]
    Remove {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Push an image from the store to a registry (not a mirror).
    Push {
        /// The image in the store.
        name: String,
        /// Where to push it (default: its own name), e.g.
        /// registry.local:5000/app:v2.
        target: Option<String>,
        /// A docker config file (as `docker login` writes) with credentials.
        #[arg(long)]
        docker_config: Option<PathBuf>,
    },
    /// Write images to a tar archive: an OCI image layout with a
    /// docker-save manifest.json, as containerd exports (skopeo reads it
    /// as oci-archive: and as docker-archive:); gzipped for .gz or .tgz.
    Export {
        /// The archive to write.
        #[arg(short, long)]
        output: PathBuf,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Read images from an OCI or docker-save archive (gzipped or not)
    /// into the store.
    Import {
        file: PathBuf,
        /// The name of an image the archive does not name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Delete blobs and unpacked layers that no image name reaches.
    Prune {
        /// Leave files younger than this (a pull or import may be
        /// landing them): 600, 600s, 10m, 1h.
        #[arg(long, default_value = "10m", value_parser = parse_duration)]
        grace_period: Duration,
    },
}

pub fn run(args: ImageArgs) -> Result<()> {
    let store_dir = args.data_dir.join("images");
    let store = Store::open(&store_dir).with_context(|| format!("opening the image store in {}", store_dir.display()))?;
    match args.command {
        ImageCommand::Pull { name, docker_config } => {
            let registries = args.registries.registries()?;
            let credentials = credentials(docker_config.as_deref())?;
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(pull(store, registries, &name, &credentials))
        }
        ImageCommand::Push { name, target, docker_config } => {
            let registries = args.registries.registries()?;
            let credentials = credentials(docker_config.as_deref())?;
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(push(store, &registries, &name, target.as_deref(), &credentials))
        }
        ImageCommand::Export { output, names } => export(&store, &output, &names),
        ImageCommand::Import { file, name } => import(&store, &file, name.as_deref()),
        ImageCommand::Prune { grace_period } => {
            let pruned = gc::prune(&store, grace_period)?;
            println!("pruned {} blobs and {} unpacked layers: freed {}", pruned.blobs, pruned.layers, HumanBytes(pruned.bytes));
            Ok(())
        }
        ImageCommand::List => list(&store),
        ImageCommand::Inspect { name } => inspect(&store, &name),
        ImageCommand::Remove { names } => {
            for name in names {
                let full = ImageName::parse(&name)?.to_string();
                store.remove(&full)?;
                println!("removed {full}");
            }
            Ok(())
        }
    }
}

fn credentials(docker_config: Option<&Path>) -> Result<Credentials> {
    let mut credentials = Credentials::default();
    if let Some(path) = docker_config {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        credentials.add_docker_config(&bytes).with_context(|| path.display().to_string())?;
    }
    Ok(credentials)
}

/// One progress bar per blob of a pull or push.
struct BlobBars {
    bars: MultiProgress,
    style: ProgressStyle,
    by_blob: Mutex<HashMap<String, ProgressBar>>,
    /// What a blob the destination already has is called.
    present: &'static str,
}

impl BlobBars {
    fn new(present: &'static str) -> BlobBars {
        let style = ProgressStyle::with_template("{prefix} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {msg}").unwrap_or_else(|_| ProgressStyle::default_bar());
        BlobBars { bars: MultiProgress::new(), style, by_blob: Mutex::new(HashMap::new()), present }
    }

    fn report(&self, what: &str, p: Progress) {
        let mut by_blob = self.by_blob.lock();
        match p {
            Progress::Resolved { manifest, blobs } => {
                let _ = self.bars.println(format!("{what}: resolved to {manifest}"));
                for (digest, size, present) in blobs {
                    let bar = self.bars.add(ProgressBar::new(size).with_style(self.style.clone()).with_prefix(short(digest.as_ref())));
                    if present {
                        bar.set_position(size);
                        bar.finish_with_message(self.present);
                    }
                    by_blob.insert(digest.to_string(), bar);
                }
            }
            Progress::Bytes { blob, done, .. } => {
                if let Some(bar) = by_blob.get(&blob.to_string()) {
                    bar.set_position(done);
                }
            }
            Progress::Done { blob } => {
                if let Some(bar) = by_blob.get(&blob.to_string()) {
                    bar.finish();
                }
            }
        }
    }
}

async fn pull(store: Store, registries: Registries, name: &str, credentials: &Credentials) -> Result<()> {
    let name = ImageName::parse(name)?;
    let started = Instant::now();
    let bars = BlobBars::new("present");
    let shown = name.to_string();
    let pulled = Puller::new(store.clone(), registries).pull(&name, credentials, &|p| bars.report(&shown, p)).await?;
    let used = vec![pulled.image.name.clone()];
    tokio::task::spawn_blocking(move || gc::record_use(&store, &used, jiff::Timestamp::now())).await??;
    println!(
        "pulled {} ({}) from {}: {} image, {} fetched in {:.1?}",
        pulled.image.name,
        pulled.image.repo_digest,
        pulled.from,
        HumanBytes(pulled.size),
        HumanBytes(pulled.fetched),
        started.elapsed()
    );
    Ok(())
}

async fn push(store: Store, registries: &Registries, name: &str, target: Option<&str>, credentials: &Credentials) -> Result<()> {
    let name = ImageName::parse(name)?;
    let target = match target {
        Some(t) => ImageName::parse(t)?,
        None => name.clone(),
    };
    let started = Instant::now();
    let bars = BlobBars::new("already there");
    let shown = target.to_string();
    let pushed = Pusher::new(store, registries).push(&name, &target, credentials, &|p| bars.report(&shown, p)).await?;
    println!("pushed {name} to {} ({}): {} image, {} sent in {:.1?}", pushed.target, pushed.digest, HumanBytes(pushed.size), HumanBytes(pushed.sent), started.elapsed());
    Ok(())
}

/// One bar over an archive's bytes, its prefix the phase.
fn archive_bar() -> (ProgressBar, impl Fn(archive::Progress)) {
    let style = ProgressStyle::with_template("{prefix:9} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}").unwrap_or_else(|_| ProgressStyle::default_bar());
    let bar = ProgressBar::new(0).with_style(style);
    let shown = bar.clone();
    let report = move |p: archive::Progress| {
        let (phase, done, total) = match p {
            archive::Progress::Scanning { done, total } => ("reading", done, total),
            archive::Progress::Importing { done, total } => ("importing", done, total),
            archive::Progress::Exporting { done, total } => ("exporting", done, total),
        };
        if shown.prefix() != phase {
            shown.set_prefix(phase);
            shown.reset();
        }
        shown.set_length(total);
        shown.set_position(done);
    };
    (bar, report)
}

fn export(store: &Store, output: &Path, names: &[String]) -> Result<()> {
    let names = names.iter().map(|n| ImageName::parse(n)).collect::<Result<Vec<_>, _>>()?;
    let (bar, report) = archive_bar();
    let exported = archive::export_file(store, &names, output, &report)?;
    bar.finish_and_clear();
    println!("exported {} images ({}) to {}", exported.images, HumanBytes(exported.bytes), output.display());
    Ok(())
}

fn import(store: &Store, file: &Path, name: Option<&str>) -> Result<()> {
    let name = name.map(ImageName::parse).transpose()?;
    let (bar, report) = archive_bar();
    let imported = archive::import(store, file, name.as_ref(), &report)?;
    bar.finish_and_clear();
    for i in imported {
        println!("imported {} ({})", i.image.name, i.image.repo_digest);
    }
    Ok(())
}

/// `600`, `600s`, `10m`, `1h`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = s.find(|c: char| !c.is_ascii_digit()).map_or((s, ""), |at| s.split_at(at));
    let n: u64 = number.parse().map_err(|_| format!("expected a duration such as 600s, 10m or 1h, got {s:?}"))?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("expected a duration such as 600s, 10m or 1h, got {s:?}")),
    };
    Ok(Duration::from_secs(seconds))
}

/// `sha256:0123456789ab`, as `crictl images` shortens digests.
fn short(digest: &str) -> String {
    digest.chars().take("sha256:".len() + 12).collect()
}

fn list(store: &Store) -> Result<()> {
    let images = store.images()?;
    let rows: Vec<[String; 3]> = images
        .iter()
        .map(|image| {
            let size = store.manifest(image).map(|m| m.config().size() + m.layers().iter().map(|l| l.size()).sum::<u64>()).map(|s| HumanBytes(s).to_string()).unwrap_or_else(|e| format!("({e})"));
            [image.name.clone(), short(image.repo_digest.as_ref()), size]
        })
        .collect();
    let width = |i: usize, head: &str| rows.iter().map(|r| r[i].len()).chain([head.len()]).max().unwrap_or(0);
    let (w0, w1) = (width(0, "IMAGE"), width(1, "DIGEST"));
    println!("{:w0$}   {:w1$}   SIZE", "IMAGE", "DIGEST");
    for [name, digest, size] in rows {
        println!("{name:w0$}   {digest:w1$}   {size}");
    }
    Ok(())
}

fn inspect(store: &Store, name: &str) -> Result<()> {
    let full = ImageName::parse(name)?.to_string();
    let Some(image) = store.get(&full)? else { bail!("image {full:?} not found") };
    let manifest = store.manifest(&image)?;
    let config: serde_json::Value = store.read_json(manifest.config().digest())?;
    let out = serde_json::json!({
        "name": image.name,
        "repoDigest": image.repo_digest.to_string(),
        "manifestDigest": image.manifest.digest().to_string(),
        "manifest": manifest,
        "config": config,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
