//! Packing a directory into a one-layer image in the store: the start of
//! `build`, and how tests and offline machines make images without a
//! registry (a rootfs with a static busybox is an image).

use crate::digest::HashingWriter;
use crate::name::ImageName;
use crate::platform::Platform;
use crate::store::{self, Image, Store};
use oci_spec::image::{ConfigBuilder, Descriptor, ImageConfigurationBuilder, ImageManifestBuilder, MediaType, RootFsBuilder};
use std::io::Write;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("packing {dir}: {source}")]
    Io { dir: String, source: std::io::Error },
    #[error(transparent)]
    Spec(#[from] oci_spec::OciSpecError),
    #[error("encoding: {0}")]
    Json(#[from] serde_json::Error),
}

/// How the image runs.
#[derive(Debug, Clone, Default)]
pub struct RunConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
}

/// Packs `dir` as the one layer of an image for `platform` named `name`.
/// Entries are written in name order with their owners and modes, and a
/// fixed time, so the same directory gives the same layer.
pub fn pack_dir(store: &Store, name: &ImageName, dir: &Path, run: &RunConfig, platform: &Platform) -> Result<Image, Error> {
    let io = |source| Error::Io { dir: dir.display().to_string(), source };
    pack_layer(store, name, run, platform, &|tar| {
        let mut tar = tar::Builder::new(tar);
        tar.mode(tar::HeaderMode::Deterministic);
        tar.follow_symlinks(false);
        tar.append_dir_all(".", dir).map_err(io)?;
        tar.finish().map_err(io)
    })
}

/// Packs the tar stream `tar` as it is (whatever its entries say) as the
/// one layer of an image: for images made elsewhere, and for tests of
/// what a node does with hostile layers.
pub fn pack_tar(store: &Store, name: &ImageName, tar: &[u8], run: &RunConfig, platform: &Platform) -> Result<Image, Error> {
    let io = |source| Error::Io { dir: "(tar stream)".to_string(), source };
    pack_layer(store, name, run, platform, &|out| out.write_all(tar).map_err(io))
}

/// Packs the tar that `write_tar` writes as a gzip layer with its config
/// and manifest, and names the image.
fn pack_layer(store: &Store, name: &ImageName, run: &RunConfig, platform: &Platform, write_tar: &dyn Fn(&mut dyn Write) -> Result<(), Error>) -> Result<Image, Error> {
    let io = |source| Error::Io { dir: name.to_string(), source };
    // The layer: a gzip of the tar; the diff id hashes the tar inside.
    let mut ingest = store.ingest()?;
    let diff_id = {
        let gz = flate2::write::GzEncoder::new(&mut ingest, flate2::Compression::default());
        let mut tar_hash = HashingWriter::new(gz);
        write_tar(&mut tar_hash)?;
        let HashingWriter { inner: gz, hasher } = tar_hash;
        gz.finish().map_err(io)?.flush().map_err(io)?;
        hasher.finish()
    };
    let layer_digest = ingest.commit(None, None)?;
    let layer_size = std::fs::metadata(store.blob_path(&layer_digest)).map_err(io)?.len();
    let layer = Descriptor::new(MediaType::ImageLayerGzip, layer_size, layer_digest);

    let mut config = ConfigBuilder::default().env(if run.env.is_empty() { vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string()] } else { run.env.clone() });
    if !run.entrypoint.is_empty() {
        config = config.entrypoint(run.entrypoint.clone());
    }
    if !run.cmd.is_empty() {
        config = config.cmd(run.cmd.clone());
    }
    if let Some(w) = &run.working_dir {
        config = config.working_dir(w.clone());
    }
    if let Some(u) = &run.user {
        config = config.user(u.clone());
    }
    let image_config = ImageConfigurationBuilder::default()
        .architecture(platform.architecture.as_str())
        .os(platform.os.as_str())
        .config(config.build()?)
        .rootfs(RootFsBuilder::default().typ("layers").diff_ids(vec![diff_id.to_string()]).build()?)
        .build()?;
    let config_bytes = serde_json::to_vec(&image_config)?;
    let config_digest = store.put_bytes(&config_bytes, None)?;
    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(Descriptor::new(MediaType::ImageConfig, config_bytes.len() as u64, config_digest))
        .layers(vec![layer])
        .build()?;
    let manifest_bytes = serde_json::to_vec(&manifest)?;
    let manifest_digest = store.put_bytes(&manifest_bytes, None)?;
    let descriptor = Descriptor::new(MediaType::ImageManifest, manifest_bytes.len() as u64, manifest_digest.clone());
    store.set(name, &descriptor, &manifest_digest)?;
    Ok(Image { name: name.to_string(), manifest: descriptor, repo_digest: manifest_digest })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_makes_a_layer_that_unpacks_to_the_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rootfs = dir.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("bin")).expect("mkdir");
        std::fs::write(rootfs.join("bin/hello"), "#!/bin/sh\necho hello\n").expect("writes");
        std::os::unix::fs::symlink("hello", rootfs.join("bin/hi")).expect("symlink");
        let store = Store::open(dir.path().join("images")).expect("opens");
        let name = ImageName::parse("local/hello:v1").expect("a name");
        let run = RunConfig { cmd: vec!["/bin/hello".into()], ..RunConfig::default() };
        let image = pack_dir(&store, &name, &rootfs, &run, &Platform::host()).expect("packs");
        assert_eq!(store.get("docker.io/local/hello:v1").expect("reads"), Some(image.clone()));
        let again = pack_dir(&store, &name, &rootfs, &run, &Platform::host()).expect("packs");
        assert_eq!(again.manifest.digest(), image.manifest.digest(), "packing is reproducible");

        let layers = crate::layers::Layers::new(&store).for_image(&image).expect("unpacks");
        assert_eq!(layers.len(), 1);
        assert_eq!(std::fs::read_to_string(layers[0].join("bin/hello")).expect("reads"), "#!/bin/sh\necho hello\n");
        assert_eq!(std::fs::read_link(layers[0].join("bin/hi")).expect("a symlink"), Path::new("hello"));
        let config: serde_json::Value = store.read_json(store.manifest(&image).expect("manifest").config().digest()).expect("config");
        assert_eq!(config["config"]["Cmd"], serde_json::json!(["/bin/hello"]));
    }
}
