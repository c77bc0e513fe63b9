//! Several regions probing, one job merging: down only when most regions see it down; a silent
//! region is shown as stale, never counted as up.

use crate::common;

use crate::common::{TestSite, closed_port, http_server, text};

/// A runner's config: the same component, pointed at a healthy server or at a closed port.
fn runner(healthy: bool, http: std::net::SocketAddr, dead: u16) -> TestSite {
    let url = if healthy {
        format!("http://{http}/ok")
    } else {
        format!("http://127.0.0.1:{dead}/ok")
    };
    TestSite::new(&format!(
        "[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"{url}\"\n"
    ))
}

fn probe_region(site: &TestSite, region: &str, store: &std::path::Path) {
    let out = site.cmd(&[
        "probe",
        "--region",
        region,
        "--out",
        store.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "Region {region}, shard 1/1: wrote 1 observations."
        )),
        "{}",
        text(&out)
    );
}

fn merged_state(render: &TestSite) -> (String, String) {
    merged_state_exit(render, 0)
}

fn merged_state_exit(render: &TestSite, code: i32) -> (String, String) {
    let out = render.cmd(&["run", "--merge"]);
    assert_eq!(out.status.code(), Some(code), "{}", text(&out));
    let status = render.status_json();
    let c = &status["components"][0];
    (
        c["state"].as_str().unwrap().to_owned(),
        c["detail"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn majority_rule_and_stale_regions() {
    let http = http_server();
    let dead = closed_port();
    // The render job: same component ids; it never probes with --merge.
    let render = TestSite::new(
        "[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://127.0.0.1:1/\"\n",
    );
    let store = render.path().join(".upstate/history");
    let (eu, us, ap) = (
        runner(true, http, dead),
        runner(true, http, dead),
        runner(false, http, dead),
    );
    for (site, name) in [(&eu, "eu"), (&us, "us"), (&ap, "ap")] {
        probe_region(site, name, &store);
    }
    let (state, detail) = merged_state(&render);
    assert_eq!(
        state, "degraded",
        "one partitioned region of three: not down ({detail})"
    );
    assert!(
        detail.starts_with("Failing from 1 of 3 regions."),
        "{detail}"
    );
    assert!(detail.contains("ap: Connection failed"), "{detail}");

    // Two of three see it down: down.
    let us_down = runner(false, http, dead);
    probe_region(&us_down, "us", &store);
    let (state, detail) = merged_state(&render);
    assert_eq!(state, "down", "{detail}");
    assert!(detail.starts_with("Down from 2 of 3 regions."), "{detail}");

    // ap stops reporting (its last report is an hour old): it is stale and does not vote.
    probe_region(&us, "us", &store);
    let ap_report = store.join("regions/ap/shard-1-of-1.json");
    let mut report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&ap_report).unwrap()).unwrap();
    let hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    report["at"] = hour_ago.clone().into();
    report["observations"][0]["at"] = hour_ago.into();
    std::fs::write(&ap_report, serde_json::to_vec(&report).unwrap()).unwrap();
    // A silent region needs attention: named, exit 3.
    let out = render.cmd(&["run", "--merge"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("silent region: ap: last report 60 min ago"),
        "{}",
        text(&out)
    );
    let c = &render.status_json()["components"][0];
    assert_eq!(c["state"], "operational", "{c}");
    assert!(
        c["detail"]
            .as_str()
            .unwrap()
            .contains("ap: stale, last report 60 min ago"),
        "{c}"
    );

    // Every region silent: the page keeps the last state seen, with its time, and is stale at
    // once (stale_after is already past); the run names every silent region and exits 3.
    for r in ["eu", "us"] {
        report["region"] = r.into();
        std::fs::write(
            store.join(format!("regions/{r}/shard-1-of-1.json")),
            serde_json::to_vec(&report).unwrap(),
        )
        .unwrap();
    }
    let out = render.cmd(&["run", "--merge"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    for r in ["ap", "eu", "us"] {
        assert!(
            text(&out).contains(&format!("silent region: {r}: last report 60 min ago")),
            "{}",
            text(&out)
        );
    }
    let status = render.status_json();
    let c = &status["components"][0];
    assert_eq!(
        c["state"], "operational",
        "the last state seen, not a guess: {c}"
    );
    assert!(c["last_checked_at"].is_string(), "{c}");
    assert!(
        status["stale_after"].as_str().unwrap() <= status["generated_at"].as_str().unwrap(),
        "published as stale: {status:#}"
    );
}

#[test]
fn merge_without_any_report_is_no_data_and_stale() {
    let mut config = String::new();
    for i in 0..6 {
        config.push_str(&format!("[[component]]\nid = \"c{i}\"\nlabel = \"C{i}\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n\n"));
    }
    let site = TestSite::new(&config);
    let out = site.cmd(&["run", "--merge"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("silent region: no region has written a report yet"),
        "{said}"
    );
    assert!(
        said.contains("Merged 6 components: 0 operational, 0 degraded, 0 down, 6 no data."),
        "{said}"
    );
    let status = site.status_json();
    common::assert_status_schema(&status);
    for c in status["components"].as_array().unwrap() {
        assert_eq!(c["observed"], false, "{c}");
        assert!(c["last_checked_at"].is_null(), "{c}");
    }
    let index = site.read_public("index.html");
    assert!(
        index.contains("Some components have no data yet"),
        "{index}"
    );
    assert_eq!(
        index.matches("<span class=\"st\">No data</span>").count(),
        6,
        "{index}"
    );
    assert!(!index.contains("<span class=\"st\">Degraded"), "{index}");
}

#[test]
fn shards_split_the_components() {
    let http = http_server();
    let mut config = String::new();
    for i in 0..5 {
        config.push_str(&format!("[[component]]\nid = \"c{i}\"\nlabel = \"C{i}\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n\n"));
    }
    let site = TestSite::new(&config);
    let store = site.path().join(".upstate/history");
    for shard in ["1/2", "2/2"] {
        let out = site.cmd(&[
            "probe",
            "--region",
            "eu",
            "--shard",
            shard,
            "--out",
            store.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out));
    }
    let first: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.join("regions/eu/shard-1-of-2.json")).unwrap())
            .unwrap();
    assert_eq!(first["observations"].as_array().unwrap().len(), 3);
    let out = site.cmd(&["run", "--merge"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status = site.status_json();
    assert_eq!(status["overall_state"], "operational", "{status:#}");
    let bad = site.cmd(&[
        "probe",
        "--region",
        "eu",
        "--shard",
        "3/2",
        "--out",
        store.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(2));
}
