//! The process allocator: jemalloc, tuned for a long-running server that
//! holds a large, slowly changing heap (caches of every object) while it
//! allocates and frees many short-lived buffers.
//!
//! At 10,000 pods, glibc's malloc took ~40% of the CPU and kept the RSS at
//! ~470 MB; mimalloc cut the CPU but kept ~350 MB resident for ~245 MB of
//! live heap. jemalloc with one arena (its thread caches carry the
//! concurrency), a background thread that returns dirty pages after a
//! second, and no lazily-freed ("muzzy") stage keeps ~300 MB. Every option
//! can still be overridden at run time with `_RJEM_MALLOC_CONF`.

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's compiled-in options, read from this symbol before `main`.
const OPTIONS: &[u8] = b"background_thread:true,narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

// SAFETY: jemalloc declares `const char *malloc_conf` (prefixed
// `_rjem_malloc_conf`) as a weak symbol the program may define; `&u8` has
// the layout of a non-null `const char *`, and it points at the first byte
// of a NUL-terminated string that lives for the whole process.
#[allow(unsafe_code)]
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &u8 = &OPTIONS[0];
