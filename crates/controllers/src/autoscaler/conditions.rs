//! The HPA's conditions as the controller sets them during a sync: a list
//! of settings applied in order over the stored ones, each keeping its
//! `lastTransitionTime` unless its status changes (Kubernetes'
//! `setConditionInList`).

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerCondition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// One condition setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub type_: &'static str,
    pub status: &'static str,
    pub reason: &'static str,
    pub message: String,
}

/// Adds a setting; later ones of a type win.
pub fn set(out: &mut Vec<Condition>, type_: &'static str, status: &'static str, reason: &'static str, message: impl Into<String>) {
    out.push(Condition { type_, status, reason, message: message.into() });
}

/// The stored conditions with `sets` applied: new types are appended.
pub fn apply(stored: &[HorizontalPodAutoscalerCondition], sets: &[Condition], now: &Time) -> Vec<HorizontalPodAutoscalerCondition> {
    let mut list = stored.to_vec();
    for s in sets {
        let index = match list.iter().position(|c| c.type_ == s.type_) {
            Some(i) => i,
            None => {
                list.push(HorizontalPodAutoscalerCondition { type_: s.type_.into(), ..Default::default() });
                list.len() - 1
            }
        };
        let Some(c) = list.get_mut(index) else { continue };
        if c.status != s.status {
            c.last_transition_time = Some(now.clone());
        }
        c.status = s.status.into();
        c.reason = Some(s.reason.into());
        c.message = Some(s.message.clone());
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpa_conditions_keep_transition_time_while_status_holds() {
        let earlier = Time("2026-03-01T10:00:00Z".parse().expect("time"));
        let now = Time("2026-03-01T10:05:00Z".parse().expect("time"));
        let stored = vec![HorizontalPodAutoscalerCondition {
            type_: "AbleToScale".into(),
            status: "True".into(),
            reason: Some("SucceededGetScale".into()),
            message: Some("old".into()),
            last_transition_time: Some(earlier.clone()),
        }];
        let mut sets = Vec::new();
        set(&mut sets, "AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale");
        set(&mut sets, "ScalingActive", "True", "ValidMetricFound", "found");
        set(&mut sets, "AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size");
        let list = apply(&stored, &sets, &now);
        assert_eq!(list.len(), 2);
        assert_eq!((list[0].reason.as_deref(), list[0].last_transition_time.as_ref()), (Some("ReadyForNewScale"), Some(&earlier)));
        assert_eq!((list[1].type_.as_str(), list[1].last_transition_time.as_ref()), ("ScalingActive", Some(&now)));
    }
}
