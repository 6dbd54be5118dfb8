use serde_json::json;

use super::*;

fn identity(claims: serde_json::Value) -> Identity {
    Identity {
        claims: claims.as_object().unwrap().clone(),
        ..Default::default()
    }
}

fn requirements(scopes: &[&[&str]]) -> Requirements {
    Requirements {
        scopes: vec![
            scopes
                .iter()
                .map(|all| all.iter().map(|s| s.to_string()).collect())
                .collect(),
        ],
        ..Default::default()
    }
}

fn grants(scopes: &[&str]) -> Grants {
    Grants {
        authenticated: true,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        policies: BTreeSet::new(),
    }
}

#[test]
fn scopes_are_alternatives_of_sets() {
    let needed = requirements(&[&["a", "b"], &["admin"]]);
    assert!(grants(&["a", "b", "x"]).meet(&needed));
    assert!(grants(&["admin"]).meet(&needed));
    assert!(!grants(&["a"]).meet(&needed));
    assert!(!Grants::default().meet(&needed));
    // Two directives applied (e.g. on a field and by composition's merge): both hold.
    let both = Requirements {
        scopes: vec![
            vec![vec!["a".into()]],
            vec![vec!["b".into()], vec!["c".into()]],
        ],
        ..Default::default()
    };
    assert!(grants(&["a", "c"]).meet(&both));
    assert!(!grants(&["a"]).meet(&both));
    let authenticated = Requirements {
        authenticated: true,
        ..Default::default()
    };
    assert!(!Grants::default().meet(&authenticated));
    assert!(grants(&[]).meet(&authenticated));
}

#[test]
fn policy_rules_match_claims_by_value_or_membership() {
    let rule = PolicyRule {
        claims: [
            (
                "role".to_string(),
                OneOrMany::Many(vec!["admin".into(), "support".into()]),
            ),
            ("org.tier".to_string(), OneOrMany::One("gold".into())),
        ]
        .into(),
    };
    assert!(rule.met_by(&identity(
        json!({ "role": "support", "org": { "tier": "gold" } })
    )));
    assert!(rule.met_by(&identity(
        json!({ "role": ["user", "admin"], "org": { "tier": "gold" } })
    )));
    assert!(!rule.met_by(&identity(
        json!({ "role": "user", "org": { "tier": "gold" } })
    )));
    assert!(!rule.met_by(&identity(json!({ "role": "admin" }))));
    assert!(
        PolicyRule::default().met_by(&identity(json!({}))),
        "no claims: any identity"
    );
}

#[test]
fn policies_and_scopes_come_from_config_yaml() {
    let config: AuthorizationConfig = serde_yaml::from_str(
        "reject_unauthorized: true\npolicies:\n  support:\n    claims:\n      role: support\n  \
         staff:\n    claims:\n      groups: [a, b]\n",
    )
    .unwrap();
    assert!(config.reject_unauthorized);
    assert_eq!(
        config.policies["support"].claims["role"],
        OneOrMany::One("support".into())
    );
    assert!(serde_yaml::from_str::<AuthorizationConfig>("polices: {}\n").is_err());
}
