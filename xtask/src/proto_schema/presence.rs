//! Reads `xtask/data/proto-presence.txt` (written by `proto-presence`).

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, bail};

/// What the Go type of one field says beyond the proto.
#[derive(Debug, Default, Clone)]
pub struct Presence {
    /// The JSON name in the Go struct tag; empty for inline fields.
    pub json: String,
    pub pointer: bool,
    pub required: bool,
    pub inline: bool,
}

/// Facts by (fully-qualified message, tag).
pub fn read(path: &Path) -> anyhow::Result<HashMap<(String, u32), Presence>> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split(' ').collect();
        let [message, tag, json, flags] = parts[..] else {
            bail!(
                "{}:{}: expected `<message> <tag> <json> <flags>`, got {line:?}",
                path.display(),
                n + 1
            );
        };
        let tag: u32 = tag
            .parse()
            .with_context(|| format!("{}:{}: tag", path.display(), n + 1))?;
        let mut p = Presence {
            json: if json == "-" {
                String::new()
            } else {
                json.to_string()
            },
            ..Presence::default()
        };
        for flag in flags.split(',') {
            match flag {
                "pointer" => p.pointer = true,
                "required" => p.required = true,
                "inline" => p.inline = true,
                "name" => {}
                other => bail!("{}:{}: unknown flag {other:?}", path.display(), n + 1),
            }
        }
        out.insert((message.to_string(), tag), p);
    }
    Ok(out)
}
