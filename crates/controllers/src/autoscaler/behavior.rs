//! From the metrics' proposal to the replica count the autoscaler sets:
//! stabilization over the recent recommendations, the scaling policies'
//! rate limits and minReplicas/maxReplicas, with the conditions that say
//! which of them decided (Kubernetes' `normalizeDesiredReplicas` for HPAs
//! without `behavior`, `normalizeDesiredReplicasWithBehaviors` for those
//! with it). The recommendations and scale events live in the controller's
//! memory only: after a restart the windows start empty, as in Kubernetes.

use super::conditions::{Condition, set};
use k8s_openapi::api::autoscaling::v2::{HPAScalingPolicy, HPAScalingRules, HorizontalPodAutoscalerBehavior};
use std::time::Duration;
use tokio::time::Instant;

/// Without `behavior`, a step up is at most to max(2 × current, 4).
const SCALE_UP_LIMIT_FACTOR: f64 = 2.0;
const SCALE_UP_LIMIT_MINIMUM: f64 = 4.0;

#[derive(Debug, Clone, Copy)]
struct Recommendation {
    replicas: i32,
    at: Instant,
}

#[derive(Debug, Clone, Copy)]
struct ScaleEvent {
    change: i32,
    at: Instant,
    outdated: bool,
}

/// One HPA's recent recommendations and scale events.
#[derive(Debug, Clone, Default)]
pub struct History {
    recommendations: Vec<Recommendation>,
    scale_up: Vec<ScaleEvent>,
    scale_down: Vec<ScaleEvent>,
    /// When this HPA was last synced, so histories of deleted HPAs can go.
    pub last_sync: Option<Instant>,
}

/// The metrics' proposal for one sync and what bounds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub current: i32,
    pub proposed: i32,
    pub min: i32,
    pub max: i32,
}

/// Whether `at` is inside the `window` that ends `now` (Go's
/// `at.After(now - window)`).
fn within(at: Instant, now: Instant, window: Duration) -> bool {
    now.saturating_duration_since(at) < window
}

/// Whether `at` is older than the window (`at.Before(now - window)`).
fn before(at: Instant, now: Instant, window: Duration) -> bool {
    now.saturating_duration_since(at) > window
}

fn seconds(s: i32) -> Duration {
    Duration::from_secs(u64::try_from(s).unwrap_or(0))
}

/// The defaults the API server fills into a given `behavior`
/// (`GenerateHPAScaleUpRules`/`GenerateHPAScaleDownRules`), with the
/// controller's downscale window where scaleDown names none.
fn complete(rules: Option<&HPAScalingRules>, up: bool, downscale_window: Duration) -> (Duration, String, Vec<HPAScalingPolicy>) {
    let policy = |type_: &str, value| HPAScalingPolicy { type_: type_.into(), value, period_seconds: 15 };
    let (window, policies) = if up {
        (Duration::ZERO, vec![policy("Pods", 4), policy("Percent", 100)])
    } else {
        (downscale_window, vec![policy("Percent", 100)])
    };
    let window = rules.and_then(|r| r.stabilization_window_seconds).map(seconds).unwrap_or(window);
    let select = rules.and_then(|r| r.select_policy.clone()).unwrap_or_else(|| "Max".into());
    let policies = rules.and_then(|r| r.policies.clone()).unwrap_or(policies);
    (window, select, policies)
}

impl History {
    /// The scale at first sight counts as a recommendation, so a new
    /// controller does not scale down at once.
    pub fn record_initial(&mut self, current: i32, now: Instant) {
        if self.recommendations.is_empty() {
            self.recommendations.push(Recommendation { replicas: current, at: now });
        }
    }

    /// Keeps `replicas` as the newest recommendation, in the place of one
    /// older than every window (`old`) if there is one.
    fn remember(&mut self, replicas: i32, old: Option<usize>, now: Instant) {
        let rec = Recommendation { replicas, at: now };
        match old.and_then(|i| self.recommendations.get_mut(i)) {
            Some(slot) => *slot = rec,
            None => self.recommendations.push(rec),
        }
    }

    /// Without `behavior`: the highest recommendation of the downscale
    /// window, then at most max(2 × current, 4) and within min/max.
    pub fn normalize(&mut self, step: Step, downscale_window: Duration, now: Instant, out: &mut Vec<Condition>) -> i32 {
        let Step { current, proposed, min, max } = step;
        let mut stabilized = proposed;
        let mut old = None;
        for (i, rec) in self.recommendations.iter().enumerate() {
            if before(rec.at, now, downscale_window) {
                old = Some(i);
            } else if rec.replicas > stabilized {
                stabilized = rec.replicas;
            }
        }
        self.remember(proposed, old, now);
        if stabilized != proposed {
            set(out, "AbleToScale", "True", "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation");
        } else {
            set(out, "AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size");
        }
        let up_limit = (SCALE_UP_LIMIT_FACTOR * f64::from(current)).max(SCALE_UP_LIMIT_MINIMUM) as i32;
        let (upper, reason, message) = if max > up_limit {
            (up_limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
        } else {
            (max, "TooManyReplicas", "the desired replica count is more than the maximum replica count")
        };
        let (desired, reason, message) = if stabilized < min {
            (min, "TooFewReplicas", "the desired replica count is less than the minimum replica count")
        } else if stabilized > upper {
            (upper, reason, message)
        } else {
            (stabilized, "DesiredWithinRange", "the desired count is within the acceptable range")
        };
        set(out, "ScalingLimited", if desired == stabilized { "False" } else { "True" }, reason, message);
        desired
    }

    /// With `behavior`: the stabilization windows of both directions, then
    /// the rate of the scaling policies over the recorded scale events,
    /// then min/max.
    pub fn normalize_with_behavior(&mut self, behavior: &HorizontalPodAutoscalerBehavior, step: Step, downscale_window: Duration, now: Instant, out: &mut Vec<Condition>) -> i32 {
        let Step { current, proposed, min, max } = step;
        let (up_window, up_select, up_policies) = complete(behavior.scale_up.as_ref(), true, downscale_window);
        let (down_window, down_select, down_policies) = complete(behavior.scale_down.as_ref(), false, downscale_window);

        let (mut up_bound, mut down_bound, mut old) = (proposed, proposed, None);
        for (i, rec) in self.recommendations.iter().enumerate() {
            if within(rec.at, now, up_window) {
                up_bound = up_bound.min(rec.replicas);
            }
            if within(rec.at, now, down_window) {
                down_bound = down_bound.max(rec.replicas);
            }
            if before(rec.at, now, up_window) && before(rec.at, now, down_window) {
                old = Some(i);
            }
        }
        let stabilized = current.max(up_bound).min(down_bound);
        self.remember(proposed, old, now);
        if stabilized != proposed {
            if proposed >= current {
                set(out, "AbleToScale", "True", "ScaleUpStabilized", "recent recommendations were lower than current one, applying the lowest recent recommendation");
            } else {
                set(out, "AbleToScale", "True", "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation");
            }
        } else {
            set(out, "AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size");
        }

        let (mut desired, mut reason, mut message) = (stabilized, "DesiredWithinRange", "the desired count is within the acceptable range");
        if stabilized > current {
            let limit = self.scale_up_limit(current, &up_select, &up_policies, now).max(current);
            let (upper, r, m) = if max > limit {
                (limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
            } else {
                (max, "TooManyReplicas", "the desired replica count is more than the maximum replica count")
            };
            if stabilized > upper {
                (desired, reason, message) = (upper, r, m);
            }
        } else if stabilized < current {
            let limit = self.scale_down_limit(current, &down_select, &down_policies, now).min(current);
            let (lower, r, m) = if min < limit {
                (limit, "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate")
            } else {
                (min, "TooFewReplicas", "the desired replica count is less than the minimum replica count")
            };
            if stabilized < lower {
                (desired, reason, message) = (lower, r, m);
            }
        }
        set(out, "ScalingLimited", if desired == stabilized { "False" } else { "True" }, reason, message);
        desired
    }

    /// Replicas at the start of a policy's period: the changes within it
    /// undone.
    fn period_start(&self, current: i32, period: i32, now: Instant) -> i32 {
        let changed = |events: &[ScaleEvent]| -> i32 {
            events.iter().filter(|e| within(e.at, now, seconds(period))).map(|e| e.change).sum()
        };
        current - changed(&self.scale_up) + changed(&self.scale_down)
    }

    fn scale_up_limit(&self, current: i32, select: &str, policies: &[HPAScalingPolicy], now: Instant) -> i32 {
        let proposals = policies.iter().map(|p| {
            let start = self.period_start(current, p.period_seconds, now);
            match p.type_.as_str() {
                "Pods" => start.saturating_add(p.value),
                // Rounded up, or a small percentage of few pods never adds one.
                _ => (f64::from(start) * (1.0 + f64::from(p.value) / 100.0)).ceil() as i32,
            }
        });
        match select {
            "Disabled" => current,
            "Min" => proposals.fold(i32::MAX, i32::min),
            _ => proposals.fold(i32::MIN, i32::max),
        }
    }

    fn scale_down_limit(&self, current: i32, select: &str, policies: &[HPAScalingPolicy], now: Instant) -> i32 {
        let proposals = policies.iter().map(|p| {
            let start = self.period_start(current, p.period_seconds, now);
            match p.type_.as_str() {
                "Pods" => start.saturating_sub(p.value),
                _ => (f64::from(start) * (1.0 - f64::from(p.value) / 100.0)) as i32,
            }
        });
        match select {
            "Disabled" => current,
            "Min" => proposals.fold(i32::MIN, i32::max),
            _ => proposals.fold(i32::MAX, i32::min),
        }
    }

    /// Records a rescale for the policies' periods, reusing a slot whose
    /// event is older than the longest period. Without `behavior` nothing
    /// reads them, so nothing is kept.
    pub fn record_scale(&mut self, behavior: Option<&HorizontalPodAutoscalerBehavior>, from: i32, to: i32, now: Instant) {
        let Some(behavior) = behavior else { return };
        let up = to > from;
        let rules = if up { behavior.scale_up.as_ref() } else { behavior.scale_down.as_ref() };
        let (_, _, policies) = complete(rules, up, Duration::ZERO);
        let longest = policies.iter().map(|p| p.period_seconds).max().unwrap_or(0);
        let events = if up { &mut self.scale_up } else { &mut self.scale_down };
        let mut slot = None;
        for (i, e) in events.iter_mut().enumerate() {
            if before(e.at, now, seconds(longest)) {
                e.outdated = true;
            }
            if e.outdated {
                slot = Some(i);
            }
        }
        let event = ScaleEvent { change: (to - from).abs(), at: now, outdated: false };
        match slot.and_then(|i| events.get_mut(i)) {
            Some(e) => *e = event,
            None => events.push(event),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIVE_MINUTES: Duration = Duration::from_secs(300);

    fn behavior(v: serde_json::Value) -> HorizontalPodAutoscalerBehavior {
        serde_json::from_value(v).expect("a behavior")
    }

    fn step(current: i32, proposed: i32, min: i32, max: i32) -> Step {
        Step { current, proposed, min, max }
    }

    fn reasons(out: &[Condition]) -> Vec<(&str, &str, &str)> {
        out.iter().map(|c| (c.type_, c.status, c.reason)).collect()
    }

    #[test]
    fn hpa_behavior_absent_limits_a_step_to_double_or_four() {
        let t0 = Instant::now();
        let mut h = History::default();
        h.record_initial(1, t0);
        let mut out = Vec::new();
        assert_eq!(h.normalize(step(1, 20, 1, 10), FIVE_MINUTES, t0, &mut out), 4);
        assert_eq!(reasons(&out), [("AbleToScale", "True", "ReadyForNewScale"), ("ScalingLimited", "True", "ScaleUpLimit")]);
        let mut out = Vec::new();
        assert_eq!(h.normalize(step(4, 20, 1, 5), FIVE_MINUTES, t0, &mut out), 5);
        assert_eq!(out[1].reason, "TooManyReplicas");
    }

    #[test]
    fn hpa_behavior_absent_stabilizes_scale_down_for_five_minutes() {
        let t0 = Instant::now();
        let mut h = History::default();
        h.record_initial(5, t0);
        let mut out = Vec::new();
        assert_eq!(h.normalize(step(5, 2, 1, 10), FIVE_MINUTES, t0 + Duration::from_secs(60), &mut out), 5);
        assert_eq!(reasons(&out)[0], ("AbleToScale", "True", "ScaleDownStabilized"));
        assert_eq!(out[1].reason, "DesiredWithinRange");
        // Once the 5 recommendation is older than the window, 2 holds.
        let mut out = Vec::new();
        assert_eq!(h.normalize(step(5, 2, 1, 10), FIVE_MINUTES, t0 + Duration::from_secs(301), &mut out), 2);
        assert_eq!(out[0].reason, "ReadyForNewScale");
        let mut out = Vec::new();
        assert_eq!(h.normalize(step(2, 0, 1, 10), FIVE_MINUTES, t0 + Duration::from_secs(400), &mut out), 2, "2 was recommended 99 s ago");
        let mut out = Vec::new();
        assert_eq!(h.normalize(step(2, 0, 1, 10), FIVE_MINUTES, t0 + Duration::from_secs(702), &mut out), 1);
        assert_eq!(reasons(&out)[1], ("ScalingLimited", "True", "TooFewReplicas"));
    }

    #[test]
    fn hpa_behavior_default_scale_up_is_four_pods_or_double_per_15s() {
        let b = behavior(json!({"scaleDown": {"stabilizationWindowSeconds": 0}}));
        let t0 = Instant::now();
        let mut h = History::default();
        h.record_initial(2, t0);
        let mut out = Vec::new();
        let desired = h.normalize_with_behavior(&b, step(2, 50, 1, 100), FIVE_MINUTES, t0, &mut out);
        assert_eq!(desired, 6, "max(2 + 4, 2 × 2)");
        assert_eq!(reasons(&out)[1], ("ScalingLimited", "True", "ScaleUpLimit"));
        h.record_scale(Some(&b), 2, 6, t0);
        // Within the same 15 s nothing more may be added.
        let mut out = Vec::new();
        assert_eq!(h.normalize_with_behavior(&b, step(6, 50, 1, 100), FIVE_MINUTES, t0 + Duration::from_secs(5), &mut out), 6);
        // After it, from 6: max(6 + 4, 12).
        let mut out = Vec::new();
        assert_eq!(h.normalize_with_behavior(&b, step(6, 50, 1, 100), FIVE_MINUTES, t0 + Duration::from_secs(16), &mut out), 12);
    }

    #[test]
    fn hpa_behavior_default_scale_down_waits_for_its_window() {
        let b = behavior(json!({}));
        let t0 = Instant::now();
        let mut h = History::default();
        h.record_initial(8, t0);
        let mut out = Vec::new();
        assert_eq!(h.normalize_with_behavior(&b, step(8, 2, 1, 10), FIVE_MINUTES, t0 + Duration::from_secs(15), &mut out), 8);
        assert_eq!(out[0].reason, "ScaleDownStabilized");
        let mut out = Vec::new();
        assert_eq!(h.normalize_with_behavior(&b, step(8, 2, 1, 10), FIVE_MINUTES, t0 + Duration::from_secs(301), &mut out), 2, "100% may go at once");
        assert_eq!(out[0].reason, "ReadyForNewScale");
    }

    #[test]
    fn hpa_behavior_custom_policies_and_select_policy() {
        let b = behavior(json!({
            "scaleDown": {"stabilizationWindowSeconds": 0, "selectPolicy": "Min", "policies": [
                {"type": "Pods", "value": 1, "periodSeconds": 60}, {"type": "Percent", "value": 50, "periodSeconds": 60}]},
            "scaleUp": {"selectPolicy": "Disabled"}
        }));
        let t0 = Instant::now();
        let mut h = History::default();
        h.record_initial(10, t0);
        let mut out = Vec::new();
        assert_eq!(h.normalize_with_behavior(&b, step(10, 2, 1, 20), FIVE_MINUTES, t0, &mut out), 9, "Min picks the smaller change: 1 pod");
        assert_eq!(reasons(&out)[1], ("ScalingLimited", "True", "ScaleDownLimit"));
        h.record_scale(Some(&b), 10, 9, t0);
        let mut out = Vec::new();
        assert_eq!(h.normalize_with_behavior(&b, step(9, 2, 1, 20), FIVE_MINUTES, t0 + Duration::from_secs(30), &mut out), 9, "one pod per minute");
        let mut out = Vec::new();
        assert_eq!(h.normalize_with_behavior(&b, step(9, 15, 1, 20), FIVE_MINUTES, t0 + Duration::from_secs(31), &mut out), 9, "scale-up disabled");
        assert_eq!(out[1].reason, "ScaleUpLimit");
    }

    #[test]
    fn hpa_behavior_scale_up_window_takes_the_lowest() {
        let b = behavior(json!({"scaleUp": {"stabilizationWindowSeconds": 60}}));
        let t0 = Instant::now();
        let mut h = History::default();
        h.record_initial(2, t0);
        let mut out = Vec::new();
        assert_eq!(h.normalize_with_behavior(&b, step(2, 5, 1, 10), FIVE_MINUTES, t0 + Duration::from_secs(10), &mut out), 2);
        assert_eq!(reasons(&out)[0], ("AbleToScale", "True", "ScaleUpStabilized"));
        let mut out = Vec::new();
        assert_eq!(h.normalize_with_behavior(&b, step(2, 5, 1, 10), FIVE_MINUTES, t0 + Duration::from_secs(61), &mut out), 5);
    }

    #[test]
    fn hpa_behavior_records_scale_events_in_reused_slots() {
        let b = behavior(json!({}));
        let t0 = Instant::now();
        let mut h = History::default();
        h.record_scale(Some(&b), 1, 3, t0);
        h.record_scale(Some(&b), 3, 4, t0 + Duration::from_secs(20));
        assert_eq!(h.scale_up.len(), 1, "the first event is past the 15 s period and its slot is reused");
        h.record_scale(None, 4, 8, t0);
        assert_eq!(h.scale_up.len(), 1);
    }
}
