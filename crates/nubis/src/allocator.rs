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

/// How often an idle runtime thread gives its cache back, at most.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

thread_local! {
    static LAST_FLUSH: std::cell::Cell<Option<tokio::time::Instant>> = const { std::cell::Cell::new(None) };
}

/// Called as a Tokio worker thread goes idle: gives the blocks its
/// thread cache holds back to the arena (at most once a second), so
/// their pages can be returned. jemalloc collects a thread's cache only
/// as that thread allocates, so a worker that went idle after a burst
/// (200 pods started) kept its freed blocks, and the slabs they sit in,
/// for good: half the `nubis up` RSS of 200 idle pods.
pub fn give_back_thread_cache() {
    let now = tokio::time::Instant::now();
    let due = LAST_FLUSH.with(|last| {
        let due = last.get().is_none_or(|at| now.duration_since(at) >= FLUSH_EVERY);
        if due {
            last.set(Some(now));
        }
        due
    });
    if due {
        flush_thread_cache();
    }
}

#[allow(unsafe_code)]
fn flush_thread_cache() {
    // SAFETY: `thread.tcache.flush` reads and writes nothing (all four
    // pointers null, length 0), and the name is NUL-terminated.
    let _ = unsafe { tikv_jemalloc_sys::mallctl(c"thread.tcache.flush".as_ptr(), std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut(), 0) };
}
