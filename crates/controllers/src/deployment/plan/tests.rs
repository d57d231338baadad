//! Rollout steps, scaling and status on recorded Deployments and
//! ReplicaSets.

use super::*;
use serde_json::json;

fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_000_000).expect("time")
}

fn deployment(replicas: i32, image: &str, strategy: serde_json::Value) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "d1", "generation": 2},
        "spec": {"replicas": replicas, "strategy": strategy, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": image}]}}}
    }))
    .expect("deployment")
}

fn rolling() -> serde_json::Value {
    json!({"type": "RollingUpdate"})
}

/// The ReplicaSet the controller would have made for `d`, at `replicas`
/// with `available` of them available.
fn rs_for(d: &Deployment, replicas: i32, available: i32, revision: i32, created: i64) -> ReplicaSet {
    let mut sized = d.clone();
    if let Some(s) = sized.spec.as_mut() {
        s.replicas = Some(replicas);
    }
    let mut p = plan(&sized, vec![], now());
    let Some(Step::Create(mut rs)) = p.steps.drain(..).next() else { panic!("no create") };
    let name = rs.metadata.name.clone().unwrap_or_default();
    rs.metadata.uid = Some(format!("uid-{name}"));
    rs.metadata.creation_timestamp = Some(Time(jiff::Timestamp::from_second(created).expect("time")));
    rs.metadata.annotations.get_or_insert_with(Default::default).insert(REVISION.into(), revision.to_string());
    if let Some(s) = rs.spec.as_mut() { s.replicas = Some(replicas); }
    set_replicas_annotations(&mut rs, util::replicas(d), util::replicas(d) + max_surge(d));
    rs.status = Some(serde_json::from_value(json!({"replicas": replicas, "availableReplicas": available, "readyReplicas": available})).expect("status"));
    rs
}

fn scales(p: &Plan) -> Vec<(String, i32)> {
    p.steps
        .iter()
        .filter_map(|s| match s {
            Step::Update(rs) | Step::Create(rs) => Some((rs.metadata.name.clone().unwrap_or_default(), rs_replicas(rs))),
            _ => None,
        })
        .collect()
}

fn events(p: &Plan) -> Vec<String> {
    p.steps.iter().filter_map(|s| if let Step::Event { message, .. } = s { Some(message.clone()) } else { None }).collect()
}

#[test]
fn deploy_plan_creates_the_first_replica_set_scaled_up() {
    let d = deployment(3, "nginx", rolling());
    let p = plan(&d, vec![], now());
    let Some(Step::Create(rs)) = p.steps.first() else { panic!("expected a create: {:?}", p.steps) };
    let name = rs.metadata.name.clone().unwrap_or_default();
    let hash = name.trim_start_matches("web-").to_string();
    assert_eq!(rs_replicas(rs), 3);
    let spec = rs.spec.clone().unwrap_or_default();
    assert_eq!(spec.selector.match_labels.clone().unwrap_or_default()[HASH_LABEL], hash);
    let tl = spec.template.and_then(|t| t.metadata).and_then(|m| m.labels).unwrap_or_default();
    assert_eq!(tl[HASH_LABEL], hash);
    let a = rs.metadata.annotations.clone().unwrap_or_default();
    assert_eq!((a[REVISION].as_str(), a[DESIRED_REPLICAS].as_str(), a[MAX_REPLICAS].as_str()), ("1", "3", "4"));
    let owner = &rs.metadata.owner_references.clone().unwrap_or_default()[0];
    assert_eq!((owner.kind.as_str(), owner.controller, owner.block_owner_deletion), ("Deployment", Some(true), Some(true)));
    assert_eq!(events(&p), [format!("Scaled up replica set {name} from 0 to 3")]);
    assert_eq!(p.annotations.clone().unwrap_or_default()[REVISION], "1");
    let c = get_condition(&p.status, PROGRESSING).cloned().expect("progressing");
    assert_eq!((c.reason.as_deref(), c.message.clone()), (Some(NEW_RS_CREATED), Some(format!("Created new replica set {name:?}"))));
}

#[test]
fn deploy_plan_rollout_with_unready_pods_stays_within_surge() {
    let v1 = deployment(3, "nginx:1", rolling());
    let old = rs_for(&v1, 3, 0, 1, 100);
    let v2 = deployment(3, "nginx:2", rolling());
    // First sync: a new ReplicaSet with maxSurge (1) pods.
    let p = plan(&v2, vec![old.clone()], now());
    let s = scales(&p);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0].1, 1);
    let mut new = rs_for(&v2, 1, 0, 2, 200);
    // Next sync: nothing is available, so nothing old may go (maxUnavailable 0).
    new.metadata.annotations.get_or_insert_with(Default::default).insert(REVISION.into(), "2".into());
    let p = plan(&v2, vec![old.clone(), new.clone()], now());
    assert!(scales(&p).is_empty(), "{:?}", p.steps);
    assert_eq!(p.status.replicas, Some(4));
    assert_eq!(p.status.updated_replicas, Some(1));
    assert_eq!(p.status.unavailable_replicas, Some(4));
    let a = get_condition(&p.status, AVAILABLE).cloned().expect("available");
    assert_eq!((a.status.as_str(), a.reason.as_deref()), ("False", Some(MIN_UNAVAILABLE)));
}

#[test]
fn deploy_plan_rollout_proceeds_as_pods_become_available() {
    let v1 = deployment(3, "nginx:1", rolling());
    let v2 = deployment(3, "nginx:2", rolling());
    let old = rs_for(&v1, 3, 3, 1, 100);
    let new = rs_for(&v2, 1, 1, 2, 200);
    let p = plan(&v2, vec![old, new], now());
    // 4 available, 3 needed: one old pod goes.
    assert_eq!(scales(&p), [(rs_for(&v1, 3, 3, 1, 100).metadata.name.unwrap_or_default(), 2)]);
    assert!(events(&p)[0].starts_with("Scaled down replica set web-"));
    assert!(events(&p)[0].ends_with("from 3 to 2"));
}

#[test]
fn deploy_plan_complete_rollout_reports_new_replica_set_available() {
    let d = deployment(3, "nginx", rolling());
    let rs = rs_for(&d, 3, 3, 1, 100);
    let mut d = d;
    d.metadata.annotations = Some([(REVISION.to_string(), "1".to_string())].into());
    d.status = Some(serde_json::from_value(json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 2})).expect("status"));
    let p = plan(&d, vec![rs.clone()], now());
    let c = get_condition(&p.status, PROGRESSING).cloned().expect("progressing");
    assert_eq!(c.reason.as_deref(), Some(NEW_RS_AVAILABLE));
    assert_eq!(c.message, Some(format!("ReplicaSet {:?} has successfully progressed.", rs.metadata.name.unwrap_or_default())));
    assert_eq!(get_condition(&p.status, AVAILABLE).map(|c| c.status.as_str()), Some("True"));
    assert_eq!(p.requeue, None);
}

#[test]
fn deploy_plan_scaling_event_resizes_the_only_active_replica_set() {
    let d = deployment(3, "nginx", rolling());
    let rs = rs_for(&d, 3, 3, 1, 100);
    let mut rs = rs;
    set_replicas_annotations(&mut rs, 3, 4);
    let d5 = deployment(5, "nginx", rolling());
    let p = plan(&d5, vec![rs], now());
    assert_eq!(scales(&p).last().map(|s| s.1), Some(5));
    assert!(events(&p).iter().any(|e| e.ends_with("from 3 to 5")));
}

#[test]
fn deploy_plan_scales_proportionally_mid_rollout() {
    let v1 = deployment(10, "nginx:1", rolling());
    let v2 = deployment(10, "nginx:2", rolling());
    let mut old = rs_for(&v1, 8, 8, 1, 100);
    let mut new = rs_for(&v2, 5, 0, 2, 200);
    set_replicas_annotations(&mut old, 10, 13);
    set_replicas_annotations(&mut new, 10, 13);
    // 13 allowed at 10; at 20 replicas 25 are allowed: 12 more, split 8:5.
    let d20 = deployment(20, "nginx:2", rolling());
    let p = plan(&d20, vec![old, new], now());
    let s = scales(&p);
    let total: i32 = s.iter().map(|x| x.1).sum();
    assert_eq!(total, 25, "{s:?}");
    assert!(s.iter().any(|x| x.1 == 15) && s.iter().any(|x| x.1 == 10), "{s:?}");
}

#[test]
fn deploy_plan_recreate_scales_old_down_before_new_up() {
    let strategy = json!({"type": "Recreate"});
    let v1 = deployment(3, "nginx:1", strategy.clone());
    let v2 = deployment(3, "nginx:2", strategy);
    let old = rs_for(&v1, 3, 3, 1, 100);
    let p = plan(&v2, vec![old.clone()], now());
    assert_eq!(scales(&p), [(old.metadata.name.clone().unwrap_or_default(), 0)]);
    let mut gone = old;
    if let Some(s) = gone.spec.as_mut() { s.replicas = Some(0); }
    gone.status = Some(Default::default());
    let p = plan(&v2, vec![gone], now());
    assert!(matches!(p.steps.first(), Some(Step::Create(rs)) if rs_replicas(rs) == 3), "{:?}", p.steps);
}

#[test]
fn deploy_plan_rollback_template_reuses_the_old_replica_set_with_a_new_revision() {
    let v1 = deployment(3, "nginx:1", rolling());
    let v2 = deployment(3, "nginx:2", rolling());
    let mut old = rs_for(&v1, 0, 0, 1, 100);
    set_replicas_annotations(&mut old, 3, 4);
    let mut new = rs_for(&v2, 3, 3, 2, 200);
    set_replicas_annotations(&mut new, 3, 4);
    let p = plan(&v1, vec![old.clone(), new], now());
    let Some(Step::Update(rs)) = p.steps.first() else { panic!("{:?}", p.steps) };
    assert_eq!(rs.metadata.name, old.metadata.name);
    let a = rs.metadata.annotations.clone().unwrap_or_default();
    assert_eq!((a[REVISION].as_str(), a[REVISION_HISTORY].as_str()), ("3", "1"));
    assert_eq!(p.annotations.clone().unwrap_or_default()[REVISION], "3");
    assert!(scales(&p).iter().any(|s| s.0 == old.metadata.name.clone().unwrap_or_default() && s.1 == 1));
}

#[test]
fn deploy_plan_cleans_up_beyond_revision_history_limit() {
    let mut d = deployment(1, "nginx:9", rolling());
    if let Some(s) = d.spec.as_mut() { s.revision_history_limit = Some(1); }
    d.status = Some(serde_json::from_value(json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1})).expect("status"));
    let mut rses: Vec<ReplicaSet> = (1..=3).map(|i| rs_for(&deployment(1, &format!("nginx:{i}"), rolling()), 0, 0, i, 100 * i64::from(i))).collect();
    for rs in &mut rses {
        rs.status = Some(Default::default());
    }
    rses.push(rs_for(&d, 1, 1, 4, 400));
    let p = plan(&d, rses.clone(), now());
    let deleted: Vec<_> = p.steps.iter().filter_map(|s| if let Step::Delete { name, .. } = s { Some(name.clone()) } else { None }).collect();
    assert_eq!(deleted, [rses[0].metadata.name.clone().unwrap_or_default(), rses[1].metadata.name.clone().unwrap_or_default()]);
}

#[test]
fn deploy_plan_times_out_after_the_progress_deadline() {
    let v1 = deployment(3, "nginx:1", rolling());
    let v2 = deployment(3, "nginx:2", rolling());
    let old = rs_for(&v1, 3, 0, 1, 100);
    let new = rs_for(&v2, 1, 0, 2, 200);
    let mut d = v2;
    let mut st = DeploymentStatus::default();
    let then = jiff::Timestamp::from_second(1_000_000 - 601).expect("time");
    set_condition(&mut st, condition(PROGRESSING, "True", RS_UPDATED, "x".into(), then));
    st.replicas = Some(4);
    st.updated_replicas = Some(1);
    d.status = Some(st);
    let p = plan(&d, vec![old.clone(), new.clone()], now());
    let c = get_condition(&p.status, PROGRESSING).cloned().expect("progressing");
    assert_eq!((c.status.as_str(), c.reason.as_deref()), ("False", Some(TIMED_OUT)));
    assert_eq!(c.message, Some(format!("ReplicaSet {:?} has timed out progressing.", new.metadata.name.unwrap_or_default())));
    // Before the deadline, a requeue for when it passes.
    if let Some(c) = d.status.as_mut().and_then(|s| s.conditions.as_mut()) { c[0].last_update_time = Some(Time(jiff::Timestamp::from_second(1_000_000 - 100).expect("time"))); }
    assert_eq!(plan(&d, vec![old, rs_for(&deployment(3, "nginx:2", rolling()), 1, 0, 2, 200)], now()).requeue, Some(Duration::from_secs(500)));
}

#[test]
fn deploy_plan_paused_sets_the_condition_and_does_not_roll_out() {
    let v1 = deployment(3, "nginx:1", rolling());
    let mut old = rs_for(&v1, 3, 3, 1, 100);
    set_replicas_annotations(&mut old, 3, 4);
    let mut v2 = deployment(3, "nginx:2", rolling());
    if let Some(s) = v2.spec.as_mut() { s.paused = Some(true); }
    let p = plan(&v2, vec![old], now());
    assert!(scales(&p).is_empty(), "{:?}", p.steps);
    let c = get_condition(&p.status, PROGRESSING).cloned().expect("progressing");
    assert_eq!((c.status.as_str(), c.reason.as_deref(), c.message.as_deref()), ("Unknown", Some(PAUSED), Some("Deployment is paused")));
}
