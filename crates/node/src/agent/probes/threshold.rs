//! When a probe's result counts: after `successThreshold` successes or
//! `failureThreshold` failures in a row (the kubelet's `resultRun`).

/// The run of equal results so far.
#[derive(Debug, Clone)]
pub struct Threshold {
    success: u32,
    failure: u32,
    last: Option<bool>,
    run: u32,
}

impl Threshold {
    pub fn new(success: u32, failure: u32) -> Threshold {
        Threshold { success: success.max(1), failure: failure.max(1), last: None, run: 0 }
    }

    /// Takes one probe's result; answers the result to publish once its
    /// run is long enough (and on every later equal one, as the kubelet
    /// sets it again).
    pub fn observe(&mut self, ok: bool) -> Option<bool> {
        if self.last == Some(ok) {
            self.run = self.run.saturating_add(1);
        } else {
            self.last = Some(ok);
            self.run = 1;
        }
        let needed = if ok { self.success } else { self.failure };
        (self.run >= needed).then_some(ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_count_results_in_a_row() {
        let mut t = Threshold::new(2, 3);
        let seen: Vec<Option<bool>> = [false, false, true, false, false, false, false, true, true, true].into_iter().map(|ok| t.observe(ok)).collect();
        assert_eq!(seen, [None, None, None, None, None, Some(false), Some(false), None, Some(true), Some(true)]);
        let mut once = Threshold::new(0, 0);
        assert_eq!((once.observe(false), once.observe(true)), (Some(false), Some(true)), "thresholds are at least 1");
    }
}
