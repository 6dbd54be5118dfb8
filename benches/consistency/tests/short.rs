//! The checker's short form, run by the test command: every phase, both modes, against the
//! documented bounds (tightened: 1 s disconnected_max_age_ms, 600 ms stream_liveness_ms, 1 s
//! TTL).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_keeps_its_promise_under_every_fault() {
    let report = consistency::run(&consistency::Plan::short()).await;
    let table = report.table();
    println!("{table}");
    for phase in &report.phases {
        for verdict in [&phase.root_field, &phase.entity] {
            assert!(verdict.writes > 0, "the writers ran: {table}");
            assert!(verdict.reads_b > 0, "the readers ran: {table}");
        }
    }
    let violations: Vec<&String> = report
        .phases
        .iter()
        .flat_map(|p| p.root_field.violations.iter().chain(&p.entity.violations))
        .collect();
    assert!(report.holds(), "{table}\n{violations:#?}");
}
