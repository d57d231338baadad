//! `nubis image`: the data dir's image store from the command line (what
//! `ctr images` is to containerd): pull with progress bars, list, inspect
//! and remove. It works on the store's files directly, beside a running
//! `nubis up` (the store locks its index).

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use image::pull::{Progress, Puller};
use image::registries::Credentials;
use image::{ImageName, Registries, Store};
use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::path::PathBuf;
use parking_lot::Mutex;
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
}

pub fn run(args: ImageArgs) -> Result<()> {
    let store_dir = args.data_dir.join("images");
    let store = Store::open(&store_dir).with_context(|| format!("opening the image store in {}", store_dir.display()))?;
    match args.command {
        ImageCommand::Pull { name, docker_config } => {
            let registries = args.registries.registries()?;
            let mut credentials = Credentials::default();
            if let Some(path) = docker_config {
                let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                credentials.add_docker_config(&bytes).with_context(|| path.display().to_string())?;
            }
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(pull(store, registries, &name, &credentials))
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

async fn pull(store: Store, registries: Registries, name: &str, credentials: &Credentials) -> Result<()> {
    let name = ImageName::parse(name)?;
    let started = Instant::now();
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template("{prefix} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}").unwrap_or_else(|_| ProgressStyle::default_bar());
    let by_blob: Mutex<HashMap<String, ProgressBar>> = Mutex::new(HashMap::new());
    let report = |p: Progress| {
        let mut by_blob = by_blob.lock();
        match p {
            Progress::Resolved { manifest, blobs } => {
                let _ = bars.println(format!("{name}: resolved to {manifest}"));
                for (digest, size, present) in blobs {
                    let bar = bars.add(ProgressBar::new(size).with_style(style.clone()).with_prefix(short(digest.as_ref())));
                    if present {
                        bar.finish_with_message("present");
                        bar.set_position(size);
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
    };
    let pulled = Puller::new(store, registries).pull(&name, credentials, &report).await?;
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
