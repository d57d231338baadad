//! Completion indexes of Indexed Jobs as `status.completedIndexes` writes
//! them: sorted, disjoint intervals printed as `0-2,4,6-7`.

use std::fmt;

/// Sorted, disjoint, non-adjacent closed intervals of indexes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Intervals(Vec<(i32, i32)>);

impl Intervals {
    /// Parses `completedIndexes`, keeping indexes below `completions`;
    /// malformed parts are skipped (Kubernetes logs and skips them too).
    pub fn parse(text: &str, completions: i32) -> Intervals {
        let mut all = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (first, last) = match part.split_once('-') {
                Some((a, b)) => (a.parse::<i32>(), b.parse::<i32>()),
                None => (part.parse::<i32>(), part.parse::<i32>()),
            };
            let (Ok(first), Ok(last)) = (first, last) else {
                continue;
            };
            if first < 0 || last < first || first >= completions {
                continue;
            }
            all.extend(first..=last.min(completions - 1));
        }
        Intervals::default().with(all)
    }

    /// These intervals plus `indexes`.
    pub fn with(&self, indexes: impl IntoIterator<Item = i32>) -> Intervals {
        let mut all: Vec<i32> = self
            .0
            .iter()
            .flat_map(|&(a, b)| a..=b)
            .chain(indexes)
            .collect();
        all.sort_unstable();
        all.dedup();
        let mut out: Vec<(i32, i32)> = Vec::new();
        for i in all {
            match out.last_mut() {
                Some(last) if last.1 + 1 == i => last.1 = i,
                _ => out.push((i, i)),
            }
        }
        Intervals(out)
    }

    pub fn has(&self, index: i32) -> bool {
        self.0.iter().any(|&(a, b)| a <= index && index <= b)
    }

    pub fn total(&self) -> i32 {
        self.0.iter().map(|&(a, b)| b - a + 1).sum()
    }
}

impl fmt::Display for Intervals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, &(a, b)) in self.0.iter().enumerate() {
            if n > 0 {
                f.write_str(",")?;
            }
            if a == b {
                write!(f, "{a}")?;
            } else {
                write!(f, "{a}-{b}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_indexes_parse_merge_and_print() {
        let i = Intervals::parse("0-2,4,6-7", 10);
        assert_eq!(i.total(), 6);
        assert!(i.has(1) && i.has(4) && !i.has(5));
        assert_eq!(i.with([3, 5]).to_string(), "0-7");
        assert_eq!(Intervals::parse("1,x,3-2,8-12", 10).to_string(), "1,8-9");
        assert_eq!(Intervals::default().with([4, 2, 3, 0]).to_string(), "0,2-4");
        assert_eq!(Intervals::parse("", 3).to_string(), "");
    }
}
