//! The order of merged lists: patch items in the patch's order (or
//! `$setElementOrder`'s), items only the server had in their old order, the
//! two interleaved by the server's order, as Kubernetes'
//! `normalizeElementOrder` does.
//!
//! Kubernetes sorts with Go's `sort.SliceStable` and a comparison that is
//! not a strict order when an item is missing from the reference list; the
//! result then depends on the algorithm, so [`go_stable_sort`] is Go's
//! insertion-sort-and-symmerge algorithm, step for step.

use serde_json::Value;

use super::{MergeError, directive_of, json_text};

/// How items of a list are compared: by merge key for maps, whole for the rest.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum ItemKind {
    Map,
    Scalar,
}

/// The value an item is identified by; a map without the key reads as
/// `null`, as Go's map lookup gives `nil`.
fn identity<'a>(item: &'a Value, merge_key: &str, kind: ItemKind) -> Option<&'a Value> {
    match kind {
        ItemKind::Map => item.as_object().and_then(|m| m.get(merge_key)),
        ItemKind::Scalar => Some(item),
    }
}

/// Position of the first item of `list` identified like `item`.
pub(super) fn index(
    list: &[Value],
    item: &Value,
    merge_key: &str,
    kind: ItemKind,
) -> Option<usize> {
    let want = identity(item, merge_key, kind);
    list.iter()
        .position(|v| identity(v, merge_key, kind) == want)
}

/// Sorts the patch's items by `patch_order` and the server's by
/// `server_order`, then interleaves them.
pub(super) fn normalize_element_order(
    patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    kind: ItemKind,
) -> Result<Vec<Value>, MergeError> {
    let patch = normalize_slice_order(patch, patch_order, merge_key, kind)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key, kind)?;
    Ok(merge_sorted(
        server_only,
        patch,
        server_order,
        merge_key,
        kind,
    ))
}

fn normalize_slice_order(
    mut to_sort: Vec<Value>,
    order: &[Value],
    merge_key: &str,
    kind: ItemKind,
) -> Result<Vec<Value>, MergeError> {
    let mut to_delete = Vec::new();
    if kind == ItemKind::Map {
        for item in to_sort.iter().chain(order) {
            let Some(map) = item.as_object() else {
                return Err(MergeError::Invalid(format!(
                    "expected a map, got {}",
                    json_text(item)
                )));
            };
            if !map.contains_key(merge_key) {
                return Err(MergeError::Invalid(no_merge_key(item, merge_key)));
            }
        }
        let (keep, delete): (Vec<Value>, Vec<Value>) = to_sort
            .into_iter()
            .partition(|v| directive_of(v) != Some(&Value::from("delete")));
        to_sort = keep;
        to_delete = delete;
    }
    go_stable_sort(&mut to_sort, |a, b| {
        match (
            index(order, a, merge_key, kind),
            index(order, b, merge_key, kind),
        ) {
            (Some(i), Some(j)) => i < j,
            _ => true,
        }
    });
    to_sort.extend(to_delete);
    Ok(to_sort)
}

/// Inserts each of `left` (server-only items) into `right` (patch items)
/// before the first right item the server had after it.
fn merge_sorted(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    merge_key: &str,
    kind: ItemKind,
) -> Vec<Value> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => {
                match (
                    index(server_order, l, merge_key, kind),
                    index(server_order, r, merge_key, kind),
                ) {
                    (Some(i), Some(j)) => i < j,
                    _ => false,
                }
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

pub(super) fn no_merge_key(item: &Value, merge_key: &str) -> String {
    format!(
        "map: {} does not contain declared merge key: {merge_key}",
        json_text(item)
    )
}

/// Go's `sort.Stable` on `v` with `less` (insertion sort of blocks of 20,
/// then in-place symmetric merges).
pub(super) fn go_stable_sort<T>(v: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let n = v.len();
    let less = |v: &[T], i: usize, j: usize| less(&v[i], &v[j]);
    let mut block = 20;
    let (mut a, mut b) = (0, block);
    while b <= n {
        insertion_sort(v, a, b, &less);
        a = b;
        b += block;
    }
    insertion_sort(v, a, n, &less);
    while block < n {
        a = 0;
        b = 2 * block;
        while b <= n {
            sym_merge(v, a, a + block, b, &less);
            a = b;
            b += 2 * block;
        }
        let m = a + block;
        if m < n {
            sym_merge(v, a, m, n, &less);
        }
        block *= 2;
    }
}

fn insertion_sort<T>(v: &mut [T], a: usize, b: usize, less: &impl Fn(&[T], usize, usize) -> bool) {
    for i in a + 1..b {
        let mut j = i;
        while j > a && less(v, j, j - 1) {
            v.swap(j, j - 1);
            j -= 1;
        }
    }
}

fn sym_merge<T>(
    v: &mut [T],
    a: usize,
    m: usize,
    b: usize,
    less: &impl Fn(&[T], usize, usize) -> bool,
) {
    if m - a == 1 {
        let (mut i, mut j) = (m, b);
        while i < j {
            let h = (i + j) / 2;
            if less(v, h, a) {
                i = h + 1;
            } else {
                j = h;
            }
        }
        for k in a..i.saturating_sub(1) {
            v.swap(k, k + 1);
        }
        return;
    }
    if b - m == 1 {
        let (mut i, mut j) = (a, m);
        while i < j {
            let h = (i + j) / 2;
            if !less(v, m, h) {
                i = h + 1;
            } else {
                j = h;
            }
        }
        let mut k = m;
        while k > i {
            v.swap(k, k - 1);
            k -= 1;
        }
        return;
    }
    let mid = (a + b) / 2;
    let n = mid + m;
    let (mut start, mut r) = if m > mid { (n - b, mid) } else { (a, m) };
    let p = n - 1;
    while start < r {
        let c = (start + r) / 2;
        if !less(v, p - c, c) {
            start = c + 1;
        } else {
            r = c;
        }
    }
    let end = n - start;
    if start < m && m < end {
        rotate(v, start, m, end);
    }
    if a < start && start < mid {
        sym_merge(v, a, start, mid, less);
    }
    if mid < end && end < b {
        sym_merge(v, mid, end, b, less);
    }
}

fn rotate<T>(v: &mut [T], a: usize, m: usize, b: usize) {
    let mut i = m - a;
    let mut j = b - m;
    while i != j {
        if i > j {
            swap_range(v, m - i, m, j);
            i -= j;
        } else {
            swap_range(v, m - i, m + j - i, i);
            j -= i;
        }
    }
    swap_range(v, m - i, m, i);
}

fn swap_range<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failure
mod tests {
    use super::*;

    #[test]
    fn patch_go_stable_sort_is_stable_and_sorts() {
        // Large enough to go through the merge phase, with many equal keys.
        let mut v: Vec<(u32, usize)> = (0..157).map(|i| ((i * 7919 % 13) as u32, i)).collect();
        let mut want = v.clone();
        want.sort_by_key(|p| p.0);
        go_stable_sort(&mut v, |a, b| a.0 < b.0);
        assert_eq!(v, want);
    }

    #[test]
    fn patch_go_stable_sort_always_less_reverses_small_lists() {
        // Kubernetes' comparison answers "less" for items it cannot place;
        // Go's insertion sort then reverses them. Reproduced on purpose.
        let mut v = vec![1, 2, 3, 4];
        go_stable_sort(&mut v, |_, _| true);
        assert_eq!(v, [4, 3, 2, 1]);
    }
}
