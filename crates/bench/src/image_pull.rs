//! Pulling a large image from a registry on loopback into a fresh store
//! and unpacking it, against the common tools: `nubis image pull` (which
//! fetches and verifies the blobs; layers are unpacked when a container
//! first needs them) followed by the image crate's unpacking, the node
//! agent's own call, versus `skopeo copy` into an OCI layout followed by
//! `tar -x` of every layer into a directory of its own. The layers hold
//! random bytes, so compression does not shrink them and the bytes moved
//! are the size asked for.

use crate::node_host::{Namespace, REGISTRY, Registry, checked};
use crate::stats::{ms, summarize};
use anyhow::{Context, Result, ensure};
use image::layers::Layers;
use image::oci_spec::image::{ConfigBuilder, Descriptor, ImageConfiguration, ImageConfigurationBuilder, ImageManifest, ImageManifestBuilder, MediaType, RootFsBuilder};
use image::pack::{RunConfig, pack_dir};
use image::platform::Platform;
use image::{ImageName, Store};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tokio::time::Instant;

const MIB: usize = 1 << 20;

/// Bytes that do not compress, from xorshift64*: fast, and the same on
/// every run.
struct Noise(u64);

impl Noise {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let v = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// An image of `layers` layers of `mb_per_layer` MiB each (files of 1
/// MiB of random bytes), packed layer by layer with the image crate and
/// put together in `store` under the tag `big`.
fn make_image(dir: &Path, store: &Store, layers: usize, mb_per_layer: usize) -> Result<()> {
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let mut buf = vec![0u8; MIB];
    let platform = Platform::host();
    let (mut descriptors, mut diff_ids) = (Vec::new(), Vec::new());
    for l in 0..layers {
        let root = dir.join(format!("layer-{l}"));
        let data = root.join(format!("data/{l}"));
        std::fs::create_dir_all(&data)?;
        for f in 0..mb_per_layer {
            noise.fill(&mut buf);
            std::fs::File::create(data.join(format!("{f}.bin")))?.write_all(&buf)?;
        }
        let name = ImageName::parse(&format!("local/big-layer:l{l}"))?;
        let one = pack_dir(store, &name, &root, &RunConfig::default(), &platform)?;
        let manifest = store.manifest(&one)?;
        let config: ImageConfiguration = store.read_json(manifest.config().digest())?;
        descriptors.extend(manifest.layers().iter().cloned());
        diff_ids.extend(config.rootfs().diff_ids().iter().cloned());
        std::fs::remove_dir_all(&root)?;
    }
    let config = ImageConfigurationBuilder::default()
        .architecture(platform.architecture.as_str())
        .os(platform.os.as_str())
        .config(ConfigBuilder::default().env(vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string()]).build()?)
        .rootfs(RootFsBuilder::default().typ("layers").diff_ids(diff_ids).build()?)
        .build()?;
    let config_bytes = serde_json::to_vec(&config)?;
    let config_digest = store.put_bytes(&config_bytes, None)?;
    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(Descriptor::new(MediaType::ImageConfig, config_bytes.len() as u64, config_digest))
        .layers(descriptors)
        .build()?;
    let manifest_bytes = serde_json::to_vec(&manifest)?;
    let manifest_digest = store.put_bytes(&manifest_bytes, None)?;
    let descriptor = Descriptor::new(MediaType::ImageManifest, manifest_bytes.len() as u64, manifest_digest.clone());
    store.set(&ImageName::parse("local/big:big")?, &descriptor, &manifest_digest)?;
    Ok(())
}

/// One run's two phases.
#[derive(Debug, Clone, Copy)]
struct Run {
    fetch: Duration,
    unpack: Duration,
}

impl Run {
    fn total(&self) -> Duration {
        self.fetch + self.unpack
    }
}

/// `nubis image pull` into a fresh data dir, then every layer unpacked
/// as the node agent unpacks them.
fn nubis_run(nubis: &Path, ns: &Namespace, target: &str, dir: &Path) -> Result<Run> {
    let t0 = Instant::now();
    checked(ns.command(nubis).args(["image", "pull", "--insecure-registry", REGISTRY, "--data-dir"]).arg(dir).arg(target))?;
    let fetch = t0.elapsed();
    let store = Store::open(dir.join("images"))?;
    let image = store.get(&ImageName::parse(target)?.to_string())?.context("the pulled image in the store")?;
    let t1 = Instant::now();
    let unpacked = Layers::new(&store).for_image(&image)?;
    let unpack = t1.elapsed();
    ensure!(!unpacked.is_empty(), "the image unpacked to no layer");
    Ok(Run { fetch, unpack })
}

/// `skopeo copy` into an OCI layout, then `tar -x` of every layer into a
/// directory of its own, one after the other.
fn skopeo_run(ns: &Namespace, target: &str, dir: &Path) -> Result<Run> {
    let layout = dir.join("layout");
    // skopeo makes the layout's directory but not its parent.
    std::fs::create_dir_all(dir)?;
    let t0 = Instant::now();
    checked(ns.command("skopeo").args(["copy", "--quiet", "--src-tls-verify=false"]).arg(format!("docker://{target}")).arg(format!("oci:{}:v1", layout.display())))?;
    let fetch = t0.elapsed();
    let t1 = Instant::now();
    let blob = |digest: &str| -> Result<PathBuf> {
        let hex = digest.strip_prefix("sha256:").with_context(|| format!("a sha256 digest, not {digest:?}"))?;
        Ok(layout.join("blobs/sha256").join(hex))
    };
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.join("index.json"))?)?;
    let manifest_digest = index["manifests"][0]["digest"].as_str().context("a manifest in skopeo's index.json")?;
    let manifest: ImageManifest = serde_json::from_slice(&std::fs::read(blob(manifest_digest)?)?)?;
    for (i, layer) in manifest.layers().iter().enumerate() {
        let into = dir.join(format!("rootfs-{i}"));
        std::fs::create_dir_all(&into)?;
        let gzip = matches!(layer.media_type(), MediaType::ImageLayerGzip) || layer.media_type().to_string().ends_with("gzip");
        checked(Command::new("tar").arg(if gzip { "-xzf" } else { "-xf" }).arg(blob(layer.digest().as_ref())?).arg("-C").arg(&into))?;
    }
    Ok(Run { fetch, unpack: t1.elapsed() })
}

fn line(what: &str, runs: &[Run]) -> (Duration, String) {
    let total = summarize(runs.iter().map(Run::total).collect()).p50;
    let fetch = summarize(runs.iter().map(|r| r.fetch).collect()).p50;
    let unpack = summarize(runs.iter().map(|r| r.unpack).collect()).p50;
    let each: Vec<String> = runs.iter().map(|r| ms(r.total())).collect();
    (total, format!("{what}: median {} (fetch {}, unpack {}); runs {}", ms(total), ms(fetch), ms(unpack), each.join(", ")))
}

pub async fn image_pull(nubis: &Path, ns: Namespace, size_mb: usize, layers: usize, runs: usize) -> Result<()> {
    ensure!(layers > 0 && size_mb >= layers && runs > 0, "--size-mb must be at least --layers, both and --runs at least 1");
    let registry = Registry::start(&ns).await?;
    let nubis = nubis.to_path_buf();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let target = format!("{REGISTRY}/bench/big:v1");
        let mb_per_layer = size_mb / layers;
        let source = Store::open(ns.dir.join("big-image"))?;
        make_image(&ns.dir, &source, layers, mb_per_layer)?;
        registry.push(&ns, &source, "big", &target)?;
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for run in 0..runs {
            // Fresh stores each time; the registry's files stay in the
            // page cache for both.
            let dir = ns.dir.join(format!("nubis-{run}"));
            ours.push(nubis_run(&nubis, &ns, &target, &dir)?);
            std::fs::remove_dir_all(&dir)?;
            let dir = ns.dir.join(format!("skopeo-{run}"));
            theirs.push(skopeo_run(&ns, &target, &dir)?);
            std::fs::remove_dir_all(&dir)?;
        }
        let (a, ours) = line("nubis image pull + unpack (image crate)", &ours);
        let (b, theirs) = line("skopeo copy + tar -x per layer", &theirs);
        println!("image-pull: {} MiB in {layers} layers of random bytes (gzip), registry on loopback, {runs} runs each, fresh store every run", mb_per_layer * layers);
        println!("  {ours}");
        println!("  {theirs}");
        println!("  ratio nubis / skopeo+tar: {:.2}x", a.as_secs_f64() / b.as_secs_f64().max(1e-9));
        drop(registry);
        Ok(())
    })
    .await?
}
